import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser, backoffCeilingMs } from '../sdk/src/index.ts';
import { backoffDelayMs, mayRepeat, randomId, retryableAnswer } from '../sdk/src/retry.ts';
import { buildUrl, expandPath } from '../sdk/src/http.ts';

describe('sdk: SSE parsing on a byte stream', () => {
  const frame = 'retry: 3000\n\nid: 7\nevent: order.created\ndata: {"sequence":7}\n\n: keep-alive\n\nid: 8\nevent: order.updated\ndata: {"sequence":8}\n\n';

  it('yields the same events however the text is cut', () => {
    const whole = new SseParser().push(frame);
    assert.deepEqual(whole.map((m) => [m.id, m.event, m.data]), [['7', 'order.created', '{"sequence":7}'], ['8', 'order.updated', '{"sequence":8}']]);
    for (let size = 1; size <= 7; size++) {
      const parser = new SseParser();
      const out = [];
      for (let i = 0; i < frame.length; i += size) out.push(...parser.push(frame.slice(i, i + size)));
      assert.deepEqual(out, whole, `chunks of ${size}`);
      assert.equal(parser.retry, 3000);
    }
  });

  it('accepts CRLF and CR line ends, joins multi-line data, ignores comments and unknown fields', () => {
    const parser = new SseParser();
    const crlf = parser.push('id: 1\r\ndata: a\r\ndata: b\r\nfoo: bar\r\n\r\n');
    assert.deepEqual(crlf.map((m) => m.data), ['a\nb']);
    assert.equal(crlf[0]!.event, 'message', 'no event field: "message"');
    // A CR at the end of a chunk may be half of a CRLF: nothing is dispatched twice.
    assert.deepEqual(parser.push('data: c\r'), []);
    assert.deepEqual(parser.push('\n\r\n').map((m) => [m.id, m.data]), [['1', 'c']], 'the id carries over (last event id)');
    assert.deepEqual(parser.push('data:no space\r\rdata\n\n').map((m) => m.data), ['no space', '']);
    assert.deepEqual(parser.push(': only a comment\n\nretry: soon\n\n'), []);
  });
});

describe('sdk: retry rules', () => {
  it('repeats GET, HEAD, PUT and DELETE always; POST and PATCH only with a key', () => {
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'get']) assert.equal(mayRepeat(method, undefined), true, method);
    for (const method of ['POST', 'PATCH']) {
      assert.equal(mayRepeat(method, undefined), false, method);
      assert.equal(mayRepeat(method, 'k'), true, method);
    }
  });

  it('retries network errors and 408, 429, 500, 502, 503, 504 only (plus 409 IDEMPOTENCY_KEY_IN_USE)', () => {
    const retried = [];
    for (let status = 400; status < 600; status++) if (retryableAnswer(status, undefined)) retried.push(status);
    assert.deepEqual(retried, [408, 429, 500, 502, 503, 504]);
    assert.equal(retryableAnswer(409, 'IDEMPOTENCY_KEY_IN_USE'), true);
    assert.equal(retryableAnswer(409, 'CONFLICT'), false);
  });

  it('full jitter: uniform over [0, min(cap, base·2^n)]', () => {
    const policy = { baseDelayMs: 500, maxDelayMs: 8000 };
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((n) => backoffCeilingMs(n, policy)), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
    assert.equal(backoffDelayMs(3, policy, () => 0), 0, 'can be immediate (unlike equal jitter, never below half)');
    assert.equal(backoffDelayMs(3, policy, () => 0.999_999), 3999);
    const samples = Array.from({ length: 2000 }, () => backoffDelayMs(2, policy));
    assert.ok(samples.every((d) => d >= 0 && d < 2000));
    assert.ok(samples.some((d) => d < 500) && samples.some((d) => d > 1500), 'spread over the whole window');
  });

  it('makes UUIDv4 keys, also where randomUUID is missing (browsers outside a secure context)', () => {
    assert.match(randomId(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const original = globalThis.crypto.randomUUID;
    try {
      Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true });
      const ids = new Set(Array.from({ length: 100 }, () => randomId()));
      assert.equal(ids.size, 100);
      for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      Object.defineProperty(globalThis.crypto, 'randomUUID', { value: original, configurable: true });
    }
  });

  it('fills paths and queries safely', () => {
    assert.equal(expandPath('/v2/posts/{id}/comments', { id: 'a/b?c' }), '/v2/posts/a%2Fb%3Fc/comments');
    assert.throws(() => expandPath('/v2/posts/{id}', {}), /Missing path parameter "id"/);
    assert.equal(buildUrl('http://h:1/', '/v2/x', { type: ['a.*', 'b'], skip: undefined, n: 2, b: false }), 'http://h:1/v2/x?type=a.*%2Cb&n=2&b=false');
  });
});

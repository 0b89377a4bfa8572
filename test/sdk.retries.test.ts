import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createStoa, StoaConnectionError, StoaError, StoaTimeoutError, backoffCeilingMs, parseRetryAfterMs, type RetryInfo, type Stoa, type StoaOptions } from '../sdk/src/index.ts';
import { startFaultyProxy, type Fault, type FaultyProxy } from './helpers/faulty-proxy.ts';
import { world, type World } from './helpers/world.ts';

/**
 * Retries, timeouts and idempotency, through a fault-injecting proxy in
 * front of a real, listening Stoa (embedded store, or PostgreSQL + Redis).
 */
describe('sdk: retries through a faulty proxy', () => {
  let w: World;
  let proxy: FaultyProxy;
  let productId: string;
  const retries: RetryInfo[] = [];
  const client = (options: Partial<StoaOptions<'2'>> = {}): Stoa =>
    createStoa({ baseUrl: proxy.url, accessToken: w.ada.accessToken, retry: { baseDelayMs: 20, maxDelayMs: 100 }, onRetry: (info) => retries.push(info), ...options });
  /** Faults for the requests matching `match`, in order; everything else passes. */
  const script = (match: (method: string, url: string) => boolean, faults: Fault[]) => {
    let i = 0;
    proxy.plan = (request) => (match(request.method ?? '', request.url ?? '') ? (faults[i++] ?? { kind: 'pass' }) : { kind: 'pass' });
  };
  const seenFor = (method: string, prefix: string) => proxy.seen.filter((r) => r.method === method && r.url.startsWith(prefix));

  before(async () => {
    w = await world();
    await w.app.listen({ port: 0, host: '127.0.0.1' });
    proxy = await startFaultyProxy(`http://127.0.0.1:${(w.app.server.address() as AddressInfo).port}`);
    productId = await w.product({ stock: 100 });
  });
  after(async () => {
    await proxy.close();
    await w.close();
  });
  const reset = () => {
    proxy.seen.length = 0;
    retries.length = 0;
    proxy.plan = () => ({ kind: 'pass' });
  };

  it('a create retried through a lost response and a 503 makes exactly one order, with one key on every attempt', async () => {
    reset();
    const before = (await w.app.inject({ method: 'GET', url: `/v2/products/${productId}` })).json().data.stock as number;
    script((m, u) => m === 'POST' && u === '/v2/orders', [{ kind: 'lose-response' }, { kind: 'status', status: 503, retryAfter: '0' }]);
    const order = await client({ maxRetries: 3 }).orders.create({ items: [{ product_id: productId, quantity: 2 }] });
    const attempts = seenFor('POST', '/v2/orders');
    assert.equal(attempts.length, 3);
    assert.equal(order.attempts, 3);
    const keys = new Set(attempts.map((a) => a.headers['idempotency-key']));
    assert.equal(keys.size, 1, 'the same Idempotency-Key on every retry');
    assert.equal([...keys][0], order.idempotencyKey);
    assert.equal(new Set(attempts.map((a) => a.headers['x-request-id'])).size, 3, 'a request id per attempt');
    assert.equal(order.requestId, attempts[2]!.headers['x-request-id'], 'the result carries the last attempt\'s request id');
    assert.equal(order.replayed, true, 'the third attempt got the first one\'s recorded answer');
    const mine = (await w.app.inject({ method: 'GET', url: `/v2/users/${w.ada.id}/orders?limit=100`, headers: w.ada.auth })).json().data as Array<{ id: string }>;
    assert.equal(mine.filter((o) => o.id === order.data.id).length, 1);
    const stock = (await w.app.inject({ method: 'GET', url: `/v2/products/${productId}` })).json().data.stock as number;
    assert.equal(stock, before - 2, 'stock taken once: one order');
    assert.deepEqual(retries.map((r) => r.status), [null, 503]);
  });

  it('a connection reset before the server saw the create is retried under the same key; the order exists once', async () => {
    reset();
    script((m, u) => m === 'POST' && u === '/v2/orders', [{ kind: 'reset' }, { kind: 'reset' }]);
    const order = await client().orders.create({ items: [{ product_id: productId, quantity: 1 }] });
    const attempts = seenFor('POST', '/v2/orders');
    assert.equal(attempts.length, 3);
    assert.equal(new Set(attempts.map((a) => a.headers['idempotency-key'])).size, 1);
    assert.equal(order.replayed, false, 'the server acted once, on the attempt that got through');
    assert.equal(retries.every((r) => r.error instanceof StoaConnectionError), true);
  });

  it('gives up after maxRetries with the last answer as a StoaError carrying attempts and the request id', async () => {
    reset();
    script((m) => m === 'GET', [503, 503, 503, 503].map((status) => ({ kind: 'status', status }) as Fault));
    const error = await client().products.list().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof StoaError);
    assert.equal(error.status, 503);
    assert.equal(error.code, 'SERVICE_UNAVAILABLE');
    assert.equal(error.attempts, 3, 'maxRetries defaults to 2');
    assert.equal(proxy.seen.length, 3);
    assert.equal(error.requestId, proxy.seen[2]!.headers['x-request-id']);

    reset();
    script((m) => m === 'GET', [{ kind: 'reset' }, { kind: 'reset' }]);
    const none = await client({ maxRetries: 0 }).products.list().then(() => null, (e: unknown) => e);
    assert.ok(none instanceof StoaConnectionError, String(none));
    assert.equal(proxy.seen.length, 1, 'maxRetries: 0 means one attempt, even for a reset');
    assert.equal(none.requestId, proxy.seen[0]!.headers['x-request-id']);
  });

  it('retries exactly the statuses 408, 429, 500, 502, 503, 504 and never 4xx answers', async () => {
    for (const status of [408, 429, 500, 502, 503, 504]) {
      reset();
      script((m) => m === 'GET', [{ kind: 'status', status, retryAfter: '0' }]);
      const page = await client().products.list();
      assert.equal(page.attempts, 2, `status ${status} is retried`);
    }
    for (const status of [400, 401, 403, 404, 409, 412, 422, 501]) {
      reset();
      script((m) => m === 'GET', [{ kind: 'status', status }]);
      const error = await client().products.list().then(() => null, (e: unknown) => e);
      assert.ok(error instanceof StoaError);
      assert.equal(error.status, status);
      assert.equal(proxy.seen.length, 1, `status ${status} is not retried`);
    }
  });

  it('retries 409 IDEMPOTENCY_KEY_IN_USE (the first attempt still runs) but not another 409', async () => {
    reset();
    const inUse = JSON.stringify({ type: 'x', title: 'Idempotency-Key in use', status: 409, detail: 'busy', instance: '/v2/orders', code: 'IDEMPOTENCY_KEY_IN_USE', request_id: 'r' });
    script((m, u) => m === 'POST' && u === '/v2/orders', [{ kind: 'status', status: 409, retryAfter: '0', body: inUse }]);
    const order = await client().orders.create({ items: [{ product_id: productId, quantity: 1 }] });
    assert.equal(order.attempts, 2);
    reset();
    const conflict = JSON.stringify({ type: 'x', title: 'Conflict', status: 409, detail: 'no', instance: '/v2/orders', code: 'CONFLICT', request_id: 'r' });
    script((m, u) => m === 'POST' && u === '/v2/orders', [{ kind: 'status', status: 409, retryAfter: '0', body: conflict }]);
    const error = await client().orders.create({ items: [{ product_id: productId, quantity: 1 }] }).catch((e: unknown) => e);
    assert.ok(error instanceof StoaError);
    assert.equal(error.code, 'CONFLICT');
    assert.equal(seenFor('POST', '/v2/orders').length, 1);
  });

  it('does not retry a non-idempotent call without a key: PATCH without one, POST with idempotencyKey: false', async () => {
    const post = await client().posts.create({ title: 'patch me', content: 'x' });
    reset();
    script((m) => m === 'PATCH', [{ kind: 'status', status: 503 }]);
    const patchError = await client().posts.update(post.data.id, { content: 'y' }).catch((e: unknown) => e);
    assert.ok(patchError instanceof StoaError);
    assert.equal(seenFor('PATCH', '/v2/posts').length, 1);
    assert.equal(seenFor('PATCH', '/v2/posts')[0]!.headers['idempotency-key'], undefined, 'PATCH gets no key unless given');

    reset();
    script((m) => m === 'PATCH', [{ kind: 'reset' }]);
    const patched = await client().posts.update(post.data.id, { content: 'z' }, { idempotencyKey: `patch-${Date.now()}` });
    assert.equal(patched.attempts, 2, 'a PATCH with a key is retried');
    assert.equal(new Set(seenFor('PATCH', '/v2/posts').map((r) => r.headers['idempotency-key'])).size, 1);

    reset();
    script((m) => m === 'POST', [{ kind: 'reset' }]);
    const postError = await client().posts.create({ title: 'no key', content: 'x' }, { idempotencyKey: false }).catch((e: unknown) => e);
    assert.ok(postError instanceof StoaConnectionError);
    assert.equal(seenFor('POST', '/v2/posts').length, 1);
    assert.equal(seenFor('POST', '/v2/posts')[0]!.headers['idempotency-key'], undefined);

    reset();
    script((m) => m === 'PUT', [{ kind: 'status', status: 502 }]);
    const followed = await client().users.follow(w.bob.id);
    assert.equal(followed.attempts, 2, 'PUT is retried without a key');
    script((m) => m === 'DELETE', [{ kind: 'status', status: 502 }]);
    const unfollowed = await client().users.unfollow(w.bob.id);
    assert.equal(unfollowed.attempts, 2, 'DELETE is retried without a key');
  });

  it('waits with full jitter: each delay within [0, min(cap, base·2^n)], and the retry really waits that long', async () => {
    reset();
    script((m) => m === 'GET', [{ kind: 'status', status: 503 }, { kind: 'status', status: 500 }, { kind: 'reset' }, { kind: 'status', status: 504 }]);
    const policy = { baseDelayMs: 40, maxDelayMs: 150 };
    const page = await client({ maxRetries: 4, retry: policy }).products.list();
    assert.equal(page.attempts, 5);
    assert.deepEqual(retries.map((r) => r.retry), [1, 2, 3, 4]);
    retries.forEach((r, n) => {
      assert.equal(r.fromRetryAfter, false);
      assert.ok(r.delayMs >= 0 && r.delayMs <= backoffCeilingMs(n, policy), `retry ${n + 1}: ${r.delayMs} ms within [0, ${backoffCeilingMs(n, policy)}]`);
    });
    assert.deepEqual([0, 1, 2, 3, 4].map((n) => backoffCeilingMs(n, policy)), [40, 80, 150, 150, 150], 'exponential, then capped');
    for (let i = 1; i < proxy.seen.length; i++) {
      const gap = proxy.seen[i]!.at - proxy.seen[i - 1]!.at;
      assert.ok(gap >= retries[i - 1]!.delayMs - 2, `attempt ${i + 1} came ${gap} ms after the previous one, not before its ${retries[i - 1]!.delayMs} ms delay`);
    }
  });

  it('honours Retry-After (seconds or HTTP-date) over the backoff, and gives up at once past the ceiling', async () => {
    reset();
    script((m) => m === 'GET', [{ kind: 'status', status: 429, retryAfter: '1' }]);
    const page = await client().products.list();
    assert.equal(page.attempts, 2);
    assert.equal(retries[0]!.fromRetryAfter, true);
    assert.equal(retries[0]!.delayMs, 1000);
    assert.ok(proxy.seen[1]!.at - proxy.seen[0]!.at >= 990, 'waited the second the server asked for');

    reset();
    script((m) => m === 'GET', [{ kind: 'status', status: 503, retryAfter: new Date(Date.now() + 2000).toUTCString() }]);
    await client().products.list();
    assert.equal(retries[0]!.fromRetryAfter, true);
    assert.ok(retries[0]!.delayMs > 0 && retries[0]!.delayMs <= 2000, `HTTP-date read as ${retries[0]!.delayMs} ms`);
    assert.ok(proxy.seen[1]!.at - proxy.seen[0]!.at >= retries[0]!.delayMs - 2);

    reset();
    script((m) => m === 'GET', [{ kind: 'status', status: 429, retryAfter: '120' }]);
    const error = await client().products.list().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof StoaError);
    assert.equal(error.retryAfter, 120, 'the error carries the wait');
    assert.equal(error.code, 'RATE_LIMITED');
    assert.equal(proxy.seen.length, 1, 'a Retry-After past the ceiling (60 s) is not waited for');

    assert.equal(parseRetryAfterMs('3'), 3000);
    assert.equal(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT'), 0, 'a past date means now');
    assert.equal(parseRetryAfterMs('soon'), null);
    assert.equal(parseRetryAfterMs('-1'), null);
    assert.equal(parseRetryAfterMs(null), null);
  });

  it('times out each attempt (timeoutMs), retries a GET that stalled, and reports a StoaTimeoutError when none answers', async () => {
    reset();
    // The second attempt goes through: a generous timeout keeps a loaded machine from timing it out too.
    script((m) => m === 'GET', [{ kind: 'delay', ms: 20_000 }]);
    const started = Date.now();
    const page = await client({ timeoutMs: 1500 }).products.list();
    assert.equal(page.attempts, 2);
    assert.ok(retries[0]!.error instanceof StoaTimeoutError);
    assert.ok(Date.now() - started < 15_000, 'did not wait for the stalled attempt');

    reset();
    script((m) => m === 'GET', [1, 2, 3].map(() => ({ kind: 'delay', ms: 3000 }) as Fault));
    const error = await client({ timeoutMs: 200 }).products.list().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof StoaTimeoutError, String(error));
    assert.equal(error.timeoutMs, 200);
    assert.equal(error.attempts, 3);
    assert.equal(error.requestId, proxy.seen[2]!.headers['x-request-id']);
  });

  it('a caller\'s signal cancels the whole call: during an attempt, and during the wait before a retry', async () => {
    reset();
    script((m) => m === 'GET', [{ kind: 'delay', ms: 3000 }]);
    const during = new AbortController();
    setTimeout(() => during.abort(new Error('caller gave up')), 100);
    await assert.rejects(Promise.resolve(client().products.list({}, { signal: during.signal })), /caller gave up/);
    assert.equal(proxy.seen.length, 1);

    reset();
    script((m) => m === 'GET', [{ kind: 'status', status: 503, retryAfter: '5' }]);
    const waiting = new AbortController();
    const started = Date.now();
    setTimeout(() => waiting.abort(new Error('stop waiting')), 150);
    await assert.rejects(Promise.resolve(client().products.list({}, { signal: waiting.signal })), /stop waiting/);
    assert.ok(Date.now() - started < 2000, 'the 5 s wait was cut short');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(proxy.seen.length, 1, 'no attempt after the abort');

    const aborted = AbortSignal.abort(new Error('already'));
    reset();
    await assert.rejects(Promise.resolve(client().products.list({}, { signal: aborted })), /already/);
    assert.equal(proxy.seen.length, 0);
  });

  it('turns a non-problem error page (a proxy\'s HTML 502) into a StoaError too', async () => {
    reset();
    script((m) => m === 'GET', [1, 2, 3].map(() => ({ kind: 'status', status: 502, body: '<html>Bad gateway</html>', contentType: 'text/html' }) as Fault));
    const error = await client().products.list().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof StoaError);
    assert.equal(error.status, 502);
    assert.equal(error.code, 'HTTP_502');
    assert.equal(error.problem, null);
    assert.match(error.detail, /Bad gateway/);
  });
});

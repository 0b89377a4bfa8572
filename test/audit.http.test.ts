import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { servedDocuments } from './helpers/api-walk.ts';
import type { OpenApiTruth } from './helpers/openapi-truth.ts';
import { world, type World } from './helpers/world.ts';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the server closed the connection (before the client's own timeout). */
  closedByServer: boolean;
}

/** Writes raw bytes on a new connection and reads the first answer. */
function rawRequest(port: number, text: string, waitMs = 3000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let closedByServer = true;
    const timer = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, waitMs);
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const split = data.indexOf('\r\n\r\n');
      if (split === -1) return reject(new Error(`no HTTP answer: ${JSON.stringify(data.slice(0, 200))}`));
      const [statusLine, ...lines] = data.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = data.slice(split + 4);
      const length = Number(headers['content-length']);
      if (Number.isFinite(length)) body = body.slice(0, length);
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body, closedByServer });
    });
    socket.write(text);
    // Keep-alive answers leave the connection open: end our side once an answer is in.
    socket.on('data', () => {
      if (data.includes('\r\n\r\n') && !/connection: close/i.test(data)) setTimeout(() => socket.end(), 50);
    });
  });
}

/** Asserts a raw answer is a registry problem document and returns it. */
function problem(answer: RawAnswer, status: number, code: string): Record<string, unknown> {
  assert.equal(answer.status, status, answer.body);
  assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  for (const member of ['type', 'title', 'detail', 'instance', 'request_id']) assert.ok(typeof body[member] === 'string' && body[member] !== '', `problem lacks ${member}`);
  assert.equal(body.request_id, answer.headers['x-request-id'], 'the request id travels in the body and X-Request-ID');
  assert.equal(answer.headers['x-content-type-options'], 'nosniff');
  assert.ok(answer.headers['content-security-policy']);
  return body;
}

describe('answers given before any route runs are registry problems with documented statuses', () => {
  let w: World;
  let port: number;
  let v2: OpenApiTruth;
  before(async () => {
    w = await world();
    const address = await w.app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(address).port);
    v2 = (await servedDocuments(w.app))[1]!;
  });
  after(() => w.close());

  const get = (path: string, extra = '') => rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${w.ada.auth.authorization}\r\n${extra}\r\n`);
  const documented = (method: string, template: string, status: number) =>
    assert.ok(String(status) in v2.doc.paths[template]![method.toLowerCase()]!.responses, `${method} ${template} documents ${status}`);

  it('a malformed percent-encoding in a path (GET /v2/posts/%zz) is 400 BAD_REQUEST, not Fastify\'s plain JSON', async () => {
    const answer = await get('/v2/posts/%zz');
    const body = problem(answer, 400, 'BAD_REQUEST');
    assert.match(String(body.detail), /percent-encoding/);
    documented('GET', '/v2/posts/{id}', 400);
  });

  it('a path parameter over the router limit is 400 INVALID_PARAMETER, not an undocumented 414', async () => {
    const answer = await get(`/v2/posts/${'a'.repeat(3000)}`);
    const body = problem(answer, 400, 'INVALID_PARAMETER');
    assert.equal(body.title, 'Invalid parameter');
    assert.match(String(body.detail), /^Invalid path parameter/);
    documented('GET', '/v2/posts/{id}', 400);
  });

  it('a path parameter over its schema is 400 INVALID_PARAMETER titled as a parameter, not as a query parameter', async () => {
    const answer = await get(`/v2/posts/${'a'.repeat(150)}`);
    const body = problem(answer, 400, 'INVALID_PARAMETER');
    assert.equal(body.title, 'Invalid parameter');
    assert.doesNotMatch(String(body.title), /query/i);
    assert.match(String(body.detail), /^Invalid path parameter: id/);
    assert.deepEqual((body.errors as Array<{ field: string }>).map((e) => e.field), ['id']);
  });

  it('a request head over 16 KiB is 431 REQUEST_HEADER_TOO_LARGE with Connection: close, then the connection closes', async () => {
    const answer = await rawRequest(port, `GET /v2/posts HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'p'.repeat(17 * 1024)}\r\n\r\n`);
    problem(answer, 431, 'REQUEST_HEADER_TOO_LARGE');
    assert.equal(answer.headers.connection, 'close');
    assert.ok(answer.closedByServer, 'the server closed the connection');
    documented('GET', '/v2/posts', 431);
    documented('GET', '/healthz', 431);
  });

  it('to a HEAD whose head is over 16 KiB: 431 without content, which an HTTP client reads as one whole answer', async () => {
    // Found by the fuzz run (seed 741224849): the problem body after a HEAD answer made Node's client fail with
    // "Data after Connection: close".
    const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, method: 'HEAD', path: `/v1/feed?fields=${'a'.repeat(17 * 1024)}`, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      request.on('error', reject);
      request.end();
    });
    assert.equal(answer.status, 431);
    assert.equal(answer.headers['content-type'], 'application/problem+json');
    assert.equal(answer.headers.connection, 'close');
    assert.equal(answer.body, '');
    // Allow the client's parser to meet any stray bytes before the test ends.
    await new Promise((r) => setTimeout(r, 100));
  });

  it('a request that is not HTTP/1.1 is 400 BAD_REQUEST with Connection: close', async () => {
    const answer = await rawRequest(port, 'GET /v2/posts HTTP/1.1\r\nHost: localhost\r\nBad Header Line\r\n\r\n');
    problem(answer, 400, 'BAD_REQUEST');
    assert.equal(answer.headers.connection, 'close');
    assert.ok(answer.closedByServer);
  });

  it('keeps the connection usable after a routed refusal', async () => {
    const answer = await get('/v2/posts/%zz', 'Connection: keep-alive\r\n');
    assert.notEqual(answer.headers.connection, 'close');
  });
});

describe('the OpenAPI document states the answers the server gives', () => {
  let w: World;
  let v1: OpenApiTruth;
  let v2: OpenApiTruth;
  before(async () => {
    w = await world();
    [v1, v2] = (await servedDocuments(w.app)) as [OpenApiTruth, OpenApiTruth];
  });
  after(() => w.close());

  const op = (truth: OpenApiTruth, method: string, path: string) => {
    const found = truth.doc.paths[path]?.[method];
    assert.ok(found, `${method.toUpperCase()} ${path} is documented`);
    return found;
  };
  const statuses = (truth: OpenApiTruth, method: string, path: string) => Object.keys(op(truth, method, path).responses);

  it('400 on DELETEs, /me, GET /api-keys/{id} and the follow routes (they refuse unknown parameters)', () => {
    for (const truth of [v1, v2]) {
      const v = truth === v1 ? '/v1' : '/v2';
      for (const [method, path] of [
        ['delete', '/posts/{id}'],
        ['delete', '/users/{id}'],
        ['get', '/me'],
        ['get', '/api-keys/{id}'],
        ['put', '/users/{id}/followers/me'],
        ['delete', '/users/{id}/followers/me'],
      ] as const) {
        assert.ok(statuses(truth, method, v + path).includes('400'), `${method} ${v}${path}`);
      }
    }
  });

  it('406 on single-resource GETs and /me; 404 on GET /users/{id}/posts', () => {
    for (const path of ['/v2/posts/{id}', '/v2/users/{id}', '/v2/me', '/v2/orders/{id}', '/v2/api-keys/{id}']) assert.ok(statuses(v2, 'get', path).includes('406'), path);
    assert.ok(statuses(v2, 'get', '/v2/users/{id}/posts').includes('404'));
  });

  it('the text/csv representation of every list', () => {
    let lists = 0;
    for (const truth of [v1, v2]) {
      for (const { method, path, operation } of truth.operations()) {
        const query = (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
        if (method !== 'GET' || !query.includes('cursor')) continue;
        lists += 1;
        assert.ok(operation.responses['200']?.content?.['text/csv'], `${method} ${path} documents text/csv`);
      }
    }
    assert.ok(lists >= 20, `found ${lists} lists`);
  });

  it('the Idempotency-Key header: required on POST /orders and POST /charges, optional elsewhere', () => {
    const header = (truth: OpenApiTruth, method: string, path: string) => op(truth, method, path).parameters?.find((p) => p.in === 'header' && p.name === 'idempotency-key');
    for (const truth of [v1, v2]) {
      const v = truth === v1 ? '/v1' : '/v2';
      assert.equal(header(truth, 'post', `${v}/orders`)?.required, true, 'POST /orders');
      assert.equal(header(truth, 'post', `${v}/charges`)?.required, true, 'POST /charges');
      assert.notEqual(header(truth, 'post', `${v}/posts`)?.required, true, 'POST /posts: optional');
      assert.ok(header(truth, 'post', `${v}/posts`), 'POST /posts declares the header');
    }
  });

  it('a POST /orders without the key is refused as the document says (required)', async () => {
    const product = await w.product();
    const res = await w.app.inject({ method: 'POST', url: '/v2/orders', headers: w.ada.auth, payload: { items: [{ product_id: product, quantity: 1 }] } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'IDEMPOTENCY_KEY_REQUIRED');
  });

  it('list items with fields= match the document, and a field the caller may not see on an item is left out of that item only', async () => {
    const res = await w.app.inject({ method: 'GET', url: '/v2/users?fields=id,role,email&limit=100', headers: w.bob.auth });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(v2.check({ method: 'GET', url: '/v2/users?fields=id,role,email', status: 200, contentType: String(res.headers['content-type']), body: res.body }), []);
    const items = res.json().data as Array<Record<string, unknown>>;
    const own = items.find((u) => u.id === w.bob.id);
    assert.equal(own?.email, w.bob.email, 'the caller sees its own email');
    assert.equal(own?.role, 'user');
    const others = items.filter((u) => u.id !== w.bob.id);
    assert.ok(others.length >= 2);
    for (const other of others) assert.deepEqual(Object.keys(other), ['id'], 'nothing private of another user');
    const param = op(v2, 'get', '/v2/users').parameters?.find((p) => p.name === 'fields') as { description?: string; schema?: { description?: string } } | undefined;
    assert.match(String(param?.description ?? param?.schema?.description), /may see/);
  });
});

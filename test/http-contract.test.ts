import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, problemOf, signUp, uniqueEmail, PASSWORD, type TestApp } from './helpers/app.ts';

describe('the HTTP contract', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ STOA_BODY_LIMIT: '4096' });
  });
  after(() => t.close());

  const countUsers = async () => Number((await t.container.database.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  describe('bad bodies answer a problem and create nothing', () => {
    const cases: Array<{ name: string; headers: Record<string, string>; payload: string | Buffer; status: number; code: string }> = [
      { name: 'malformed JSON', headers: { 'content-type': 'application/json' }, payload: '{"email": ', status: 400, code: 'MALFORMED_JSON' },
      { name: 'an empty JSON body', headers: { 'content-type': 'application/json' }, payload: '', status: 400, code: 'MALFORMED_JSON' },
      { name: 'an unsupported Content-Type', headers: { 'content-type': 'text/plain' }, payload: 'email=x', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'a form body', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'email=x', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      {
        name: 'a __proto__ key',
        headers: { 'content-type': 'application/json' },
        payload: `{"email":"${uniqueEmail()}","name":"x","password":"${PASSWORD}","__proto__":{"role":"admin"}}`,
        status: 400,
        code: 'FORBIDDEN_JSON_KEY',
      },
      {
        name: 'a nested constructor key',
        headers: { 'content-type': 'application/json' },
        payload: '{"email":"a@b.co","name":{"constructor":{"prototype":{"x":1}}},"password":"12345678"}',
        status: 400,
        code: 'FORBIDDEN_JSON_KEY',
      },
      { name: 'deeply nested JSON', headers: { 'content-type': 'application/json' }, payload: '['.repeat(1000) + ']'.repeat(1000), status: 400, code: 'JSON_TOO_DEEP' },
      {
        name: 'invalid UTF-8',
        headers: { 'content-type': 'application/json' },
        payload: Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xc3, 0x28]), Buffer.from('@x.io","name":"a","password":"12345678"}')]),
        status: 400,
        code: 'INVALID_UTF8',
      },
      {
        name: 'a body over the limit',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ email: uniqueEmail(), name: 'x'.repeat(5000), password: PASSWORD }),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
    ];
    for (const c of cases) {
      it(`answers ${c.status} ${c.code} to ${c.name}`, async () => {
        const before = await countUsers();
        const res = await t.app.inject({ method: 'POST', url: '/v1/users', headers: c.headers, payload: c.payload });
        assert.equal(res.statusCode, c.status, res.body);
        assert.equal(problemOf(res).code, c.code);
        assert.equal(await countUsers(), before);
      });
    }
  });

  it('lists every failing field at once with 422', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/users', payload: { email: 'not-an-email', name: '', password: 'short', nickname: 'x' } });
    assert.equal(res.statusCode, 422);
    const problem = problemOf(res);
    assert.equal(problem.code, 'VALIDATION_FAILED');
    const fields = (problem.errors as Array<{ field: string; code: string; message: string }>).map((e) => e.field).sort();
    assert.deepEqual(fields, ['email', 'name', 'nickname', 'password']);
    for (const e of problem.errors as Array<{ code: string; message: string }>) {
      assert.match(e.code, /^[a-z_]+$/);
      assert.ok(e.message.length > 0);
    }
  });

  it('rejects wrong JSON types instead of coercing them', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), name: 12345, password: 12345678 } });
    assert.equal(res.statusCode, 422);
    const errors = problemOf(res).errors as Array<{ field: string; code: string }>;
    assert.deepEqual(errors.map((e) => [e.field, e.code]).sort(), [['name', 'invalid_type'], ['password', 'invalid_type']]);
  });

  it('answers an unknown route with a 404 problem', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
    assert.equal(res.statusCode, 404);
    const problem = problemOf(res);
    assert.equal(problem.code, 'ROUTE_NOT_FOUND');
    assert.equal(problem.instance, '/v1/nothing-here');
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/me' });
    assert.equal(res.statusCode, 405);
    assert.equal(problemOf(res).code, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.allow, 'GET, HEAD');
    const post = await t.app.inject({ method: 'PATCH', url: '/v1/auth/login', payload: {} });
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers.allow, 'POST');
  });

  it('answers an Accept it cannot serve with 406', async () => {
    const user = await signUp(t.app);
    const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { ...user.auth, accept: 'application/xml' } });
    assert.equal(res.statusCode, 406);
    assert.equal(problemOf(res).code, 'NOT_ACCEPTABLE');
    const ok = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { ...user.auth, accept: 'application/xml;q=0.9, */*;q=0.1' } });
    assert.equal(ok.statusCode, 200);
  });

  it('answers an unknown query parameter with 400 naming it', async () => {
    const user = await signUp(t.app);
    const res = await t.app.inject({ method: 'GET', url: '/v1/me?colour=blue', headers: user.auth });
    assert.equal(res.statusCode, 400);
    const problem = problemOf(res);
    assert.equal(problem.code, 'UNKNOWN_PARAMETER');
    assert.match(problem.detail, /colour/);
  });

  describe('request ids', () => {
    it('echoes a well-formed X-Request-ID on the response and in problems', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'client-req.42' } });
      assert.equal(res.headers['x-request-id'], 'client-req.42');
      assert.equal(problemOf(res).request_id, 'client-req.42');
    });

    it('replaces an unsafe or oversized X-Request-ID with a generated one', async () => {
      for (const bad of ['evil\u0001id', 'a'.repeat(300), 'has space']) {
        const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': bad } });
        const id = String(res.headers['x-request-id']);
        assert.notEqual(id, bad);
        assert.match(id, /^[0-9a-f-]{36}$/);
      }
    });

    it('generates a distinct id for every request without one', async () => {
      const a = await t.app.inject({ method: 'GET', url: '/healthz' });
      const b = await t.app.inject({ method: 'GET', url: '/healthz' });
      assert.ok(a.headers['x-request-id']);
      assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
    });
  });

  it('sends security headers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.ok(res.headers['content-security-policy']);
    assert.ok(res.headers['x-frame-options']);
    assert.equal(res.headers['x-powered-by'], undefined);
  });

  it('compresses large responses with brotli or gzip', async () => {
    for (const encoding of ['br', 'gzip']) {
      const res = await t.app.inject({ method: 'GET', url: '/openapi.json', headers: { 'accept-encoding': encoding } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-encoding'], encoding);
    }
  });
});

describe('CORS', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ CORS_ORIGINS: 'https://app.example.com' });
  });
  after(() => t.close());

  it('allows a configured origin and exposes the request id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example.com' } });
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.match(String(res.headers['access-control-expose-headers']), /x-request-id/);
  });

  it('answers preflight for a configured origin', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/users',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
  });

  it('does not allow an origin that is not configured', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  it('still answers unknown routes with 404, not 405', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/unknown' });
    assert.equal(res.statusCode, 404);
  });
});

describe('unexpected failures', () => {
  it('answer a generic 500 problem with no SQL, driver message or stack', async () => {
    const t = await createTestApp();
    const user = await signUp(t.app);
    await t.container.database.close();
    const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });
    assert.equal(res.statusCode, 500);
    const problem = problemOf(res);
    assert.equal(problem.code, 'INTERNAL_ERROR');
    assert.doesNotMatch(res.body, /select|pglite|kysely|pool|stack|at .*\.ts/i);
    await t.close();
  });
});

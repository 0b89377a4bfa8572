import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { importJWK, SignJWT, type JWK } from 'jose';
import { SCOPES } from '../src/domain/shared/principal.ts';
import { bodyFor, collectionOf, fill, isPublic, makeFixtures, servedDocuments, type Fixtures, type Headers } from './helpers/api-walk.ts';
import type { Operation, OpenApiTruth } from './helpers/openapi-truth.ts';
import { login, PASSWORD } from './helpers/app.ts';
import { world, type World } from './helpers/world.ts';

const PRIVATE_KEY = { ...(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as JWK), kid: 'audit-key' };
const ENV = { STOA_JWT_KEYS: JSON.stringify([PRIVATE_KEY]), STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' };

/** Operations a credential of any scope may call: they touch only the caller's own session or account. */
const SCOPE_FREE = new Set([
  'getMe',
  'createRealtimeTicket',
  // The event log is filtered event by event by the key's scopes (canSee): a key sees only the families its scopes cover.
  'listEvents',
  // The caller's own request counts (issue 19): account metadata like /me, no resource data.
  'getUsage',
]);

const requiresCredential = (op: Operation) => !isPublic(op);
const acceptsApiKeys = (op: Operation) => (op.operation.security ?? []).some((r) => 'apiKeyAuth' in r || 'apiKeyHeader' in r);
const name = (op: Operation) => `${op.method} ${op.path}`;

describe('authentication and authorization, derived from each operation\'s OpenAPI security', () => {
  let w: World;
  let docs: OpenApiTruth[];
  let ids: Fixtures;
  before(async () => {
    w = await world({ env: ENV });
    docs = await servedDocuments(w.app);
    ids = await makeFixtures(w);
  });
  after(() => w.close());

  const operations = () => docs.flatMap((d) => d.operations());
  /** One call of an operation that, with enough rights, would pass validation; `id` fills the path. */
  const call = (op: Operation, headers: Headers, id: string): Promise<LightMyRequestResponse> => {
    const hasBody = ['POST', 'PUT', 'PATCH'].includes(op.method);
    const options: InjectOptions = {
      method: op.method as InjectOptions['method'],
      url: fill(op.path, id),
      headers: { ...(op.method === 'POST' ? { 'idempotency-key': randomUUID() } : {}), ...headers },
      ...(hasBody ? { payload: bodyFor(op.method, op.path, ids) as Record<string, unknown> } : {}),
    };
    return w.app.inject(options);
  };
  const bogus = 'zz_000000000000000000000000';

  it('without credentials, every operation that requires them answers 401 with WWW-Authenticate: Bearer', async () => {
    const checked: string[] = [];
    for (const op of operations().filter(requiresCredential)) {
      const res = await call(op, {}, bogus);
      assert.equal(res.statusCode, 401, `${name(op)}: ${res.body.slice(0, 200)}`);
      assert.equal(res.json().code, 'UNAUTHENTICATED', name(op));
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm="stoa"/, name(op));
      checked.push(name(op));
    }
    assert.ok(checked.length >= 100, `only ${checked.length} operations require credentials`);
  });

  it('public operations answer without credentials (no 401 unless a credential is sent and bad)', async () => {
    for (const op of operations().filter((o) => !requiresCredential(o) && o.operation.security !== undefined && o.operation.security.length > 0)) {
      const res = await call(op, {}, ids[collectionOf(op.path)] ?? bogus);
      assert.notEqual(res.statusCode, 401, `${name(op)}: ${res.body.slice(0, 200)}`);
      const bad = await call(op, { authorization: 'Bearer not.a.token' }, ids[collectionOf(op.path)] ?? bogus);
      assert.equal(bad.statusCode, 401, `${name(op)} with a bad credential`);
    }
  });

  it('an API key lacking the scope an operation needs answers 403 INSUFFICIENT_SCOPE naming that scope; every operation needs one', async () => {
    const lacking = new Map<string, Headers>();
    for (const scope of SCOPES) lacking.set(scope, await w.apiKey(w.ada, SCOPES.filter((s) => s !== scope)));
    const scopeless = await w.apiKey(w.ada, []).catch(() => undefined);
    const needs = new Map<string, string[]>();
    for (const op of operations().filter((o) => requiresCredential(o) && acceptsApiKeys(o))) {
      // A path names an id that does not exist: no call changes anything, and the scope is checked before the lookup.
      const required: string[] = [];
      for (const [scope, key] of lacking) {
        const res = await call(op, key, bogus);
        if (res.statusCode === 403 && res.json().code === 'INSUFFICIENT_SCOPE') {
          assert.equal(res.json().required_scope, scope, `${name(op)} names the missing scope`);
          required.push(scope);
        } else {
          assert.ok(res.statusCode !== 401, `${name(op)} with a key lacking ${scope}: ${res.statusCode}`);
        }
      }
      needs.set(name(op), required);
      if (scopeless) {
        const res = await call(op, scopeless, bogus);
        if (!SCOPE_FREE.has(String(op.operation.operationId))) assert.equal(res.statusCode, 403, `${name(op)} with a key without scopes`);
      }
      assert.ok(String(403) in op.operation.responses, `${name(op)} documents 403`);
    }
    const free = [...needs].filter(([, scopes]) => scopes.length === 0).map(([op]) => op);
    const allowed = operations().filter((o) => SCOPE_FREE.has(String(o.operation.operationId))).map(name);
    assert.deepEqual(free.filter((op) => !allowed.includes(op)), [], 'operations an API key of any scope may call');
    assert.ok(needs.size >= 60, `only ${needs.size} operations accept API keys`);
  });

  it("another user's private resources are 404 (403 only where it reveals nothing); public ones cannot be changed by another user (403 or 404)", async () => {
    const privateCollections = new Set(['api-keys', 'orders', 'order-items', 'charges', 'webhook-endpoints', 'webhook-deliveries', 'jobs', 'reports']);
    let checked = 0;
    for (const op of operations().filter((o) => o.path.includes('{') && requiresCredential(o))) {
      const collection = collectionOf(op.path);
      const id = ids[collection];
      if (!id || /\/followers\/me$/.test(op.path) || (collection === 'users' && op.path.endsWith('/verify-email') === false && op.method === 'GET')) continue;
      const before = await w.app.inject({ method: 'GET', url: fill(op.path.replace(/(\{[^}]+\}).*$/, '$1'), id), headers: w.ada.auth });
      const res = await call(op, w.bob.auth, id);
      const documented = String(res.statusCode) in op.operation.responses;
      if (privateCollections.has(collection)) {
        if (res.statusCode === 403) {
          // Allowed only where it tells nothing: the same refusal for an id that does not exist (an operation others may never call).
          const absent = await call(op, w.bob.auth, bogus);
          assert.equal(absent.statusCode, 403, `${name(op)}: 403 for another user's resource but ${absent.statusCode} for none`);
          assert.equal(absent.json().code, res.json().code, name(op));
        } else {
          assert.equal(res.statusCode, 404, `${name(op)} as another user: ${res.body.slice(0, 200)}`);
        }
      } else if (op.method !== 'GET' && (/\{id\}$/.test(op.path) || op.path.endsWith('/verify-email'))) {
        assert.ok(res.statusCode === 403 || res.statusCode === 404, `${name(op)} as another user: ${res.statusCode} ${res.body.slice(0, 200)}`);
      } else {
        continue;
      }
      assert.ok(documented, `${name(op)}: ${res.statusCode} is documented`);
      const afterwards = await w.app.inject({ method: 'GET', url: fill(op.path.replace(/(\{[^}]+\}).*$/, '$1'), id), headers: w.ada.auth });
      if (before.statusCode === 200) assert.equal(afterwards.body, before.body, `${name(op)} as another user changed nothing`);
      checked += 1;
    }
    assert.ok(checked >= 40, `checked ${checked}`);
  });
});

describe('JWT attacks are all 401', () => {
  let w: World;
  let signingKey: Awaited<ReturnType<typeof importJWK>>;
  before(async () => {
    w = await world({ env: ENV });
    signingKey = await importJWK(PRIVATE_KEY, 'EdDSA');
  });
  after(() => w.close());

  const issuer = () => w.t.config.jwtIssuer;
  const audience = () => w.t.config.jwtAudience;
  const sign = async (claims: { sub?: string; iss?: string; aud?: string; exp?: number; nbf?: number; iat?: number }, kid = PRIVATE_KEY.kid) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' }).setSubject(claims.sub ?? w.ada.id).setIssuer(claims.iss ?? issuer()).setAudience(claims.aud ?? audience());
    jwt.setIssuedAt(claims.iat ?? now).setExpirationTime(claims.exp ?? now + 600);
    if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
    return jwt.sign(signingKey);
  };
  const me = (token: string) => w.app.inject({ method: 'GET', url: '/v2/me', headers: { authorization: `Bearer ${token}` } });
  const refused = async (token: string, what: string) => {
    const res = await me(token);
    assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="stoa"/, what);
  };

  it('a token signed here with every claim right is accepted (the forgeries below differ in one thing each)', async () => {
    assert.equal((await me(await sign({}))).statusCode, 200);
  });

  it('expired, not yet valid, wrong issuer, wrong audience', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await sign({ iat: now - 3600, exp: now - 600 }), 'expired');
    await refused(await sign({ nbf: now + 3600, exp: now + 7200 }), 'not yet valid');
    await refused(await sign({ iss: 'https://evil.example.com' }), 'wrong iss');
    await refused(await sign({ aud: 'someone-else' }), 'wrong aud');
  });

  it('a kid with path or SQL characters, or an unknown or enormous kid', async () => {
    for (const kid of ['../../../../etc/passwd', "' OR '1'='1", 'audit-key\u0000', 'x'.repeat(5000), 'unknown-kid', '%2e%2e%2f']) {
      await refused(await sign({}, kid), `kid ${JSON.stringify(kid.slice(0, 30))}`);
    }
  });

  it('alg none and HS256 with the public key, with the kid of the real key', async () => {
    const good = await sign({});
    const [, payload] = good.split('.');
    const header = (alg: string) => Buffer.from(JSON.stringify({ alg, kid: PRIVATE_KEY.kid, typ: 'JWT' })).toString('base64url');
    await refused(`${header('none')}.${payload}.`, 'alg none');
    const { createHmac } = await import('node:crypto');
    const input = `${header('HS256')}.${payload}`;
    await refused(`${input}.${createHmac('sha256', Buffer.from(PRIVATE_KEY.x!, 'base64url')).update(input).digest('base64url')}`, 'HS256 with the public key');
  });

  it('a validly signed token of a user that does not exist, or was deleted', async () => {
    await refused(await sign({ sub: 'usr_00000000000000000000000000' }), 'unknown user');
    const gone = await w.newUser('Gone');
    const key = await w.apiKey(gone, ['users:read']);
    assert.equal((await w.app.inject({ method: 'DELETE', url: `/v2/users/${gone.id}`, headers: gone.auth })).statusCode, 204);
    await refused(gone.accessToken, 'deleted user');
    const withKey = await w.app.inject({ method: 'GET', url: '/v2/me', headers: key });
    assert.equal(withKey.statusCode, 401, "a deleted user's API key");
    const refresh = await w.app.inject({ method: 'POST', url: '/v2/auth/refresh', payload: { refresh_token: gone.refreshToken } });
    assert.equal(refresh.statusCode, 401, "a deleted user's refresh token");
  });

  it("a suspended user's token and refresh token are refused (401 ACCOUNT_SUSPENDED with an invalid_token challenge; refresh 401)", async () => {
    const user = await w.newUser('Suspended');
    assert.equal((await w.app.inject({ method: 'PATCH', url: `/v2/users/${user.id}`, headers: w.admin.auth, payload: { status: 'suspended' } })).statusCode, 200);
    const res = await me(user.accessToken);
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'ACCOUNT_SUSPENDED');
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
    const refresh = await w.app.inject({ method: 'POST', url: '/v2/auth/refresh', payload: { refresh_token: user.refreshToken } });
    assert.equal(refresh.statusCode, 401);
  });

  it('a refresh token replayed after rotation is 401 and revokes its family: every token of it stops working, other sign-ins do not', async () => {
    const user = await w.newUser('Replayed');
    const refresh = (token: string) => w.app.inject({ method: 'POST', url: '/v2/auth/refresh', payload: { refresh_token: token } });
    const first = (await refresh(user.refreshToken)).json().data;
    const second = (await refresh(first.refresh_token)).json().data;
    const third = (await refresh(second.refresh_token)).json().data;
    const other = await login(w.app, user.email, PASSWORD);
    const replay = await refresh(first.refresh_token);
    assert.equal(replay.statusCode, 401);
    assert.equal(replay.json().code, 'INVALID_REFRESH_TOKEN');
    assert.equal((await refresh(third.refresh_token)).statusCode, 401, 'the newest token of the family is revoked');
    assert.equal((await refresh(other.refreshToken)).statusCode, 200, 'another family is untouched');
  });
});

describe('login timing does not tell an unknown email from a wrong password', () => {
  let w: World;
  before(async () => {
    // A realistic hash cost, so that hashing (not the request pipeline) is what a timing attack would see.
    w = await world({ env: { STOA_PASSWORD_HASH_COST: '14' } });
  });
  after(() => w.close());

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
  };
  const timed = async (payload: Record<string, unknown>, expected: number) => {
    const start = process.hrtime.bigint();
    const res = await w.app.inject({ method: 'POST', url: '/v2/auth/login', payload });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.equal(res.statusCode, expected, res.body);
    return ms;
  };

  it('the medians of many interleaved tries stay within a generous band, and both pay for a hash', async (t) => {
    const unknown: number[] = [];
    const wrong: number[] = [];
    const noHash: number[] = [];
    for (let i = 0; i < 3; i++) {
      await timed({ email: `nobody${i}@example.com`, password: 'wrong password' }, 401);
      await timed({ email: w.ada.email, password: 'wrong password' }, 401);
    }
    for (let i = 0; i < 30; i++) {
      unknown.push(await timed({ email: `nobody.${randomUUID()}@example.com`, password: 'wrong password' }, 401));
      wrong.push(await timed({ email: w.ada.email, password: `wrong password ${i}` }, 401));
      noHash.push(await timed({ email: w.ada.email }, 422));
    }
    const [u, p, n] = [median(unknown), median(wrong), median(noHash)];
    const ratio = Math.max(u, p) / Math.min(u, p);
    t.diagnostic(`login medians: unknown email ${u.toFixed(2)} ms, wrong password ${p.toFixed(2)} ms, no hash ${n.toFixed(2)} ms`);
    assert.ok(ratio < 2, `unknown email ${u.toFixed(1)} ms vs wrong password ${p.toFixed(1)} ms (ratio ${ratio.toFixed(2)})`);
    // The measurement can tell a request that hashes from one that does not: without the dummy verify, an unknown email would look like this.
    assert.ok(Math.min(u, p) > 5 * n, `hashing ${Math.min(u, p).toFixed(1)} ms vs no hashing ${n.toFixed(1)} ms`);
  });
});

describe('security headers on every kind of response', () => {
  let w: World;
  let port: number;
  before(async () => {
    w = await world();
    port = Number(new URL(await w.app.listen({ port: 0, host: '127.0.0.1' })).port);
  });
  after(() => w.close());

  const assertSecure = (headers: Record<string, unknown>, kind: string) => {
    assert.equal(headers['x-content-type-options'], 'nosniff', kind);
    assert.ok(headers['content-security-policy'], `${kind}: Content-Security-Policy`);
    assert.ok(headers['x-frame-options'], `${kind}: X-Frame-Options`);
    assert.ok(headers['referrer-policy'], `${kind}: Referrer-Policy`);
    assert.equal(headers['x-powered-by'], undefined, kind);
    assert.ok(headers['x-request-id'], `${kind}: X-Request-ID`);
  };

  it('JSON, problem, CSV, 304, the OpenAPI document, /docs, 405, a framework refusal', async () => {
    const get = (url: string, headers: Headers = {}) => w.app.inject({ method: 'GET', url, headers: { ...w.ada.auth, ...headers } });
    const json = await get('/v2/me');
    assert.equal(json.statusCode, 200);
    assertSecure(json.headers, 'JSON');
    const problem = await get('/v2/posts/nope');
    assert.equal(problem.statusCode, 404);
    assertSecure(problem.headers, 'problem');
    const csv = await get('/v2/posts', { accept: 'text/csv' });
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assertSecure(csv.headers, 'CSV');
    const notModified = await get('/v2/me', { 'if-none-match': String(json.headers.etag) });
    assert.equal(notModified.statusCode, 304);
    assertSecure(notModified.headers, '304');
    const listNotModified = await get('/v2/posts', { 'if-none-match': '*' });
    assert.equal(listNotModified.statusCode, 304);
    assertSecure(listNotModified.headers, 'list 304');
    const openapi = await w.app.inject({ method: 'GET', url: '/v2/openapi.json' });
    assertSecure(openapi.headers, 'OpenAPI');
    const docs = await w.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(String(docs.headers['content-type']), /^text\/html/);
    assertSecure(docs.headers, '/docs');
    const method = await w.app.inject({ method: 'PUT', url: '/v2/posts' });
    assert.equal(method.statusCode, 405);
    assertSecure(method.headers, '405');
    const badUrl = await w.app.inject({ method: 'GET', url: '/v2/posts/%zz' });
    assert.equal(badUrl.statusCode, 400);
    assertSecure(badUrl.headers, 'framework refusal');
  });

  it('an event stream (Server-Sent Events)', async () => {
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/v2/events', headers: { ...w.ada.auth, accept: 'text/event-stream' } }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        resolve(res.headers);
        req.destroy();
      });
      req.on('error', (error) => ((error as { code?: string }).code === 'ECONNRESET' ? undefined : reject(error)));
      req.end();
    });
    assertSecure(headers, 'event stream');
  });
});

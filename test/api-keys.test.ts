import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SCOPES } from '../src/domain/shared/principal.ts';
import { createTestApp, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

describe('API keys', () => {
  let t: TestApp;
  let ada: SignedUp;
  let bob: SignedUp;
  before(async () => {
    t = await createTestApp();
    ada = await signUp(t.app);
    bob = await signUp(t.app);
  });
  after(() => t.close());

  const createKey = async (who: SignedUp, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: who.auth, payload });

  it('creates a key whose secret appears once and begins with its prefix', async () => {
    const res = await createKey(ada, { name: 'backend', scopes: ['users:read', 'orders:write'] });
    assert.equal(res.statusCode, 201);
    const data = res.json().data;
    for (const field of ['id', 'name', 'prefix', 'scopes', 'secret', 'created_at']) assert.ok(field in data, field);
    assert.match(data.id, /^key_/);
    assert.ok(data.secret.startsWith(data.prefix));
    assert.ok(data.secret.length > data.prefix.length + 40);
    assert.deepEqual(data.scopes, ['users:read', 'orders:write']);
    assert.equal(res.headers.location, `/v1/api-keys/${data.id}`);
    assert.equal(res.headers['cache-control'], 'no-store');

    const list = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: ada.auth });
    assert.equal(list.statusCode, 200);
    assert.ok(list.json().data.some((k: { id: string }) => k.id === data.id));
    assert.ok(!list.body.includes(data.secret.slice(data.prefix.length)), 'the list must never show a secret');
    for (const key of list.json().data) assert.equal(key.secret, undefined);
    const one = await t.app.inject({ method: 'GET', url: `/v1/api-keys/${data.id}`, headers: ada.auth });
    assert.equal(one.json().data.secret, undefined);
  });

  it('stores only a hash of the secret', async () => {
    const data = (await createKey(ada, { name: 'hash check', scopes: ['users:read'] })).json().data;
    const row = await t.container.database.db.selectFrom('api_keys').selectAll().where('id', '=', data.id).executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(row).includes(data.secret));
    assert.match(row.secret_hash, /^[0-9a-f]{64}$/);
  });

  it('authenticates as Authorization: Bearer and as X-API-Key', async () => {
    const { secret } = (await createKey(ada, { name: 'both ways', scopes: ['users:read'] })).json().data;
    for (const headers of [{ authorization: `Bearer ${secret}` }, { 'x-api-key': secret }]) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().data.id, ada.id);
    }
  });

  it('refuses a corrupted key by its checksum without reading the database', async () => {
    const { secret } = (await createKey(ada, { name: 'typo', scopes: ['users:read'] })).json().data as { secret: string };
    const last = secret.at(-1)!;
    const corrupted = secret.slice(0, -1) + (last === 'a' ? 'b' : 'a');
    const truncated = secret.slice(0, -3);
    for (const key of [corrupted, truncated, 'sk_short']) {
      const before = t.queries();
      const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': key } });
      assert.equal(res.statusCode, 401);
      assert.equal(problemOf(res).code, 'INVALID_API_KEY');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      assert.equal(t.queries(), before, 'no query for a key that fails its checksum');
    }
  });

  it('answers 403 when the key lacks the scope an operation needs', async () => {
    const { secret } = (await createKey(ada, { name: 'read only', scopes: ['users:read'] })).json().data;
    const res = await t.app.inject({ method: 'PATCH', url: `/v1/users/${ada.id}`, headers: { 'x-api-key': secret }, payload: { name: 'Nope' } });
    assert.equal(res.statusCode, 403);
    assert.equal(problemOf(res).code, 'INSUFFICIENT_SCOPE');
    assert.match(problemOf(res).detail, /users:write/);
    const orders = (await createKey(ada, { name: 'orders only', scopes: ['orders:read'] })).json().data.secret;
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': orders } });
    assert.equal(me.statusCode, 403);
  });

  it('a key with users:write may change its owner', async () => {
    const { secret } = (await createKey(ada, { name: 'writer', scopes: ['users:read', 'users:write'] })).json().data;
    const res = await t.app.inject({ method: 'PATCH', url: `/v1/users/${ada.id}`, headers: { authorization: `Bearer ${secret}` }, payload: { name: 'Via key' } });
    assert.equal(res.statusCode, 200);
  });

  it('revocation is effective at once', async () => {
    const { id, secret } = (await createKey(ada, { name: 'short lived', scopes: ['users:read'] })).json().data;
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': secret } })).statusCode, 200);
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: ada.auth });
    assert.equal(res.statusCode, 204);
    const after = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': secret } });
    assert.equal(after.statusCode, 401);
    assert.equal(problemOf(after).code, 'INVALID_API_KEY');
    const list = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: ada.auth });
    assert.ok(!list.json().data.some((k: { id: string }) => k.id === id));
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: ada.auth })).statusCode, 404);
  });

  it("cannot see or revoke another user's key", async () => {
    const { id, secret } = (await createKey(ada, { name: 'mine', scopes: ['users:read'] })).json().data;
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: bob.auth })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: `/v1/api-keys/${id}`, headers: bob.auth })).statusCode, 404);
    assert.ok(!(await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: bob.auth })).json().data.some((k: { id: string }) => k.id === id));
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': secret } })).statusCode, 200);
  });

  it('an admin may revoke any key', async () => {
    const admin = await signUpAdmin(t);
    const { id } = (await createKey(bob, { name: 'bobs', scopes: ['users:read'] })).json().data;
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: admin.auth })).statusCode, 204);
  });

  it('an expired key is refused', async () => {
    const t2 = await createTestApp();
    try {
      const user = await signUp(t2.app);
      const expiresAt = new Date(Date.now() + 60_000).toISOString();
      const res = await t2.app.inject({ method: 'POST', url: '/v1/api-keys', headers: user.auth, payload: { name: 'brief', scopes: ['users:read'], expires_at: expiresAt } });
      assert.equal(res.statusCode, 201);
      assert.equal(res.json().data.expires_at, expiresAt);
      const { secret } = res.json().data;
      assert.equal((await t2.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': secret } })).statusCode, 200);
      t2.clock.advance(61_000);
      const after = await t2.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': secret } });
      assert.equal(after.statusCode, 401);
      assert.match(problemOf(after).detail, /expired/);
    } finally {
      await t2.close();
    }
  });

  it('keys cannot manage keys', async () => {
    const { secret } = (await createKey(ada, { name: 'all scopes', scopes: [...SCOPES] })).json().data;
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: { 'x-api-key': secret }, payload: { name: 'child', scopes: ['users:read'] } });
    assert.equal(res.statusCode, 403);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: { 'x-api-key': secret } })).statusCode, 403);
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown scope', { name: 'x', scopes: ['users:read', 'root:all'] }, 'scopes.1'],
    ['no scopes', { name: 'x', scopes: [] }, 'scopes'],
    ['duplicate scopes', { name: 'x', scopes: ['users:read', 'users:read'] }, 'scopes'],
    ['an empty name', { name: '', scopes: ['users:read'] }, 'name'],
    ['a malformed expiry', { name: 'x', scopes: ['users:read'], expires_at: 'tomorrow' }, 'expires_at'],
    ['an expiry in the past', { name: 'x', scopes: ['users:read'], expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
    ['an unknown API version', { name: 'x', scopes: ['users:read'], api_version: '9' }, 'api_version'],
  ];
  for (const [name, payload, field] of invalid) {
    it(`refuses ${name} with 422 naming ${field}, creating nothing`, async () => {
      const before = (await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: ada.auth })).json().data.length;
      const res = await createKey(ada, payload);
      assert.equal(res.statusCode, 422, res.body);
      assert.ok((problemOf(res).errors as Array<{ field: string }>).some((e) => e.field === field), res.body);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: ada.auth })).json().data.length, before);
    });
  }

  it('needs authentication', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', payload: { name: 'x', scopes: ['users:read'] } });
    assert.equal(res.statusCode, 401);
  });

  it('records last use without a write on every request', async () => {
    // A user of its own: one that an earlier test changed within the last seconds is read afresh, not from the cache.
    const carol = await signUp(t.app);
    const { id, secret } = (await createKey(carol, { name: 'touch', scopes: ['users:read'] })).json().data;
    await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': secret } });
    await new Promise((r) => setTimeout(r, 50));
    const first = (await t.app.inject({ method: 'GET', url: `/v1/api-keys/${id}`, headers: carol.auth })).json().data.last_used_at;
    assert.ok(first);
    const before = t.queries();
    await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': secret } });
    await new Promise((r) => setTimeout(r, 50));
    // The user read, and the key lookup where credentials are not cached (PostgreSQL without Redis); no update within the minute.
    const keysCached = !process.env.DATABASE_URL || Boolean(process.env.REDIS_URL);
    assert.equal(t.queries() - before, keysCached ? 1 : 2);
  });
});

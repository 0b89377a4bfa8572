import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login, problemOf, signUp, uniqueEmail, PASSWORD, type SignedUp, type TestApp } from './helpers/app.ts';
import { world, type World } from './helpers/world.ts';

describe('users', () => {
  let w: World;
  let t: TestApp;
  let ada: SignedUp;
  let bob: SignedUp;
  let admin: SignedUp;
  before(async () => {
    w = await world();
    ({ t, ada, bob, admin } = w);
  });
  after(() => w.close());

  describe('POST /v1/users', () => {
    it('signs up: 201, Location, a usr_ id, and never a password or hash', async () => {
      const email = uniqueEmail();
      const res = await t.app.inject({ method: 'POST', url: '/v1/users', payload: { email, name: 'New Person', password: PASSWORD } });
      assert.equal(res.statusCode, 201);
      const data = res.json().data;
      assert.match(data.id, /^usr_[0-9a-z]{26}$/);
      assert.equal(res.headers.location, `/v1/users/${data.id}`);
      assert.equal(data.email, email);
      assert.equal(data.role, 'user');
      assert.equal(data.plan, 'free');
      assert.equal(data.status, 'active');
      assert.doesNotMatch(res.body, /password|hash|scrypt/i);
      assert.equal(data.links.self, res.headers.location);
    });

    it('ids sort by creation time', async () => {
      const a = (await signUp(t.app)).id;
      const b = (await signUp(t.app)).id;
      assert.ok(a < b);
    });

    it('refuses a duplicate email case-insensitively with 409 and creates nothing', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/users', payload: { email: ada.email.toUpperCase(), name: 'Copy', password: PASSWORD } });
      assert.equal(res.statusCode, 409);
      assert.equal(problemOf(res).code, 'EMAIL_TAKEN');
      const n = await t.container.database.db.selectFrom('users').select('id').where('name', '=', 'Copy').execute();
      assert.equal(n.length, 0);
    });

    const boundaries: Array<[string, Record<string, unknown>, string | null]> = [
      ['name of 100 characters', { name: 'n'.repeat(100) }, null],
      ['name of 101 characters', { name: 'n'.repeat(101) }, 'name'],
      ['empty name', { name: '' }, 'name'],
      ['password of 8 characters', { password: '12345678' }, null],
      ['password of 7 characters', { password: '1234567' }, 'password'],
      ['password of 256 characters', { password: 'p'.repeat(256) }, null],
      ['password of 257 characters', { password: 'p'.repeat(257) }, 'password'],
      ['email without a domain', { email: 'ada@' }, 'email'],
      ['email with a space', { email: 'a da@example.com' }, 'email'],
      ['email that is SQL', { email: "x'; DROP TABLE users; --@example.com" }, 'email'],
    ];
    for (const [name, patch, failing] of boundaries) {
      it(`${failing ? 'refuses' : 'accepts'} a ${name}`, async () => {
        const payload = { email: uniqueEmail(), name: 'Valid', password: PASSWORD, ...patch };
        const res = await t.app.inject({ method: 'POST', url: '/v1/users', payload });
        if (failing === null) {
          assert.equal(res.statusCode, 201, res.body);
        } else {
          assert.equal(res.statusCode, 422, res.body);
          assert.deepEqual((problemOf(res).errors as Array<{ field: string }>).map((e) => e.field), [failing]);
        }
      });
    }

    it('ignores nothing: role in a sign-up body is refused', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), name: 'Sneaky', password: PASSWORD, role: 'admin' } });
      assert.equal(res.statusCode, 422);
      assert.equal((problemOf(res).errors as Array<{ field: string; code: string }>)[0]!.code, 'unknown_field');
    });
  });

  describe('GET /v1/users/{id}', () => {
    it('shows another user only the public profile', async () => {
      const res = await t.app.inject({ method: 'GET', url: `/v1/users/${bob.id}`, headers: ada.auth });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(Object.keys(res.json().data).sort(), ['created_at', 'id', 'links', 'name']);
    });

    it('shows a user its own full record, and admins anyone', async () => {
      for (const who of [bob, admin]) {
        const res = await t.app.inject({ method: 'GET', url: `/v1/users/${bob.id}`, headers: who.auth });
        assert.equal(res.json().data.email, bob.email);
        assert.equal(res.json().data.role, 'user');
      }
    });

    it('needs authentication', async () => {
      const res = await t.app.inject({ method: 'GET', url: `/v1/users/${bob.id}` });
      assert.equal(res.statusCode, 401);
    });

    it('answers 404 for an unknown or malformed id', async () => {
      for (const id of ['usr_00000000000000000000000000', 'nonsense', "1' OR '1'='1"]) {
        const res = await t.app.inject({ method: 'GET', url: `/v1/users/${encodeURIComponent(id)}`, headers: ada.auth });
        assert.equal(res.statusCode, 404);
        assert.equal(problemOf(res).code, 'NOT_FOUND');
      }
    });

    it('supports If-None-Match with a strong ETag', async () => {
      const first = await t.app.inject({ method: 'GET', url: `/v1/users/${ada.id}`, headers: ada.auth });
      const etag = String(first.headers.etag);
      assert.match(etag, /^"\d+"$/);
      const again = await t.app.inject({ method: 'GET', url: `/v1/users/${ada.id}`, headers: { ...ada.auth, 'if-none-match': etag } });
      assert.equal(again.statusCode, 304);
      assert.equal(again.body, '');
      // The public view of the same user has another ETag.
      const pub = await t.app.inject({ method: 'GET', url: `/v1/users/${ada.id}`, headers: { ...bob.auth, 'if-none-match': etag } });
      assert.equal(pub.statusCode, 200);
    });
  });

  describe('PUT and PATCH /v1/users/{id}', () => {
    it('lets a user change itself with PATCH (JSON Merge Patch)', async () => {
      const me = await signUp(t.app);
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/v1/users/${me.id}`,
        headers: { ...me.auth, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ name: 'Renamed' }),
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().data.name, 'Renamed');
      assert.equal(res.json().data.email, me.email);
    });

    it('lets a user replace itself with PUT', async () => {
      const me = await signUp(t.app);
      const email = uniqueEmail('moved');
      const res = await t.app.inject({ method: 'PUT', url: `/v1/users/${me.id}`, headers: me.auth, payload: { email, name: 'Replaced' } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().data.email, email);
      await login(t.app, email, PASSWORD);
    });

    it('PUT requires the whole representation', async () => {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/users/${ada.id}`, headers: ada.auth, payload: { name: 'Only name' } });
      assert.equal(res.statusCode, 422);
      assert.deepEqual((problemOf(res).errors as Array<{ field: string }>).map((e) => e.field), ['email']);
    });

    it('refuses an empty PATCH', async () => {
      const res = await t.app.inject({ method: 'PATCH', url: `/v1/users/${ada.id}`, headers: ada.auth, payload: {} });
      assert.equal(res.statusCode, 422);
    });

    it('forbids changing another user and leaves it unchanged', async () => {
      const res = await t.app.inject({ method: 'PATCH', url: `/v1/users/${bob.id}`, headers: ada.auth, payload: { name: 'Hacked' } });
      assert.equal(res.statusCode, 403);
      assert.equal(problemOf(res).code, 'FORBIDDEN');
      const bobNow = await t.app.inject({ method: 'GET', url: `/v1/users/${bob.id}`, headers: bob.auth });
      assert.equal(bobNow.json().data.name, 'Bob');
    });

    it('forbids a user from changing its own role or plan', async () => {
      const res = await t.app.inject({ method: 'PATCH', url: `/v1/users/${ada.id}`, headers: ada.auth, payload: { role: 'admin' } });
      assert.equal(res.statusCode, 403);
      const plan = await t.app.inject({ method: 'PATCH', url: `/v1/users/${ada.id}`, headers: ada.auth, payload: { plan: 'enterprise' } });
      assert.equal(plan.statusCode, 403);
      const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: ada.auth });
      assert.equal(me.json().data.role, 'user');
      assert.equal(me.json().data.plan, 'free');
    });

    it('lets an admin change anyone, role and plan included', async () => {
      const target = await signUp(t.app);
      const res = await t.app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: admin.auth, payload: { plan: 'pro', name: 'Upgraded' } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().data.plan, 'pro');
      assert.equal(res.json().data.name, 'Upgraded');
    });

    it('refuses taking another user’s email with 409', async () => {
      const res = await t.app.inject({ method: 'PATCH', url: `/v1/users/${ada.id}`, headers: ada.auth, payload: { email: bob.email.toUpperCase() } });
      assert.equal(res.statusCode, 409);
      assert.equal(problemOf(res).code, 'EMAIL_TAKEN');
    });

    it('applies If-Match: the matching ETag wins, a stale one is 412 and changes nothing', async () => {
      const me = await signUp(t.app);
      const etag = String((await t.app.inject({ method: 'GET', url: `/v1/users/${me.id}`, headers: me.auth })).headers.etag);
      const ok = await t.app.inject({ method: 'PATCH', url: `/v1/users/${me.id}`, headers: { ...me.auth, 'if-match': etag }, payload: { name: 'First' } });
      assert.equal(ok.statusCode, 200);
      assert.notEqual(ok.headers.etag, etag);
      const stale = await t.app.inject({ method: 'PATCH', url: `/v1/users/${me.id}`, headers: { ...me.auth, 'if-match': etag }, payload: { name: 'Second' } });
      assert.equal(stale.statusCode, 412);
      assert.equal(problemOf(stale).code, 'PRECONDITION_FAILED');
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: me.auth })).json().data.name, 'First');
    });

    it('concurrent PATCHes with the same If-Match: exactly one wins', async () => {
      const me = await signUp(t.app);
      const etag = String((await t.app.inject({ method: 'GET', url: '/v1/me', headers: me.auth })).headers.etag);
      const results = await Promise.all(
        ['a', 'b', 'c', 'd'].map((name) => t.app.inject({ method: 'PATCH', url: `/v1/users/${me.id}`, headers: { ...me.auth, 'if-match': etag }, payload: { name } })),
      );
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 412, 412, 412]);
    });

    it('a password change ends existing refresh tokens', async () => {
      const me = await signUp(t.app);
      const res = await t.app.inject({ method: 'PATCH', url: `/v1/users/${me.id}`, headers: me.auth, payload: { password: 'a whole new password' } });
      assert.equal(res.statusCode, 200);
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: me.refreshToken } })).statusCode, 401);
      await login(t.app, me.email, 'a whole new password');
    });
  });

  describe('DELETE /v1/users/{id}', () => {
    it('forbids deleting another user', async () => {
      const res = await t.app.inject({ method: 'DELETE', url: `/v1/users/${bob.id}`, headers: ada.auth });
      assert.equal(res.statusCode, 403);
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/users/${bob.id}`, headers: bob.auth })).statusCode, 200);
    });

    it('deletes itself: 204, then its tokens, keys and login stop working and the email is free again', async () => {
      const me = await signUp(t.app);
      const key = (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: me.auth, payload: { name: 'k', scopes: ['users:read'] } })).json().data;
      const res = await t.app.inject({ method: 'DELETE', url: `/v1/users/${me.id}`, headers: me.auth });
      assert.equal(res.statusCode, 204);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: me.auth })).statusCode, 401);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': key.secret } })).statusCode, 401);
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: me.refreshToken } })).statusCode, 401);
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: me.email, password: PASSWORD } })).statusCode, 401);
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/users/${me.id}`, headers: admin.auth })).statusCode, 404);
      const again = await t.app.inject({ method: 'POST', url: '/v1/users', payload: { email: me.email, name: 'Reborn', password: PASSWORD } });
      assert.equal(again.statusCode, 201);
    });

    it('lets an admin delete anyone', async () => {
      const target = await signUp(t.app);
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/users/${target.id}`, headers: admin.auth })).statusCode, 204);
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/users/${target.id}`, headers: admin.auth })).statusCode, 404);
    });
  });

  describe('suspended accounts', () => {
    it('cannot sign in or use existing tokens', async () => {
      const target = await signUp(t.app);
      await t.app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: admin.auth, payload: { status: 'suspended' } });
      const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: target.auth });
      assert.equal(me.statusCode, 401);
      assert.equal(problemOf(me).code, 'ACCOUNT_SUSPENDED');
      const signIn = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: target.email, password: PASSWORD } });
      assert.equal(signIn.statusCode, 401);
      assert.equal(problemOf(signIn).code, 'ACCOUNT_SUSPENDED');
    });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VERIFICATION_TOKEN_TTL_MS } from '../src/domain/users/index.ts';
import { createTestApp, login, PASSWORD, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

type Event = { type: string; resource_type: string; data: { user_id: string; email: string; token: string; expires_at: string } };

describe('POST /v2/users/{id}/verify-email', () => {
  let t: TestApp;
  let admin: SignedUp;
  before(async () => {
    t = await createTestApp();
    admin = await signUpAdmin(t);
  });
  after(() => t.close());

  const requestToken = (who: SignedUp, id = who.id, version = 'v2') => t.app.inject({ method: 'POST', url: `/${version}/users/${id}/verify-email`, headers: who.auth });
  const present = (who: SignedUp, token: string, id = who.id) =>
    t.app.inject({ method: 'POST', url: `/v2/users/${id}/verify-email`, headers: who.auth, payload: { token } });
  const verificationEvents = async (who: SignedUp) => {
    const res = await t.app.inject({ method: 'GET', url: '/v2/events?type=user.verification_requested&limit=100', headers: who.auth });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().data as Event[];
  };
  /** Requests a token and reads it where a mailer would: the user's own events. */
  const issue = async (who: SignedUp): Promise<string> => {
    const res = await requestToken(who);
    assert.equal(res.statusCode, 202, res.body);
    const events = (await verificationEvents(who)).filter((e) => e.data.user_id === who.id);
    return events.at(-1)!.data.token;
  };
  const verifiedAt = async (who: SignedUp) => (await t.app.inject({ method: 'GET', url: `/v2/users/${who.id}`, headers: who.auth })).json().data.email_verified_at;

  it('issues a token (202, expiry 24 h) delivered in a user.verification_requested event; the token sets email_verified_at', async () => {
    const ada = await signUp(t.app);
    assert.equal(await verifiedAt(ada), null);
    const asked = t.clock.now().getTime();
    const res = await requestToken(ada);
    assert.equal(res.statusCode, 202, res.body);
    const body = res.json().data;
    const ttl = new Date(body.expires_at).getTime() - asked;
    assert.ok(ttl >= VERIFICATION_TOKEN_TTL_MS && ttl < VERIFICATION_TOKEN_TTL_MS + 60_000, String(ttl));
    assert.ok(!res.body.includes('vrf_'), 'the answer never carries the token');

    const [event] = await verificationEvents(ada);
    assert.ok(event);
    assert.equal(event.resource_type, 'email_verification');
    assert.equal(event.data.email, ada.email);
    assert.equal(event.data.expires_at, body.expires_at);
    assert.match(event.data.token, /^vrf_[A-Za-z0-9_-]{43}$/);

    const verified = await present(ada, event.data.token);
    assert.equal(verified.statusCode, 200, verified.body);
    assert.equal(verified.json().data.id, ada.id);
    assert.ok(Math.abs(Date.parse(verified.json().data.email_verified_at) - t.clock.now().getTime()) < 60_000);
    assert.equal(await verifiedAt(ada), verified.json().data.email_verified_at);

    const again = await requestToken(ada);
    assert.equal(again.statusCode, 409, 'an address already verified');
    assert.equal(problemOf(again).code, 'CONFLICT');
  });

  it('stores only the token’s SHA-256', async () => {
    const ada = await signUp(t.app);
    const token = await issue(ada);
    const rows = await t.container.database.db.selectFrom('email_verifications').selectAll().where('user_id', '=', ada.id).execute();
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(token));
    assert.match(rows[0]!.token_hash, /^[0-9a-f]{64}$/);
  });

  it('refuses a wrong token, a used one and a replaced one with 422 VALIDATION_FAILED on field token', async () => {
    const ada = await signUp(t.app);
    const first = await issue(ada);
    const second = await issue(ada);
    for (const wrong of [first, `vrf_${'A'.repeat(43)}`, 'not a token']) {
      const res = await present(ada, wrong);
      assert.equal(res.statusCode, 422, wrong);
      const problem = problemOf(res);
      assert.equal(problem.code, 'VALIDATION_FAILED');
      assert.deepEqual((problem.errors as { field: string; code: string }[]).map((e) => [e.field, e.code]), [['token', 'invalid_value']]);
    }
    assert.equal(await verifiedAt(ada), null);
    assert.equal((await present(ada, second)).statusCode, 200);
    const reused = await present(ada, second);
    assert.equal(reused.statusCode, 422, 'single use');
    assert.equal(problemOf(reused).code, 'VALIDATION_FAILED');
  });

  it('refuses a token issued for the address before an email change, and a change makes the user unverified again', async () => {
    const ada = await signUp(t.app);
    const stale = await issue(ada);
    const changed = await t.app.inject({ method: 'PATCH', url: `/v2/users/${ada.id}`, headers: ada.auth, payload: { email: `new.${ada.email}` } });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal((await present(ada, stale)).statusCode, 422);
    assert.equal((await present(ada, await issue(ada))).statusCode, 200);
    const again = await t.app.inject({ method: 'PATCH', url: `/v2/users/${ada.id}`, headers: ada.auth, payload: { email: `other.${ada.email}` } });
    assert.equal(again.json().data.email_verified_at, null);
  });

  it('lets only the user itself request or use a token: others (admins too) 403, unknown users 404', async () => {
    const ada = await signUp(t.app);
    const bob = await signUp(t.app);
    const token = await issue(ada);
    for (const who of [bob, admin]) {
      const asked = await requestToken(who, ada.id);
      assert.equal(asked.statusCode, 403);
      assert.equal(problemOf(asked).code, 'FORBIDDEN');
      const used = await present(who, token, ada.id);
      assert.equal(used.statusCode, 403);
    }
    assert.equal((await requestToken(ada, 'usr_00000000000000000000000000')).statusCode, 404);
    assert.equal(await verifiedAt(ada), null);
    const key = await t.app.inject({ method: 'POST', url: '/v2/api-keys', headers: ada.auth, payload: { name: 'read only', scopes: ['users:read'] } });
    const byKey = await t.app.inject({ method: 'POST', url: `/v2/users/${ada.id}/verify-email`, headers: { 'x-api-key': key.json().data.secret } });
    assert.equal(byKey.statusCode, 403);
    assert.equal(problemOf(byKey).code, 'INSUFFICIENT_SCOPE');
  });

  it('shows the event to that user alone: not to other users, not in administrators’ feeds', async () => {
    const ada = await signUp(t.app);
    const bob = await signUp(t.app);
    const token = await issue(ada);
    assert.equal((await verificationEvents(ada)).length, 1);
    assert.equal((await verificationEvents(bob)).length, 0);
    for (const query of ['type=user.verification_requested', 'type=user.*', 'type=*', 'limit=100&sort=-sequence']) {
      const res = await t.app.inject({ method: 'GET', url: `/v2/events?${query}`, headers: admin.auth });
      assert.equal(res.statusCode, 200);
      assert.ok(!res.body.includes(token), query);
    }
    const adminsAll = await t.app.inject({ method: 'GET', url: '/v2/events?type=user.created&limit=100', headers: admin.auth });
    assert.ok(adminsAll.body.includes(ada.id), 'administrators still see the other events');
  });

  it('is in the OpenAPI documents of v1 and v2 with both outcomes', async () => {
    for (const version of ['v1', 'v2']) {
      const doc = (await t.app.inject({ method: 'GET', url: `/${version}/openapi.json` })).json();
      const operation = doc.paths[`/${version}/users/{id}/verify-email`]?.post;
      assert.ok(operation, version);
      assert.equal(operation.operationId, 'verifyEmail');
      assert.ok(operation.responses['200'] && operation.responses['202'] && operation.responses['422']);
      assert.equal(operation.requestBody.required, false, 'no body asks for a token');
      assert.equal(operation['x-optional-body'], undefined);
    }
    const ada = await signUp(t.app);
    assert.equal((await requestToken(ada, ada.id, 'v1')).statusCode, 202);
  });

  it('refuses an expired token', async () => {
    const ada = await signUp(t.app);
    const token = await issue(ada);
    t.clock.advance(VERIFICATION_TOKEN_TTL_MS);
    // Access tokens expired too: sign in again (this test runs last for that reason).
    const again = { ...ada, auth: { authorization: `Bearer ${(await login(t.app, ada.email, PASSWORD)).accessToken}` } };
    const res = await present(again, token);
    assert.equal(res.statusCode, 422);
    assert.equal(problemOf(res).code, 'VALIDATION_FAILED');
    assert.equal(await verifiedAt(again), null);
  });
});

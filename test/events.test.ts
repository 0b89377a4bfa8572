import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

type Event = { id: string; sequence: number; type: string; resource_id: string; data: Record<string, unknown> };

describe('GET /v1/events', () => {
  let t: TestApp;
  let ada: SignedUp;
  let bob: SignedUp;
  before(async () => {
    t = await createTestApp();
    ada = await signUp(t.app, { name: 'Ada' });
    bob = await signUp(t.app, { name: 'Bob' });
  });
  after(() => t.close());

  const events = async (who: SignedUp | { 'x-api-key': string }, query = '') => {
    const headers = 'auth' in who ? who.auth : who;
    const res = await t.app.inject({ method: 'GET', url: `/v1/events?limit=100${query}`, headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().data as Event[];
  };

  it('records changes with a type, the resource id and a snapshot, oldest first with increasing sequences', async () => {
    const post = (await t.app.inject({ method: 'POST', url: '/v1/posts', headers: ada.auth, payload: { title: 'Evented', content: 'c' } })).json().data;
    await t.app.inject({ method: 'POST', url: `/v1/posts/${post.id}/comments`, headers: bob.auth, payload: { content: 'hi' } });
    const seen = await events(ada);
    const sequences = seen.map((e) => e.sequence);
    assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b));
    assert.equal(new Set(sequences).size, sequences.length);
    const created = seen.find((e) => e.type === 'post.created' && e.resource_id === post.id)!;
    assert.equal(created.data.title, 'Evented');
    assert.match(created.id, /^evt_/);
    assert.ok(seen.find((e) => e.type === 'comment.created' && e.data.post_id === post.id));
    assert.ok(seen.find((e) => e.type === 'user.created' && e.resource_id === ada.id), 'its own sign-up');
  });

  it('shows each user only the events it may see; admins see all', async () => {
    const bobs = await events(bob);
    assert.ok(!bobs.some((e) => e.type === 'user.created' && e.resource_id === ada.id), 'another user’s sign-up is private');
    const admin = await signUpAdmin(t);
    const all = await events(admin, '&type=user.created');
    assert.ok(all.some((e) => e.resource_id === ada.id) && all.some((e) => e.resource_id === bob.id));
  });

  it('filters by exact type and by family pattern', async () => {
    const only = await events(ada, '&type=comment.created');
    assert.ok(only.length > 0 && only.every((e) => e.type === 'comment.created'));
    const family = await events(ada, '&type=post.*,user.created');
    assert.ok(family.every((e) => e.type.startsWith('post.') || e.type === 'user.created'));
    for (const bad of ['order.', '*.*', "post.created' OR 1=1", 'POST.CREATED', 'a.b.c']) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/events?type=${encodeURIComponent(bad)}`, headers: ada.auth });
      assert.equal(res.statusCode, 400, bad);
      assert.equal(problemOf(res).code, 'INVALID_PARAMETER');
    }
  });

  it('an API key sees only the event families its scopes cover', async () => {
    const key = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: ada.auth, payload: { name: 'posts only', scopes: ['posts:read'] } });
    const seen = await events({ 'x-api-key': key.json().data.secret });
    assert.ok(seen.length > 0);
    assert.ok(seen.every((e) => e.type.startsWith('post.') || e.type.startsWith('comment.')), seen.map((e) => e.type).join());
  });

  it('pages with the list contract and never repeats an event', async () => {
    for (let i = 0; i < 12; i++) await t.app.inject({ method: 'POST', url: '/v1/posts', headers: bob.auth, payload: { title: `p${i}`, content: 'c' } });
    const ids: string[] = [];
    let url = '/v1/events?limit=5';
    for (let guard = 0; guard < 50; guard++) {
      const res = await t.app.inject({ method: 'GET', url, headers: bob.auth });
      ids.push(...res.json().data.map((e: Event) => e.id));
      const next = res.json().pagination.next_cursor;
      if (!next) break;
      url = `/v1/events?limit=5&cursor=${encodeURIComponent(next)}`;
    }
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(ids, (await events(bob)).map((e) => e.id));
    const desc = await events(bob, '&sort=-sequence');
    assert.deepEqual(desc.map((e) => e.id), [...ids].reverse());
  });

  it('rolls the event back with the change: a failed sign-up leaves no user.created', async () => {
    const admin = await signUpAdmin(t);
    const before = (await events(admin, '&type=user.created')).length;
    const dup = await t.app.inject({ method: 'POST', url: '/v1/users', payload: { email: ada.email.toUpperCase(), name: 'Dup', password: 'long enough pw' } });
    assert.equal(dup.statusCode, 409);
    assert.equal((await events(admin, '&type=user.created')).length, before);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

describe('follows and the feed', () => {
  let t: TestApp;
  let ada: SignedUp;
  let bob: SignedUp;
  let cy: SignedUp;
  before(async () => {
    t = await createTestApp();
    [ada, bob, cy] = [await signUp(t.app, { name: 'Ada' }), await signUp(t.app, { name: 'Bob' }), await signUp(t.app, { name: 'Cy' })];
  });
  after(() => t.close());

  const follow = (who: SignedUp, id: string, method: 'PUT' | 'DELETE' = 'PUT') => t.app.inject({ method, url: `/v1/users/${id}/followers/me`, headers: who.auth });
  const names = (res: { json(): { data: Array<{ name: string }> } }) => res.json().data.map((u) => u.name);

  describe('PUT /v1/users/{id}/followers/me', () => {
    it('follows: 204, repeatable, and the lists show both sides', async () => {
      assert.equal((await follow(ada, bob.id)).statusCode, 204);
      assert.equal((await follow(ada, bob.id)).statusCode, 204);
      assert.equal((await follow(cy, bob.id)).statusCode, 204);
      const followers = await t.app.inject({ method: 'GET', url: `/v1/users/${bob.id}/followers`, headers: ada.auth });
      assert.equal(followers.statusCode, 200);
      assert.deepEqual(names(followers), ['Cy', 'Ada'], 'newest follow first, each once');
      assert.ok(followers.json().data[0].followed_at);
      assert.equal(followers.json().data[0].email, undefined, 'other users appear as public profiles');
      const following = await t.app.inject({ method: 'GET', url: `/v1/users/${ada.id}/following`, headers: bob.auth });
      assert.deepEqual(names(following), ['Bob']);
    });

    it('answers 422 for following yourself and 404 for an unknown user', async () => {
      const self = await follow(ada, ada.id);
      assert.equal(self.statusCode, 422);
      assert.equal((problemOf(self).errors as Array<{ code: string }>)[0]!.code, 'cannot_follow_self');
      assert.equal((await follow(ada, 'usr_00000000000000000000000000')).statusCode, 404);
    });

    it('records one follow.created event, visible to both people and not to a third', async () => {
      const dee = await signUp(t.app, { name: 'Dee' });
      await follow(dee, cy.id);
      await follow(dee, cy.id);
      const seen = async (who: SignedUp) =>
        (await t.app.inject({ method: 'GET', url: '/v1/events?type=follow.created&limit=100', headers: who.auth })).json().data.filter((e: { data: { follower_id: string } }) => e.data.follower_id === dee.id);
      assert.equal((await seen(dee)).length, 1);
      assert.equal((await seen(cy)).length, 1);
      assert.equal((await seen(bob)).length, 0);
    });

    it('DELETE unfollows: 204, repeatable', async () => {
      assert.equal((await follow(cy, bob.id, 'DELETE')).statusCode, 204);
      assert.equal((await follow(cy, bob.id, 'DELETE')).statusCode, 204);
      const followers = await t.app.inject({ method: 'GET', url: `/v1/users/${bob.id}/followers`, headers: ada.auth });
      assert.deepEqual(names(followers), ['Ada']);
    });
  });

  describe('GET /v1/feed', () => {
    it('lists posts by the people the caller follows, newest first, cursor-paginated', async () => {
      const eve = await signUp(t.app, { name: 'Eve' });
      const fay = await signUp(t.app, { name: 'Fay' });
      const stranger = await signUp(t.app, { name: 'Stranger' });
      await follow(eve, fay.id);
      for (let i = 0; i < 5; i++) {
        await t.app.inject({ method: 'POST', url: '/v1/posts', headers: fay.auth, payload: { title: `fay ${i}`, content: 'c' } });
        await t.app.inject({ method: 'POST', url: '/v1/posts', headers: stranger.auth, payload: { title: `stranger ${i}`, content: 'c' } });
      }
      const titles: string[] = [];
      let url = '/v1/feed?limit=2&include=author';
      for (let guard = 0; guard < 10; guard++) {
        const res = await t.app.inject({ method: 'GET', url, headers: eve.auth });
        assert.equal(res.statusCode, 200);
        titles.push(...res.json().data.map((p: { title: string; author: { name: string } }) => (assert.equal(p.author.name, 'Fay'), p.title)));
        const next = res.json().pagination.next_cursor;
        if (!next) break;
        url = `/v1/feed?limit=2&include=author&cursor=${encodeURIComponent(next)}`;
      }
      assert.deepEqual(titles, ['fay 4', 'fay 3', 'fay 2', 'fay 1', 'fay 0']);
      const empty = await t.app.inject({ method: 'GET', url: '/v1/feed', headers: stranger.auth });
      assert.deepEqual(empty.json().data, []);
      assert.equal(empty.json().pagination.has_more, false);
    });

    it('is cursor-only: page and per_page are no parameters of it (400)', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/feed?page=2', headers: ada.auth });
      assert.equal(res.statusCode, 400);
      assert.equal(problemOf(res).code, 'UNKNOWN_PARAMETER');
    });
  });

  describe('GET /v1/users', () => {
    it('lists public profiles for users and full records for admins; only admins filter by role, status, plan', async () => {
      const admin = await signUpAdmin(t);
      const asUser = await t.app.inject({ method: 'GET', url: '/v1/users?limit=100', headers: ada.auth });
      assert.equal(asUser.statusCode, 200);
      const others = asUser.json().data.filter((u: { id: string }) => u.id !== ada.id);
      assert.ok(others.length > 0 && others.every((u: Record<string, unknown>) => u.email === undefined && u.role === undefined));
      assert.ok(asUser.json().data.find((u: { id: string }) => u.id === ada.id).email, 'the caller sees its own full record');
      const filtered = await t.app.inject({ method: 'GET', url: '/v1/users?role=admin', headers: ada.auth });
      assert.equal(filtered.statusCode, 403);
      const admins = await t.app.inject({ method: 'GET', url: '/v1/users?role=admin&status=active&plan=free,pro', headers: admin.auth });
      assert.equal(admins.statusCode, 200);
      assert.ok(admins.json().data.length >= 1 && admins.json().data.every((u: { role: string }) => u.role === 'admin'));
      const bad = await t.app.inject({ method: 'GET', url: '/v1/users?role=root', headers: admin.auth });
      assert.equal(bad.statusCode, 400);
      assert.equal((problemOf(bad).errors as Array<{ field: string }>)[0]!.field, 'role');
    });
  });
});

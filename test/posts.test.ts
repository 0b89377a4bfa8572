import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

describe('posts and comments', () => {
  let t: TestApp;
  let ada: SignedUp;
  let bob: SignedUp;
  before(async () => {
    t = await createTestApp();
    ada = await signUp(t.app, { name: 'Ada' });
    bob = await signUp(t.app, { name: 'Bob' });
  });
  after(() => t.close());

  const createPost = async (who: SignedUp, title = 'A title', content = 'Some content') => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/posts', headers: who.auth, payload: { title, content } });
    assert.equal(res.statusCode, 201, res.body);
    return res;
  };

  describe('POST /v1/posts', () => {
    it('creates a post: 201, Location, ETag and the author set from the caller', async () => {
      const res = await createPost(ada, 'Hello', 'World');
      const post = res.json().data;
      assert.match(post.id, /^pst_[0-9a-z]{26}$/);
      assert.equal(res.headers.location, `/v1/posts/${post.id}`);
      assert.equal(post.author_id, ada.id);
      assert.equal(post.likes, 0);
      assert.deepEqual(Object.keys(post.links).sort(), ['author', 'comments', 'self']);
      const got = await t.app.inject({ method: 'GET', url: res.headers.location as string, headers: bob.auth });
      assert.equal(got.statusCode, 200);
      assert.equal(got.json().data.title, 'Hello');
    });

    it('answers 422 naming every failing field, and creates nothing', async () => {
      const before = await t.app.inject({ method: 'GET', url: `/v1/posts?author_id=${bob.id}&per_page=1`, headers: bob.auth });
      const res = await t.app.inject({ method: 'POST', url: '/v1/posts', headers: bob.auth, payload: { title: '', content: 'x'.repeat(20_001), extra: 1 } });
      assert.equal(res.statusCode, 422);
      const fields = problemOf(res).errors as Array<{ field: string }>;
      assert.deepEqual([...new Set(fields.map((e) => e.field))].sort(), ['content', 'extra', 'title']);
      const after = await t.app.inject({ method: 'GET', url: `/v1/posts?author_id=${bob.id}&per_page=1`, headers: bob.auth });
      assert.equal(after.json().pagination.total, before.json().pagination.total);
    });

    it('refuses NUL characters in bodies and URLs with a 400, never a 5xx', async () => {
      const body = await t.app.inject({ method: 'POST', url: '/v1/posts', headers: bob.auth, payload: { title: 'a\u0000b', content: 'ok' } });
      assert.equal(body.statusCode, 400);
      assert.match(problemOf(body).detail, /NUL/);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/posts/pst_%00', headers: bob.auth })).statusCode, 400);
    });

    it('rejects a blank title that passes the length check', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/posts', headers: bob.auth, payload: { title: '   ', content: 'ok' } });
      assert.equal(res.statusCode, 422);
    });

    it('needs authentication and, for an API key, the posts:write scope', async () => {
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/posts', payload: { title: 'a', content: 'b' } })).statusCode, 401);
      const key = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: ada.auth, payload: { name: 'read only', scopes: ['posts:read'] } });
      const secret = key.json().data.secret;
      const res = await t.app.inject({ method: 'POST', url: '/v1/posts', headers: { 'x-api-key': secret }, payload: { title: 'a', content: 'b' } });
      assert.equal(res.statusCode, 403);
      assert.equal(problemOf(res).code, 'INSUFFICIENT_SCOPE');
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/posts', headers: { 'x-api-key': secret } })).statusCode, 200);
    });
  });

  describe('PATCH and DELETE /v1/posts/{id}', () => {
    it('lets the author edit, and refuses anyone else with 403', async () => {
      const post = (await createPost(ada)).json().data;
      const denied = await t.app.inject({ method: 'PATCH', url: `/v1/posts/${post.id}`, headers: bob.auth, payload: { title: 'hijack' } });
      assert.equal(denied.statusCode, 403);
      const ok = await t.app.inject({ method: 'PATCH', url: `/v1/posts/${post.id}`, headers: ada.auth, payload: { title: 'Edited' } });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.json().data.title, 'Edited');
      assert.equal(ok.json().data.content, post.content);
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: bob.auth })).json().data.title, 'Edited');
    });

    it('lets an admin delete anyone’s post; a deleted post is 404', async () => {
      const admin = await signUpAdmin(t);
      const post = (await createPost(bob)).json().data;
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/posts/${post.id}`, headers: ada.auth })).statusCode, 403);
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/posts/${post.id}`, headers: admin.auth })).statusCode, 204);
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: bob.auth })).statusCode, 404);
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/posts/${post.id}`, headers: admin.auth })).statusCode, 404);
    });

    it('answers 404 for an unknown id, including ids full of SQL', async () => {
      for (const id of ['pst_00000000000000000000000000', "1' OR '1'='1", 'x'.repeat(64)]) {
        const res = await t.app.inject({ method: 'GET', url: `/v1/posts/${encodeURIComponent(id)}`, headers: ada.auth });
        assert.equal(res.statusCode, 404, id);
      }
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/posts/${'x'.repeat(65)}`, headers: ada.auth })).statusCode, 400);
    });
  });

  describe('conditional requests', () => {
    it('GET carries a strong ETag and Last-Modified; If-None-Match and If-Modified-Since answer 304 with the same headers', async () => {
      const post = (await createPost(ada)).json().data;
      const res = await t.app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: ada.auth });
      const etag = res.headers.etag as string;
      assert.match(etag, /^"[^"]+"$/);
      assert.ok(res.headers['last-modified']);
      const again = await t.app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: { ...ada.auth, 'if-none-match': etag } });
      assert.equal(again.statusCode, 304);
      assert.equal(again.body, '');
      assert.equal(again.headers.etag, etag);
      assert.equal(again.headers['cache-control'], res.headers['cache-control']);
      const since = await t.app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: { ...ada.auth, 'if-modified-since': res.headers['last-modified'] as string } });
      assert.equal(since.statusCode, 304);
      const stale = await t.app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: { ...ada.auth, 'if-none-match': '"nope"' } });
      assert.equal(stale.statusCode, 200);
    });

    it('If-Match: the current ETag wins, a stale one is 412 and changes nothing, * matches any', async () => {
      const created = await createPost(ada);
      const post = created.json().data;
      const etag = created.headers.etag as string;
      const first = await t.app.inject({ method: 'PATCH', url: `/v1/posts/${post.id}`, headers: { ...ada.auth, 'if-match': etag }, payload: { title: 'v2' } });
      assert.equal(first.statusCode, 200);
      assert.notEqual(first.headers.etag, etag);
      const second = await t.app.inject({ method: 'PATCH', url: `/v1/posts/${post.id}`, headers: { ...ada.auth, 'if-match': etag }, payload: { title: 'lost update' } });
      assert.equal(second.statusCode, 412);
      assert.equal(problemOf(second).code, 'PRECONDITION_FAILED');
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: ada.auth })).json().data.title, 'v2');
      const weak = await t.app.inject({ method: 'DELETE', url: `/v1/posts/${post.id}`, headers: { ...ada.auth, 'if-match': `W/${first.headers.etag}` } });
      assert.equal(weak.statusCode, 412, 'If-Match uses the strong comparison');
      const star = await t.app.inject({ method: 'PATCH', url: `/v1/posts/${post.id}`, headers: { ...ada.auth, 'if-match': '*' }, payload: { title: 'v3' } });
      assert.equal(star.statusCode, 200);
    });

    it('concurrent PATCHes with the same If-Match: exactly one wins', async () => {
      const created = await createPost(ada);
      const id = created.json().data.id;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          t.app.inject({ method: 'PATCH', url: `/v1/posts/${id}`, headers: { ...ada.auth, 'if-match': created.headers.etag as string }, payload: { title: `writer ${i}` } }),
        ),
      );
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 412, 412, 412, 412, 412, 412, 412]);
    });

    it('with STOA_REQUIRE_IF_MATCH=true, updates without If-Match are 428', async () => {
      const strict = await createTestApp({ STOA_REQUIRE_IF_MATCH: 'true' });
      try {
        const me = await signUp(strict.app);
        const created = await strict.app.inject({ method: 'POST', url: '/v1/posts', headers: me.auth, payload: { title: 't', content: 'c' } });
        const url = `/v1/posts/${created.json().data.id}`;
        const res = await strict.app.inject({ method: 'PATCH', url, headers: me.auth, payload: { title: 'no precondition' } });
        assert.equal(res.statusCode, 428);
        assert.equal(problemOf(res).code, 'PRECONDITION_REQUIRED');
        assert.equal((await strict.app.inject({ method: 'DELETE', url, headers: me.auth })).statusCode, 428);
        const user = await strict.app.inject({ method: 'PATCH', url: `/v1/users/${me.id}`, headers: me.auth, payload: { name: 'x' } });
        assert.equal(user.statusCode, 428);
        const ok = await strict.app.inject({ method: 'PATCH', url, headers: { ...me.auth, 'if-match': created.headers.etag as string }, payload: { title: 'ok' } });
        assert.equal(ok.statusCode, 200);
      } finally {
        await strict.close();
      }
    });
  });

  describe('comments', () => {
    it('adds comments, lists them oldest first, and authors alone edit theirs', async () => {
      const post = (await createPost(ada)).json().data;
      const c1 = await t.app.inject({ method: 'POST', url: `/v1/posts/${post.id}/comments`, headers: bob.auth, payload: { content: 'first' } });
      assert.equal(c1.statusCode, 201);
      assert.equal(c1.headers.location, `/v1/comments/${c1.json().data.id}`);
      await t.app.inject({ method: 'POST', url: `/v1/posts/${post.id}/comments`, headers: ada.auth, payload: { content: 'second' } });
      const list = await t.app.inject({ method: 'GET', url: `/v1/posts/${post.id}/comments?include=author`, headers: ada.auth });
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.json().data.map((c: { content: string }) => c.content), ['first', 'second']);
      assert.equal(list.json().data[0].author.name, 'Bob');
      assert.equal(list.json().data[0].author.email, undefined, 'another user’s email never leaks through an include');
      const id = c1.json().data.id;
      assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/comments/${id}`, headers: ada.auth, payload: { content: 'edited by ada' } })).statusCode, 403);
      const edited = await t.app.inject({ method: 'PATCH', url: `/v1/comments/${id}`, headers: bob.auth, payload: { content: 'edited' } });
      assert.equal(edited.json().data.content, 'edited');
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/comments/${id}`, headers: bob.auth })).statusCode, 204);
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/comments/${id}`, headers: bob.auth })).statusCode, 404);
    });

    it('answers 404 for comments on a missing post and 422 for empty content', async () => {
      const missing = await t.app.inject({ method: 'POST', url: '/v1/posts/pst_00000000000000000000000000/comments', headers: bob.auth, payload: { content: 'x' } });
      assert.equal(missing.statusCode, 404);
      const post = (await createPost(ada)).json().data;
      const empty = await t.app.inject({ method: 'POST', url: `/v1/posts/${post.id}/comments`, headers: bob.auth, payload: { content: '' } });
      assert.equal(empty.statusCode, 422);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/posts/pst_00000000000000000000000000/comments', headers: bob.auth })).statusCode, 404);
    });
  });

  describe('GET /v2/users/{id}/posts', () => {
    it("lists that user's posts only; an unknown user is 404; it needs users:read (the user lookup) and posts:read", async () => {
      const carol = await signUp(t.app, { name: 'Carol' });
      const mine = (await createPost(carol, 'By Carol')).json().data;
      await createPost(bob, 'By Bob');
      const res = await t.app.inject({ method: 'GET', url: `/v2/users/${carol.id}/posts`, headers: bob.auth });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().data.map((p: { id: string }) => p.id), [mine.id]);

      const unknown = await t.app.inject({ method: 'GET', url: '/v2/users/usr_00000000000000000000000000/posts', headers: bob.auth });
      assert.equal(unknown.statusCode, 404);
      assert.equal(problemOf(unknown).code, 'NOT_FOUND');

      const postsOnly = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bob.auth, payload: { name: 'posts only', scopes: ['posts:read'] } });
      const refused = await t.app.inject({ method: 'GET', url: `/v2/users/${carol.id}/posts`, headers: { 'x-api-key': postsOnly.json().data.secret } });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(problemOf(refused).required_scope, 'users:read');
      const usersOnly = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bob.auth, payload: { name: 'users only', scopes: ['users:read'] } });
      const refusedToo = await t.app.inject({ method: 'GET', url: `/v2/users/${carol.id}/posts`, headers: { 'x-api-key': usersOnly.json().data.secret } });
      assert.equal(problemOf(refusedToo).required_scope, 'posts:read');
      const both = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bob.auth, payload: { name: 'reader', scopes: ['users:read', 'posts:read'] } });
      const byKey = await t.app.inject({ method: 'GET', url: `/v2/users/${carol.id}/posts`, headers: { 'x-api-key': both.json().data.secret } });
      assert.equal(byKey.statusCode, 200, byKey.body);
    });
  });
});

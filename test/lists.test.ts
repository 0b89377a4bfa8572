import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, problemOf, signUp, type SignedUp, type TestApp } from './helpers/app.ts';

type Post = { id: string; title: string; likes: number; created_at: string };

describe('the list contract (on /v1/posts, /v1/users, /v1/events)', () => {
  let t: TestApp;
  let ada: SignedUp;
  let bob: SignedUp;
  const TOTAL = 45;
  before(async () => {
    t = await createTestApp();
    ada = await signUp(t.app, { name: 'Ada' });
    bob = await signUp(t.app, { name: 'Bob' });
    for (let i = 0; i < TOTAL; i++) {
      const who = i % 3 === 0 ? bob : ada;
      // Repeated titles exercise the id tie-breaker.
      await t.app.inject({ method: 'POST', url: '/v1/posts', headers: who.auth, payload: { title: `title ${i % 7}`, content: i % 5 === 0 ? 'the quick brown fox' : 'lorem ipsum' } });
    }
  });
  after(() => t.close());

  const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers: { ...ada.auth, ...headers } });

  async function walk(base: string): Promise<Post[]> {
    const seen: Post[] = [];
    let url = base;
    for (let guard = 0; guard < 100; guard++) {
      const res = await get(url);
      assert.equal(res.statusCode, 200, res.body);
      seen.push(...res.json().data);
      const next = res.json().pagination.next_cursor;
      if (!next) {
        assert.equal(res.json().pagination.has_more, false);
        return seen;
      }
      assert.match(String(res.headers.link), /rel="next"/);
      url = `${base}${base.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(next)}`;
    }
    throw new Error('walk did not end');
  }

  describe('cursor mode (the default)', () => {
    it('answers {data, pagination: {next_cursor, prev_cursor, has_more}} with 20 rows by default', async () => {
      const res = await get('/v1/posts');
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), ['data', 'pagination']);
      assert.equal(body.data.length, 20);
      assert.deepEqual(Object.keys(body.pagination).sort(), ['has_more', 'next_cursor', 'prev_cursor']);
      assert.equal(body.pagination.has_more, true);
      assert.equal(body.pagination.prev_cursor, null);
      const times = body.data.map((p: Post) => p.created_at);
      assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    });

    it('walks every row exactly once, for single and mixed-direction sorts', async () => {
      for (const sort of ['', 'sort=created_at', 'sort=-likes,title', 'sort=title,-created_at']) {
        const rows = await walk(`/v1/posts?limit=7${sort ? '&' + sort : ''}`);
        assert.equal(rows.length, TOTAL, sort);
        assert.equal(new Set(rows.map((r) => r.id)).size, TOTAL, `${sort}: no duplicates`);
      }
      const byTitle = await walk('/v1/posts?limit=6&sort=title,-created_at');
      const keys = byTitle.map((p) => `${p.title}|${p.created_at}`);
      const expected = [...keys].sort((a, b) => (a.split('|')[0]! < b.split('|')[0]! ? -1 : a.split('|')[0]! > b.split('|')[0]! ? 1 : a < b ? 1 : -1));
      assert.deepEqual(keys, expected);
    });

    it('returns every row exactly once while rows are inserted concurrently', async () => {
      const before = await walk('/v1/posts?limit=100&sort=created_at');
      const seen: Post[] = [];
      let url = '/v1/posts?limit=5&sort=created_at';
      let inserted = 0;
      for (let guard = 0; guard < 100; guard++) {
        const res = await get(url);
        seen.push(...res.json().data);
        // Rows land before and after the walk's position while it runs.
        await t.app.inject({ method: 'POST', url: '/v1/posts', headers: bob.auth, payload: { title: `concurrent ${inserted++}`, content: 'x' } });
        const next = res.json().pagination.next_cursor;
        if (!next) break;
        url = `/v1/posts?limit=5&sort=created_at&cursor=${encodeURIComponent(next)}`;
      }
      const ids = seen.map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length, 'no row twice');
      for (const row of before) assert.ok(ids.includes(row.id), 'no pre-existing row skipped');
    });

    it('prev_cursor walks back to the previous page; Link carries next, prev, first and the other parameters', async () => {
      const first = await get('/v1/posts?limit=5&author_id=' + ada.id);
      const second = await get(`/v1/posts?limit=5&author_id=${ada.id}&cursor=${encodeURIComponent(first.json().pagination.next_cursor)}`);
      const link = String(second.headers.link);
      assert.match(link, /rel="next"/);
      assert.match(link, /rel="prev"/);
      assert.match(link, /<\/v1\/posts\?limit=5&author_id=usr_[0-9a-z]+>; rel="first"/);
      for (const rel of ['next', 'prev']) assert.match(link, new RegExp(`<[^>]*author_id=${ada.id}[^>]*>; rel="${rel}"`));
      const back = await get(`/v1/posts?limit=5&author_id=${ada.id}&cursor=${encodeURIComponent(second.json().pagination.prev_cursor)}`);
      assert.deepEqual(back.json().data.map((p: Post) => p.id), first.json().data.map((p: Post) => p.id));
      assert.equal(back.json().pagination.prev_cursor, null, 'nothing before the first page');
    });

    it('refuses tampered, truncated, garbage and mismatched cursors with 400 INVALID_CURSOR', async () => {
      const cursor = (await get('/v1/posts?limit=3')).json().pagination.next_cursor as string;
      const [payload, mac] = cursor.split('.');
      const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      decoded.i = 'pst_00000000000000000000000000';
      const forged = `${Buffer.from(JSON.stringify(decoded)).toString('base64url')}.${mac}`;
      const flipped = cursor.slice(0, 5) + (cursor[5] === 'A' ? 'B' : 'A') + cursor.slice(6);
      const cases = [forged, flipped, cursor.slice(0, -3), cursor.slice(0, 10), 'garbage', `${cursor}.x`, "' OR 1=1 --", '%00', 'a'.repeat(2048)];
      for (const bad of cases) {
        const res = await get(`/v1/posts?limit=3&cursor=${encodeURIComponent(bad)}`);
        assert.equal(res.statusCode, 400, bad);
        assert.equal(problemOf(res).code, 'INVALID_CURSOR', bad);
      }
      for (const other of ['sort=title', `author_id=${ada.id}`, 'q=fox', 'created_after=2020-01-01T00:00:00Z']) {
        const res = await get(`/v1/posts?limit=3&${other}&cursor=${encodeURIComponent(cursor)}`);
        assert.equal(res.statusCode, 400, `a cursor is bound to its query: ${other}`);
        assert.equal(problemOf(res).code, 'INVALID_CURSOR');
      }
      const ok = await get(`/v1/posts?limit=10&cursor=${encodeURIComponent(cursor)}`);
      assert.equal(ok.statusCode, 200, 'limit may change between pages');
      const elsewhere = await get(`/v1/users/${ada.id}/posts?limit=3&cursor=${encodeURIComponent(cursor)}`);
      assert.equal(elsewhere.statusCode, 400, 'a cursor from one collection is refused by another');
    });

    it('binds a cursor to the collection, its parent and its query, not to the URL: it walks the same list in another API version', async () => {
      const v2 = await get('/v2/posts?limit=3&sort=title');
      const cursor = encodeURIComponent(v2.json().pagination.next_cursor);
      const v1 = await get(`/v1/posts?limit=3&sort=title&cursor=${cursor}`);
      assert.equal(v1.statusCode, 200, 'minted on /v2/posts, accepted on /v1/posts');
      const ids = (res: { json(): { data: Post[] } }) => res.json().data.map((p) => p.id);
      assert.deepEqual(ids(v1), ids(await get(`/v2/posts?limit=3&sort=title&cursor=${cursor}`)));
      assert.equal((await get(`/posts?limit=3&sort=title&cursor=${cursor}`)).statusCode, 200, 'and on the unversioned path');
      assert.equal((await get(`/v1/posts?limit=3&cursor=${cursor}`)).statusCode, 400, 'but not with another sort');

      // The v1 sort name `name` is the canonical `display_name`: the same query in both versions.
      const users = await get('/v1/users?limit=1&sort=name');
      const userCursor = encodeURIComponent(users.json().pagination.next_cursor);
      const again = await get(`/v2/users?limit=1&sort=display_name&cursor=${userCursor}`);
      assert.equal(again.statusCode, 200, again.body);
      assert.notEqual(again.json().data[0].id, users.json().data[0].id);

      const adaPosts = (await get(`/v1/users/${ada.id}/posts?limit=2`)).json().pagination.next_cursor as string;
      assert.equal((await get(`/v2/users/${ada.id}/posts?limit=2&cursor=${encodeURIComponent(adaPosts)}`)).statusCode, 200);
      const bobs = await get(`/v1/users/${bob.id}/posts?limit=2&cursor=${encodeURIComponent(adaPosts)}`);
      assert.equal(bobs.statusCode, 400, "a cursor from one user's posts is refused on another's");
      assert.equal(problemOf(bobs).code, 'INVALID_CURSOR');
      const carol = await signUp(t.app, { name: 'Carol' });
      for (const who of [bob, carol]) await t.app.inject({ method: 'PUT', url: `/v1/users/${ada.id}/followers/me`, headers: who.auth });
      const followers = (await get(`/v1/users/${ada.id}/followers?limit=1`)).json().pagination.next_cursor as string;
      assert.equal((await get(`/v1/users/${ada.id}/followers?limit=1&cursor=${encodeURIComponent(followers)}`)).statusCode, 200);
      assert.equal((await get(`/v1/users/${ada.id}/following?limit=1&cursor=${encodeURIComponent(followers)}`)).statusCode, 400, 'followers and following are two collections');
    });
  });

  describe('offset mode', () => {
    it('answers page, per_page, total and total_pages, with first/prev/next/last links carrying the query', async () => {
      const res = await get('/v1/posts?page=2&per_page=10&sort=created_at');
      assert.equal(res.statusCode, 200);
      const { pagination, data } = res.json();
      assert.equal(data.length, 10);
      assert.equal(pagination.page, 2);
      assert.equal(pagination.per_page, 10);
      assert.ok(pagination.total >= TOTAL);
      assert.equal(pagination.total_pages, Math.ceil(pagination.total / 10));
      const link = String(res.headers.link);
      for (const rel of ['first', 'prev', 'next', 'last']) assert.match(link, new RegExp(`<[^>]*sort=created_at[^>]*>; rel="${rel}"`));
      const first = await get('/v1/posts?page=1&per_page=10&sort=created_at');
      const cursorRows = (await get('/v1/posts?limit=20&sort=created_at')).json().data.map((p: Post) => p.id);
      assert.deepEqual([...first.json().data, ...data].map((p: Post) => p.id), cursorRows, 'offset and cursor agree on order');
    });

    it('refuses per_page outside 1–100 and page 0', async () => {
      for (const q of ['per_page=0', 'per_page=101', 'page=0', 'page=-1', 'page=abc', 'page=1&limit=500']) {
        const res = await get(`/v1/posts?${q}`);
        assert.equal(res.statusCode, 400, q);
      }
    });

    // The document cannot say that two query parameters exclude each other, so every combination it allows is answered.
    it('mixing modes: a cursor wins over page; with page, limit is the page size', async () => {
      const paged = await get('/v1/posts?page=2&limit=5');
      assert.equal(paged.statusCode, 200);
      assert.deepEqual([paged.json().pagination.page, paged.json().pagination.per_page], [2, 5]);
      const next = (await get('/v1/posts?limit=5')).json().pagination.next_cursor as string;
      const both = await get(`/v1/posts?limit=5&page=7&cursor=${encodeURIComponent(next)}`);
      assert.equal(both.statusCode, 200);
      assert.deepEqual(both.json().data, (await get(`/v1/posts?limit=5&cursor=${encodeURIComponent(next)}`)).json().data);
      assert.equal((await get('/v1/posts?page=1&cursor=x')).statusCode, 400, 'the cursor is read, and this one is forged');
    });
  });

  describe('parameters', () => {
    it('limit must be an integer from 1 to 100', async () => {
      for (const limit of ['0', '101', '-1', '1.5', 'ten', '']) {
        const res = await get(`/v1/posts?limit=${limit}`);
        assert.equal(res.statusCode, 400, `limit=${limit}`);
        assert.match(problemOf(res).detail, /limit/);
      }
      assert.equal((await get('/v1/posts?limit=1')).json().data.length, 1);
    });

    it('an unknown query parameter is 400 UNKNOWN_PARAMETER naming it', async () => {
      const res = await get('/v1/posts?colour=red');
      assert.equal(res.statusCode, 400);
      const problem = problemOf(res);
      assert.equal(problem.code, 'UNKNOWN_PARAMETER');
      assert.match(problem.detail, /colour/);
    });

    it('an unknown sort field is 400 naming the fields it may sort on; sort on allow-listed fields only', async () => {
      for (const sort of ['password_hash', 'content', '-id;DROP TABLE posts', ',', 'title,', ' created_at']) {
        const res = await get(`/v1/posts?sort=${encodeURIComponent(sort)}`);
        assert.equal(res.statusCode, 400, sort);
        const problem = problemOf(res) as unknown as { code: string; errors: Array<{ field: string; message: string }> };
        assert.equal(problem.code, 'INVALID_PARAMETER');
        assert.equal(problem.errors[0]?.field, 'sort');
        assert.match(problem.errors[0]?.message ?? '', /: .*created_at/, 'the refusal lists what may be sorted on');
      }
      const fields = problemOf(await get('/v1/posts?fields=password_hash')) as unknown as { errors: Array<{ message: string }> };
      assert.match(fields.errors[0]?.message ?? '', /: .*title/, 'and a bad fields= lists the fields');
    });

    it('a malformed filter value is 400 naming the parameter', async () => {
      const res = await get('/v1/posts?created_after=yesterday');
      assert.equal(res.statusCode, 400);
      assert.match(problemOf(res).detail, /created_after/);
      // A reversed range is no error the document could describe: nothing lies in it.
      const range = await get('/v1/posts?created_after=2030-01-01T00:00:00Z&created_before=2020-01-01T00:00:00Z');
      assert.equal(range.statusCode, 200);
      assert.deepEqual(range.json().data, []);
      assert.deepEqual((await get('/v1/posts?sort=created_at,-created_at&limit=100')).json().data, (await get('/v1/posts?sort=created_at&limit=100')).json().data, 'a field sorted twice: the first mention decides');
    });

    it('filters by author and by time range', async () => {
      const rows = await walk(`/v1/posts?limit=100&author_id=${bob.id}`);
      assert.ok(rows.length > 0 && rows.every((p) => (p as unknown as { author_id: string }).author_id === bob.id));
      const all = await walk('/v1/posts?limit=100&sort=created_at');
      const middle = all[Math.floor(all.length / 2)]!;
      const later = await walk(`/v1/posts?limit=100&created_after=${encodeURIComponent(middle.created_at)}`);
      assert.ok(later.length > 0 && later.every((p) => p.created_at > middle.created_at));
    });

    it('q= searches title and content with full-text search', async () => {
      const res = await get('/v1/posts?q=fox&limit=100');
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().data.length, Math.ceil(TOTAL / 5));
      assert.equal((await get('/v1/posts?q=nothingmatchesthis')).json().data.length, 0);
    });

    it('fields=id,title returns only those fields', async () => {
      const res = await get('/v1/posts?fields=id,title&limit=3');
      for (const post of res.json().data) assert.deepEqual(Object.keys(post).sort(), ['id', 'title']);
      const bad = await get('/v1/posts?fields=id,password_hash');
      assert.equal(bad.statusCode, 400);
      // The document's pattern for fields (the names this list has) refuses it, naming the parameter.
      assert.match(problemOf(bad).detail, /fields/);
    });

    it('include=author embeds the author; fields narrow the include; unknown or too-deep includes are 400', async () => {
      const res = await get('/v1/posts?include=author&fields=id,author.name&limit=5');
      assert.equal(res.statusCode, 200);
      for (const post of res.json().data) {
        assert.deepEqual(Object.keys(post).sort(), ['author', 'id']);
        assert.deepEqual(Object.keys(post.author), ['name']);
      }
      const full = await get('/v1/posts?include=author&limit=5');
      assert.ok(full.json().data.every((p: { author: { id: string } }) => p.author.id));
      for (const include of ['comments', 'author.posts', 'author.posts.comments', 'a.b.c', "author'--"]) {
        const bad = await get(`/v1/posts?include=${encodeURIComponent(include)}`);
        assert.equal(bad.statusCode, 400, include);
        assert.equal(problemOf(bad).code, 'INVALID_PARAMETER');
      }
      // A nested field without its include is one the document allows (it cannot tie fields to include): it picks nothing.
      const bare = await get('/v1/posts?fields=id,author.name&limit=2');
      assert.equal(bare.statusCode, 200);
      for (const post of bare.json().data) assert.deepEqual(Object.keys(post), ['id']);
    });

    it('a page of 100 posts with include=author costs at most 3 SQL queries', async () => {
      for (let i = 0; i < 60; i++) {
        const who = [ada, bob][i % 2]!;
        await t.app.inject({ method: 'POST', url: '/v1/posts', headers: who.auth, payload: { title: `bulk ${i}`, content: 'x' } });
      }
      const before = t.queries();
      const res = await get('/v1/posts?limit=100&include=author');
      const used = t.queries() - before;
      assert.equal(res.json().data.length, 100);
      assert.ok(used <= 3, `used ${used} queries`);
    });

    it('SQL metacharacters and very long strings in any parameter never cause a 5xx', async () => {
      const nasty = ["'", '"', "'; DROP TABLE posts; --", '\\', '%', '_', '1 OR 1=1', '$1', '\u0000', 'é😀', 'x'.repeat(5000), '<script>'];
      const params = ['limit', 'cursor', 'page', 'per_page', 'sort', 'fields', 'include', 'q', 'author_id', 'created_after', 'created_before', 'type', 'status', 'role', 'zzz'];
      for (const path of ['/v1/posts', '/v1/users', '/v1/events', '/v1/feed', `/v1/users/${ada.id}/followers`]) {
        for (const param of params) {
          for (const value of nasty) {
            const res = await get(`${path}?${param}=${encodeURIComponent(value)}`);
            assert.ok(res.statusCode < 500, `${path}?${param}=${value.slice(0, 20)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
          }
        }
      }
      assert.equal((await get('/v1/posts?limit=200')).statusCode, 400);
    });
  });

  describe('representations and caching', () => {
    it('Accept: text/csv returns the same rows as CSV with a header row', async () => {
      const json = await get('/v1/posts?limit=5&fields=id,title,likes');
      const csv = await get('/v1/posts?limit=5&fields=id,title,likes', { accept: 'text/csv' });
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      const lines = csv.body.trim().split('\r\n');
      assert.equal(lines[0], 'id,title,likes');
      assert.deepEqual(lines.slice(1), json.json().data.map((p: Post) => `${p.id},${p.title},${p.likes}`));
      assert.match(String(csv.headers.link), /rel="next"/);
    });

    it('an Accept Stoa cannot serve is 406', async () => {
      const res = await get('/v1/posts', { accept: 'application/xml' });
      assert.equal(res.statusCode, 406);
      assert.equal(problemOf(res).code, 'NOT_ACCEPTABLE');
    });

    it('list pages carry an ETag; If-None-Match answers 304 until the page changes', async () => {
      const url = `/v1/posts?author_id=${bob.id}&limit=3`;
      const res = await get(url);
      const etag = res.headers.etag as string;
      assert.match(etag, /^"[^"]+"$/);
      const again = await get(url, { 'if-none-match': etag });
      assert.equal(again.statusCode, 304);
      assert.equal(again.headers.etag, etag);
      await t.app.inject({ method: 'POST', url: '/v1/posts', headers: bob.auth, payload: { title: 'newest', content: 'x' } });
      assert.equal((await get(url, { 'if-none-match': etag })).statusCode, 200);
    });
  });
});

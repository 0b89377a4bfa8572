import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, PASSWORD, problemOf, signUp, signUpAdmin, uniqueEmail, type SignedUp, type TestApp } from './helpers/app.ts';

describe('API versions', () => {
  let t: TestApp;
  let ada: SignedUp;
  before(async () => {
    t = await createTestApp();
    ada = await signUp(t.app, { name: 'Ada' });
  });
  after(() => t.close());

  const me = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers: { ...ada.auth, ...headers } });
  const withKey = (url: string, secret: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers: { 'x-api-key': secret, ...headers } });

  describe('v2 beside v1', () => {
    it('v2 renames the user’s name to display_name; v1 keeps name; both from one handler', async () => {
      const v2 = await me('/v2/me');
      const v1 = await me('/v1/me');
      assert.equal(v2.json().data.display_name, 'Ada');
      assert.equal(v2.json().data.name, undefined);
      assert.equal(v1.json().data.name, 'Ada');
      assert.equal(v1.json().data.display_name, undefined);
      assert.equal(v2.json().data.links.self, `/v2/users/${ada.id}`);
      assert.equal(v1.json().data.links.self, `/v1/users/${ada.id}`);
      assert.equal(v2.headers['stoa-version'], '2');
      assert.equal(v1.headers['stoa-version'], '1');
    });

    it('accepts v1 request bodies with name and v2 bodies with display_name, each refusing the other’s field', async () => {
      const v1 = await t.app.inject({ method: 'POST', url: '/v1/users', payload: { email: uniqueEmail(), name: 'Old Style', password: PASSWORD } });
      assert.equal(v1.statusCode, 201, v1.body);
      assert.equal(v1.json().data.name, 'Old Style');
      assert.match(String(v1.headers.location), /^\/v1\/users\/usr_/);
      const v2 = await t.app.inject({ method: 'POST', url: '/v2/users', payload: { email: uniqueEmail(), display_name: 'New Style', password: PASSWORD } });
      assert.equal(v2.statusCode, 201, v2.body);
      assert.equal(v2.json().data.display_name, 'New Style');
      assert.match(String(v2.headers.location), /^\/v2\/users\/usr_/);
      const wrong = await t.app.inject({ method: 'POST', url: '/v2/users', payload: { email: uniqueEmail(), name: 'x', password: PASSWORD } });
      assert.equal(wrong.statusCode, 422);
      const patched = await t.app.inject({ method: 'PATCH', url: `/v1/users/${ada.id}`, headers: ada.auth, payload: { name: 'Ada L.' } });
      assert.equal(patched.json().data.name, 'Ada L.');
      assert.equal((await me('/v2/me')).json().data.display_name, 'Ada L.');
      const invalid = await t.app.inject({ method: 'PATCH', url: `/v1/users/${ada.id}`, headers: ada.auth, payload: { name: '' } });
      assert.equal(invalid.statusCode, 422);
      assert.deepEqual((problemOf(invalid).errors as Array<{ field: string }>).map((e) => e.field), ['name'], 'v1 problems name v1 fields');
    });

    it('translates sort and fields: v1 name, v2 display_name, and embedded authors', async () => {
      await t.app.inject({ method: 'POST', url: '/v1/posts', headers: ada.auth, payload: { title: 't', content: 'c' } });
      const v1 = await me('/v1/users?sort=name&fields=id,name&limit=5');
      assert.equal(v1.statusCode, 200, v1.body);
      for (const user of v1.json().data) assert.deepEqual(Object.keys(user).sort(), ['id', 'name']);
      const v2 = await me('/v2/users?sort=-display_name&fields=id,display_name');
      assert.equal(v2.statusCode, 200, v2.body);
      assert.equal((await me('/v2/users?sort=name')).statusCode, 400);
      const posts = await me('/v1/posts?include=author&fields=id,author.name');
      assert.ok(posts.json().data.every((p: { author: Record<string, unknown> }) => Object.keys(p.author).join() === 'name'));
      const events = await me('/v1/events?type=user.created');
      assert.ok(events.json().data.every((e: { data: Record<string, unknown> }) => 'name' in e.data && !('display_name' in e.data)));
    });

    it('v1 user collections default to offset pagination; v2 user collections are cursor-only', async () => {
      const v1 = await me('/v1/users');
      assert.deepEqual(Object.keys(v1.json().pagination).sort(), ['has_more', 'page', 'per_page', 'total', 'total_pages']);
      const v1Cursor = await me('/v1/users?limit=2');
      assert.ok('next_cursor' in v1Cursor.json().pagination, 'v1 still pages by cursor when asked');
      const v2 = await me('/v2/users');
      assert.ok('next_cursor' in v2.json().pagination);
      for (const url of ['/v2/users?page=1', '/v2/users?per_page=5', `/v2/users/${ada.id}/followers?page=1`]) {
        const res = await me(url);
        assert.equal(res.statusCode, 400, url);
      }
      const followers = await me(`/v1/users/${ada.id}/followers`);
      assert.ok('total' in followers.json().pagination);
      assert.ok('next_cursor' in (await me('/v1/posts')).json().pagination, 'other collections keep cursor by default in v1');
    });
  });

  describe('unversioned paths', () => {
    it('choose by media type, then Stoa-Version, then version=, then the key’s pin, else the latest', async () => {
      const byMedia = await me('/me', { accept: 'application/vnd.stoa.v1+json', 'stoa-version': '2' });
      assert.equal(byMedia.headers['stoa-version'], '1');
      assert.equal(byMedia.headers['content-type'], 'application/vnd.stoa.v1+json');
      assert.equal(byMedia.json().data.name !== undefined, true);
      const byMedia2 = await me('/me', { accept: 'application/vnd.stoa.v2+json' });
      assert.equal(byMedia2.headers['content-type'], 'application/vnd.stoa.v2+json');
      const byHeader = await me('/me?version=2', { 'stoa-version': '1' });
      assert.equal(byHeader.headers['stoa-version'], '1');
      const byQuery = await me('/me?version=1');
      assert.equal(byQuery.headers['stoa-version'], '1');
      const latest = await me('/me');
      assert.equal(latest.headers['stoa-version'], '2');
      assert.equal(latest.json().data.display_name !== undefined, true);
      const post = await t.app.inject({ method: 'POST', url: '/posts', headers: { ...ada.auth, 'stoa-version': '1' }, payload: { title: 'via unversioned', content: 'c' } });
      assert.equal(post.statusCode, 201);
      assert.match(String(post.headers.location), /^\/v1\/posts\//);
    });

    it('forwards every method and representation: CSV lists, merge-patch bodies, 405 with Allow', async () => {
      const csv = await me('/users?limit=1&fields=id,display_name', { accept: 'text/csv' });
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      assert.match(csv.body, /^id,display_name\r\n/);
      const patch = await t.app.inject({
        method: 'PATCH',
        url: `/users/${ada.id}`,
        headers: { ...ada.auth, 'content-type': 'application/merge-patch+json', 'stoa-version': '1' },
        payload: JSON.stringify({ name: 'Ada L.' }),
      });
      assert.equal(patch.statusCode, 200, patch.body);
      assert.equal(patch.json().data.name, 'Ada L.');
      const wrong = await t.app.inject({ method: 'DELETE', url: '/me', headers: ada.auth });
      assert.equal(wrong.statusCode, 405);
      assert.equal(wrong.headers.allow, 'GET, HEAD');
    });

    it('an unsupported version is 400 by header or parameter and 406 by media type, never another version', async () => {
      const header = await me('/me', { 'stoa-version': '3' });
      assert.equal(header.statusCode, 400);
      assert.ok(header.headers['stoa-version']);
      assert.equal((await me('/me?version=0')).statusCode, 400);
      const media = await me('/me', { accept: 'application/vnd.stoa.v7+json' });
      assert.equal(media.statusCode, 406);
      assert.equal((await me('/v2/me', { accept: 'application/vnd.stoa.v1+json' })).statusCode, 406, 'the media type contradicts the path');
      assert.equal((await me('/v2/me', { accept: 'application/vnd.stoa.v2+json' })).headers['content-type'], 'application/vnd.stoa.v2+json');
    });

    it('an API key pinned to a version (at creation or later with PATCH) is answered in that version', async () => {
      const created = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: ada.auth, payload: { name: 'legacy', scopes: ['users:read'], api_version: '1' } });
      const key = created.json().data;
      assert.equal(key.api_version, '1');
      const pinned = await withKey('/me', key.secret);
      assert.equal(pinned.headers['stoa-version'], '1');
      assert.equal(pinned.json().data.name, 'Ada L.');
      assert.equal((await withKey('/me', key.secret, { 'stoa-version': '2' })).headers['stoa-version'], '2', 'an explicit choice wins over the pin');
      const repin = await t.app.inject({ method: 'PATCH', url: `/v1/api-keys/${key.id}`, headers: ada.auth, payload: { api_version: '2' } });
      assert.equal(repin.statusCode, 200);
      assert.equal(repin.json().data.api_version, '2');
      assert.equal((await withKey('/me', key.secret)).headers['stoa-version'], '2');
      const bad = await t.app.inject({ method: 'PATCH', url: `/v1/api-keys/${key.id}`, headers: ada.auth, payload: { api_version: '5' } });
      assert.equal(bad.statusCode, 422);
      const unpin = await t.app.inject({ method: 'PATCH', url: `/v1/api-keys/${key.id}`, headers: ada.auth, payload: { api_version: null } });
      assert.equal(unpin.json().data.api_version, null);
    });
  });

  describe('deprecation and sunset', () => {
    it('v1 responses carry Deprecation, Sunset and successor/deprecation links; v2 responses do not', async () => {
      const v1 = await me('/v1/me');
      assert.match(String(v1.headers.deprecation), /^@\d+$/);
      assert.equal(v1.headers.deprecation, `@${Math.floor(t.config.v1DeprecatedAt.getTime() / 1000)}`);
      assert.equal(v1.headers.sunset, t.config.v1SunsetAt.toUTCString());
      assert.match(String(v1.headers.link), /<\/v2\/me>; rel="successor-version"/);
      assert.match(String(v1.headers.link), /rel="deprecation"/);
      const list = await me('/v1/posts?limit=1');
      assert.match(String(list.headers.link), /rel="next".*rel="successor-version"/, 'pagination links stay beside them');
      const doc = await t.app.inject({ method: 'GET', url: '/versioning' });
      assert.equal(doc.statusCode, 200);
      assert.match(doc.body, /display_name/);
      const v2 = await me('/v2/me');
      assert.equal(v2.headers.deprecation, undefined);
      assert.equal(v2.headers.sunset, undefined);
    });

    it('after the sunset date every v1 request is 410 API_VERSION_SUNSET linking the successor', async () => {
      const retired = await createTestApp({ STOA_V1_DEPRECATED_AT: '2024-01-01', STOA_V1_SUNSET_AT: '2025-01-01T00:00:00Z' });
      try {
        const user = await signUp(retired.app).catch(() => undefined);
        assert.equal(user, undefined, 'sign-up through v1 is retired too');
        const res = await retired.app.inject({ method: 'GET', url: '/v1/products' });
        assert.equal(res.statusCode, 410);
        const problem = problemOf(res);
        assert.equal(problem.code, 'API_VERSION_SUNSET');
        assert.equal(problem.successor, 'http://localhost:3000/v2/products');
        assert.match(String(res.headers.link), /<\/v2\/products>; rel="successor-version"/);
        assert.equal((await retired.app.inject({ method: 'GET', url: '/v2/products' })).statusCode, 200);
        assert.equal((await retired.app.inject({ method: 'GET', url: '/products', headers: { 'stoa-version': '1' } })).statusCode, 410);
      } finally {
        await retired.close();
      }
    });

    it('refuses a sunset earlier than the deprecation at start', async () => {
      await assert.rejects(createTestApp({ STOA_V1_DEPRECATED_AT: '2027-01-01', STOA_V1_SUNSET_AT: '2026-01-01' }), /STOA_V1_SUNSET_AT/);
    });
  });

  describe('documents and metrics', () => {
    it('serves one OpenAPI document per version; /openapi.json is the latest; v1 operations are deprecated', async () => {
      const v1 = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
      const v2 = (await t.app.inject({ method: 'GET', url: '/v2/openapi.json' })).json();
      const latest = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      assert.deepEqual(Object.keys(latest.paths), Object.keys(v2.paths));
      assert.ok(Object.keys(v1.paths).every((p: string) => !p.startsWith('/v2/')));
      assert.equal(v1.paths['/v1/users'].get.deprecated, true);
      assert.equal(v2.paths['/v2/users'].get.deprecated, undefined);
      const v1Body = JSON.stringify(v1.paths['/v1/users'].post.requestBody);
      assert.match(v1Body, /"name"/);
      assert.doesNotMatch(v1Body, /display_name/);
      assert.match(JSON.stringify(v2.paths['/v2/users'].post.requestBody), /display_name/);
    });

    it('counts usage per version per client', async () => {
      const admin = await signUpAdmin(t);
      await me('/v1/me');
      await me('/v1/me');
      const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      const line = body.split('\n').find((l) => l.startsWith('stoa_api_requests_by_version_total') && l.includes(`client="${ada.id}"`) && l.includes('version="1"'));
      assert.ok(line, 'a v1 counter for the client');
      assert.ok(Number(line!.split(' ').pop()) >= 2);
      void admin;
    });
  });
});

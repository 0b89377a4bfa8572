import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestApp, PASSWORD, signUp, type SignedUp, type TestApp } from './helpers/app.ts';

// The browser session over real HTTP: the refresh token lives only in an HttpOnly cookie (docs/dashboard.md).
interface Answer {
  status: number;
  body: Record<string, unknown> & { data?: Record<string, unknown>; code?: string };
  setCookie: string | undefined;
}

describe('browser sign-in with a refresh cookie', () => {
  let t: TestApp;
  let base: string;
  let user: SignedUp;

  const call = async (path: string, init: { cookie?: string; origin?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.cookie !== undefined) headers.cookie = init.cookie;
    if (init.origin !== undefined) headers.origin = init.origin;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {}, setCookie: res.headers.get('set-cookie') ?? undefined };
  };
  const cookieValue = (setCookie: string | undefined) => /^stoa_refresh=([^;]*)/.exec(setCookie ?? '')?.[1];
  const signIn = async () => {
    const res = await call('/v2/auth/browser/login', { body: { email: user.email, password: PASSWORD }, origin: base });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return { res, cookie: `stoa_refresh=${cookieValue(res.setCookie)}` };
  };
  const accessWorks = async (token: unknown) => (await fetch(`${base}/v2/api-keys`, { headers: { authorization: `Bearer ${String(token)}` } })).status === 200;

  before(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    user = await signUp(t.app);
  });
  after(() => t.close());

  it('signs in with the refresh token only in an HttpOnly, SameSite=Strict cookie scoped to the browser auth routes', async () => {
    const { res } = await signIn();
    assert.equal(typeof res.body.data?.access_token, 'string');
    assert.equal(res.body.data?.token_type, 'Bearer');
    assert.equal('refresh_token' in (res.body.data ?? {}), false);
    const cookie = res.setCookie!;
    assert.match(cookieValue(cookie)!, /^rt_[A-Za-z0-9_-]{43}$/);
    assert.match(cookie, /; HttpOnly/i);
    assert.match(cookie, /; SameSite=Strict/i);
    assert.match(cookie, /; Path=\/v2\/auth\/browser(;|$)/);
    assert.match(cookie, /; Max-Age=\d+/);
    assert.doesNotMatch(cookie, /; Secure/i); // plain HTTP here
    assert.ok(await accessWorks(res.body.data?.access_token));
  });

  it('renews the access token from the cookie (a reload), rotating the cookie; reusing an old one revokes the sign-in', async () => {
    const { cookie } = await signIn();
    const renewed = await call('/v2/auth/browser/refresh', { cookie, origin: base });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.ok(await accessWorks(renewed.body.data?.access_token));
    const next = `stoa_refresh=${cookieValue(renewed.setCookie)}`;
    assert.notEqual(next, cookie);
    // Without Origin (not a browser) it works too: CSRF needs a browser, which always names the origin of a POST.
    const again = await call('/v2/auth/browser/refresh', { cookie: next });
    assert.equal(again.status, 200);
    const newest = `stoa_refresh=${cookieValue(again.setCookie)}`;
    // The first cookie again: theft is assumed, the whole sign-in ends and the cookie is cleared.
    const replay = await call('/v2/auth/browser/refresh', { cookie, origin: base });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, 'INVALID_REFRESH_TOKEN');
    assert.match(replay.setCookie ?? '', /^stoa_refresh=; .*Max-Age=0/);
    assert.equal((await call('/v2/auth/browser/refresh', { cookie: newest, origin: base })).status, 401);
  });

  it('answers 401 without a cookie or with a forged one', async () => {
    const none = await call('/v2/auth/browser/refresh', { origin: base });
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'INVALID_REFRESH_TOKEN');
    const forged = await call('/v2/auth/browser/refresh', { cookie: `stoa_refresh=rt_${'A'.repeat(43)}` });
    assert.equal(forged.status, 401);
    const junk = await call('/v2/auth/browser/refresh', { cookie: 'stoa_refresh=%E0%A4%A; other=1' });
    assert.equal(junk.status, 401);
  });

  it('refuses requests from another origin or site (CSRF), whatever the cookie', async () => {
    const { cookie } = await signIn();
    for (const path of ['/v2/auth/browser/login', '/v2/auth/browser/refresh', '/v2/auth/browser/logout']) {
      const body = path.endsWith('login') ? { email: user.email, password: PASSWORD } : undefined;
      const evil = await call(path, { cookie, origin: 'https://evil.example', ...(body ? { body } : {}) });
      assert.equal(evil.status, 403, path);
      assert.equal(evil.body.code, 'FORBIDDEN');
      const crossSite = await call(path, { cookie, headers: { 'sec-fetch-site': 'cross-site' }, ...(body ? { body } : {}) });
      assert.equal(crossSite.status, 403, path);
    }
    // The session survived the attempts.
    assert.equal((await call('/v2/auth/browser/refresh', { cookie, origin: base, headers: { 'sec-fetch-site': 'same-origin' } })).status, 200);
  });

  it('signs out: the cookie is cleared and the sign-in revoked', async () => {
    const { cookie } = await signIn();
    const out = await call('/v2/auth/browser/logout', { cookie, origin: base });
    assert.equal(out.status, 204);
    assert.match(out.setCookie ?? '', /^stoa_refresh=; .*Max-Age=0/);
    assert.match(out.setCookie ?? '', /Path=\/v2\/auth\/browser/);
    const after = await call('/v2/auth/browser/refresh', { cookie, origin: base });
    assert.equal(after.status, 401);
    // Signing out twice, or without a cookie, is fine.
    assert.equal((await call('/v2/auth/browser/logout', { origin: base })).status, 204);
  });

  it('answers a wrong password and a bad body with registry errors, and sets no cookie', async () => {
    const wrong = await call('/v2/auth/browser/login', { body: { email: user.email, password: 'nope' }, origin: base });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'INVALID_CREDENTIALS');
    assert.equal(wrong.setCookie, undefined);
    const bad = await call('/v2/auth/browser/login', { body: { email: user.email }, origin: base });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
    // A refresh token in the body is not how browsers sign in: only the cookie counts.
    const { cookie } = await signIn();
    const inBody = await call('/v2/auth/browser/refresh', { body: { refresh_token: cookie.slice('stoa_refresh='.length) }, origin: base });
    assert.equal(inBody.status, 401);
  });

  it('scopes the cookie to the version it was set in (v1 too)', async () => {
    const res = await call('/v1/auth/browser/login', { body: { email: user.email, password: PASSWORD }, origin: base });
    assert.equal(res.status, 200);
    assert.match(res.setCookie ?? '', /; Path=\/v1\/auth\/browser(;|$)/);
    assert.equal((await call('/v1/auth/browser/refresh', { cookie: `stoa_refresh=${cookieValue(res.setCookie)}` })).status, 200);
  });
});

describe('browser sign-in behind HTTPS', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ STOA_PUBLIC_URL: 'https://stoa.example.com' });
  });
  after(() => t.close());

  it('marks the cookie Secure and accepts the public origin', async () => {
    const user = await signUp(t.app);
    const res = await t.app.inject({ method: 'POST', url: '/v2/auth/browser/login', headers: { origin: 'https://stoa.example.com' }, payload: { email: user.email, password: PASSWORD } });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['set-cookie']), /; Secure/i);
  });
});

describe('browser sign-in is limited like login', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ STOA_RATE_LIMIT: 'on', STOA_RATE_LIMIT_STORE: 'memory', STOA_RATE_LIMIT_LOGIN_ACCOUNT: '2/15m' });
  });
  after(() => t.close());

  it('answers 429 after the per-account login budget', async () => {
    const user = await signUp(t.app);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await t.app.inject({ method: 'POST', url: '/v2/auth/browser/login', payload: { email: user.email, password: 'wrong' } })).statusCode);
    }
    // Sign-up's own login spent the first unit of the account's budget of two.
    assert.deepEqual(statuses, [401, 429, 429]);
  });
});

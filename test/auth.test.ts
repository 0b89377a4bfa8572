import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, decodeJwt } from 'jose';
import { createTestApp, login, problemOf, signUp, PASSWORD, type TestApp } from './helpers/app.ts';

const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('authentication', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  describe('POST /v1/auth/login', () => {
    it('returns an access and refresh token pair', async () => {
      const user = await signUp(t.app);
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email.toUpperCase(), password: PASSWORD } });
      assert.equal(res.statusCode, 200);
      const data = res.json().data;
      assert.deepEqual(Object.keys(data).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
      assert.equal(data.token_type, 'Bearer');
      assert.equal(data.expires_in, 900);
      assert.equal(res.headers['cache-control'], 'no-store');
    });

    it('answers a wrong password and an unknown email identically, in similar time', async () => {
      const user = await signUp(t.app);
      const attempt = async (email: string) => {
        const start = process.hrtime.bigint();
        const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'wrong password!' } });
        return { res, ms: Number(process.hrtime.bigint() - start) / 1e6 };
      };
      await attempt('warm-up@example.com');
      const wrong: number[] = [];
      const unknown: number[] = [];
      let a, b;
      for (let i = 0; i < 5; i++) {
        a = await attempt(user.email);
        b = await attempt(`nobody${i}@example.com`);
        wrong.push(a.ms);
        unknown.push(b.ms);
      }
      assert.equal(a!.res.statusCode, 401);
      assert.equal(b!.res.statusCode, 401);
      const pa = problemOf(a!.res);
      const pb = problemOf(b!.res);
      assert.equal(pa.code, 'INVALID_CREDENTIALS');
      assert.equal(pa.code, pb.code);
      assert.equal(pa.detail, pb.detail);
      assert.equal(pa.title, pb.title);
      assert.ok(a!.res.headers['www-authenticate']);
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      // Both pay one password hash; a missing dummy hash would make unknown emails ~100× faster.
      const ratio = median(unknown) / median(wrong);
      assert.ok(ratio > 0.5 && ratio < 2, `unknown/wrong timing ratio ${ratio.toFixed(2)}`);
    });

    it('rejects a missing field with 422 and never 500', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'a@b.co' } });
      assert.equal(res.statusCode, 422);
      assert.deepEqual((problemOf(res).errors as Array<{ field: string }>).map((e) => e.field), ['password']);
    });
  });

  describe('access tokens', () => {
    it('are EdDSA JWTs with kid, sub, iat, exp (15 min), iss and aud, verifiable with the JWKS', async () => {
      const user = await signUp(t.app);
      const header = decodeProtectedHeader(user.accessToken);
      assert.equal(header.alg, 'EdDSA');
      assert.ok(header.kid);
      const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      assert.equal(jwks.statusCode, 200);
      const keys = jwks.json().keys as Array<Record<string, string>>;
      assert.ok(keys.some((k) => k.kid === header.kid));
      for (const key of keys) assert.equal(key.d, undefined, 'the JWKS must not publish private key material');
      const { payload } = await jwtVerify(user.accessToken, createLocalJWKSet({ keys: keys as never }), {
        issuer: t.config.jwtIssuer,
        audience: t.config.jwtAudience,
      });
      assert.equal(payload.sub, user.id);
      assert.equal(payload.exp! - payload.iat!, 900);
    });

    it('authenticate GET /v1/me', async () => {
      const user = await signUp(t.app, { name: 'Me Myself' });
      const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().data.id, user.id);
      assert.equal(res.json().data.email, user.email);
      assert.equal(res.headers['cache-control'], 'private, no-cache');
    });

    it('without any credential, GET /v1/me is 401 with WWW-Authenticate: Bearer', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/me' });
      assert.equal(res.statusCode, 401);
      assert.equal(problemOf(res).code, 'UNAUTHENTICATED');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    });

    describe('forged tokens are 401 with WWW-Authenticate: Bearer', () => {
      let token: string;
      let publicX: string;
      before(async () => {
        token = (await signUp(t.app)).accessToken;
        const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
        publicX = jwks.json().keys[0].x;
      });

      const forgeries: Record<string, () => string> = {
        'alg none': () => {
          const [, payload] = token.split('.');
          return `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`;
        },
        'HS256 signed with the public key': () => {
          const header = { ...decodeProtectedHeader(token), alg: 'HS256' };
          const [, payload] = token.split('.');
          const input = `${b64url(header)}.${payload}`;
          const signature = createHmac('sha256', Buffer.from(publicX, 'base64url')).update(input).digest('base64url');
          return `${input}.${signature}`;
        },
        'a tampered payload': () => {
          const [header, , signature] = token.split('.');
          const claims = { ...decodeJwt(token), sub: 'usr_00000000000000000000000000' };
          return `${header}.${b64url(claims)}.${signature}`;
        },
        'a truncated signature': () => token.slice(0, -5),
        'garbage': () => 'not.a.jwt',
        'an unknown kid': () => {
          const [, payload, signature] = token.split('.');
          return `${b64url({ ...decodeProtectedHeader(token), kid: 'someone-else' })}.${payload}.${signature}`;
        },
      };
      for (const [name, forge] of Object.entries(forgeries)) {
        it(name, async () => {
          const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${forge()}` } });
          assert.equal(res.statusCode, 401);
          assert.equal(problemOf(res).code, 'INVALID_TOKEN');
          assert.match(String(res.headers['www-authenticate']), /^Bearer .*error="invalid_token"/);
        });
      }

      it('a non-Bearer scheme', async () => {
        const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Basic YTpi' } });
        assert.equal(res.statusCode, 401);
        assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      });
    });

    it('expire after 15 minutes', async () => {
      const t2 = await createTestApp();
      try {
        const user = await signUp(t2.app);
        t2.clock.advance(14 * 60_000);
        assert.equal((await t2.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth })).statusCode, 200);
        t2.clock.advance(2 * 60_000);
        const res = await t2.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });
        assert.equal(res.statusCode, 401);
        assert.equal(problemOf(res).code, 'INVALID_TOKEN');
        assert.match(problemOf(res).detail, /expired/);
        assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      } finally {
        await t2.close();
      }
    });

    it('from another issuer or audience are refused', async () => {
      const other = await createTestApp({ STOA_JWT_AUDIENCE: 'someone-else' });
      try {
        const user = await signUp(other.app);
        const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });
        assert.equal(res.statusCode, 401);
      } finally {
        await other.close();
      }
    });
  });

  describe('refresh tokens', () => {
    it('rotate: a refresh returns a new pair and the old refresh token stops working', async () => {
      const user = await signUp(t.app);
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } });
      assert.equal(res.statusCode, 200);
      const pair = res.json().data;
      assert.notEqual(pair.refresh_token, user.refreshToken);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${pair.access_token}` } })).statusCode, 200);
      const again = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } });
      assert.equal(again.statusCode, 401);
      assert.equal(problemOf(again).code, 'INVALID_REFRESH_TOKEN');
    });

    it('reuse of a rotated token revokes the whole family, the newest token too', async () => {
      const user = await signUp(t.app);
      const first = (await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } })).json().data;
      const second = (await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: first.refresh_token } })).json().data;
      // The stolen, already-rotated original is presented again.
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } })).statusCode, 401);
      const newest = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: second.refresh_token } });
      assert.equal(newest.statusCode, 401);
      // Another sign-in of the same user (another family) is unaffected.
      const other = await login(t.app, user.email, PASSWORD);
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: other.refreshToken } })).statusCode, 200);
    });

    it('concurrent use of one token yields at most one new pair', async () => {
      const user = await signUp(t.app);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } })),
      );
      assert.ok(results.filter((r) => r.statusCode === 200).length <= 1);
      assert.ok(results.every((r) => r.statusCode === 200 || r.statusCode === 401));
    });

    it('refuses unknown, malformed and missing tokens', async () => {
      for (const payload of [{ refresh_token: 'rt_' + 'A'.repeat(43) }, { refresh_token: "' OR 1=1 --" }]) {
        const res = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload });
        assert.equal(res.statusCode, 401);
        assert.equal(problemOf(res).code, 'INVALID_REFRESH_TOKEN');
      }
      const missing = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: {} });
      assert.equal(missing.statusCode, 422);
    });

    it('logout answers 204 and the token is dead', async () => {
      const user = await signUp(t.app);
      const res = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refresh_token: user.refreshToken } });
      assert.equal(res.statusCode, 204);
      assert.equal(res.body, '');
      const after = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } });
      assert.equal(after.statusCode, 401);
      // Logging out twice is harmless.
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refresh_token: user.refreshToken } })).statusCode, 204);
    });

    it('expire after their lifetime', async () => {
      const t2 = await createTestApp({ STOA_REFRESH_TOKEN_TTL: '3600' });
      try {
        const user = await signUp(t2.app);
        t2.clock.advance(3601_000);
        const res = await t2.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: user.refreshToken } });
        assert.equal(res.statusCode, 401);
      } finally {
        await t2.close();
      }
    });
  });
});

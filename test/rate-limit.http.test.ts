import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createClientIpResolver, groupIp, PolicySet, parsePolicySpec, type LoadSample, type LoadSampler } from '../src/platform/rate-limit/index.ts';
import { createTestApp, problemOf, type TestApp } from './helpers/app.ts';

const limited = (extra: Record<string, string> = {}) => ({
  STOA_RATE_LIMIT: 'on',
  STOA_RATE_LIMIT_PREFIX: `test:http:${randomBytes(4).toString('hex')}:`,
  STOA_TRUSTED_PROXIES: '127.0.0.1, ::1',
  STOA_LOAD_SHEDDING: 'off',
  STOA_RATE_LIMIT_FREE: '5/1m',
  STOA_RATE_LIMIT_SEARCH: '2/1m',
  STOA_RATE_LIMIT_WRITES: '3/1m',
  STOA_RATE_LIMIT_LOGIN_IP: '4/1m',
  STOA_RATE_LIMIT_LOGIN_ACCOUNT: '2/15m',
  ...extra,
});

let address = 0;
/** A fresh client address per test: the app trusts X-Forwarded-For from the loopback peer. */
const client = () => ({ 'x-forwarded-for': `198.51.100.${++address}` });

function headersOf(res: LightMyRequestResponse) {
  return {
    limit: res.headers['x-ratelimit-limit'],
    remaining: res.headers['x-ratelimit-remaining'],
    reset: res.headers['x-ratelimit-reset'],
    policy: res.headers['ratelimit-policy'],
    ratelimit: res.headers['ratelimit'],
    retryAfter: res.headers['retry-after'],
  };
}

describe('rate limiting over HTTP', () => {
  let t: TestApp;
  /** The API's path prefix (`/v1`). */
  let v = '/v1';
  before(async () => {
    t = await createTestApp(limited({ STOA_LOAD_SHEDDING: 'on' }));
    // The shedder decides from a sampler the load-shedding test drives; until then it reports calm, so a busy
    // machine (CI runs test files side by side) cannot shed the requests of the other tests here.
    const calm: LoadSampler = { start() {}, stop() {}, sample: () => ({ eventLoopDelayMs: 1, heapRatio: 0.1 }) };
    t.container.rateLimiting.shedder!.useSampler(calm);
    t.container.rateLimiting.shedder!.evaluate();
    if ((await t.app.inject({ method: 'GET', url: '/v1/products', headers: client() })).statusCode === 404) v = '';
  });
  after(() => t.close());

  const get = (url: string, headers: Record<string, string>) => t.app.inject({ method: 'GET', url, headers });

  describe('headers', () => {
    it('counts X-RateLimit-Remaining down and sends both header sets on every answer', async () => {
      const who = client();
      for (let i = 4; i >= 0; i--) {
        const res = await get('/', who);
        assert.equal(res.statusCode, 200);
        const h = headersOf(res);
        assert.equal(h.limit, '5');
        assert.equal(h.remaining, String(i));
        assert.equal(h.policy, '"free";q=5;w=60');
        assert.equal(h.ratelimit, `"free";r=${i};t=60`);
        const expectedReset = Math.ceil(t.clock.now().getTime() / 1000) + 60;
        assert.ok(Math.abs(Number(h.reset) - expectedReset) <= 1, `X-RateLimit-Reset ${h.reset} is not about ${expectedReset}`);
      }
    });

    it('answers 429 RATE_LIMITED with Retry-After, retry_after and violated-policies, and admits again once Retry-After has passed', async () => {
      const who = client();
      for (let i = 0; i < 5; i++) await get('/', who);
      t.clock.advance(20_000);
      const res = await get('/', who);
      assert.equal(res.statusCode, 429);
      const problem = problemOf(res);
      assert.equal(problem.code, 'RATE_LIMITED');
      const h = headersOf(res);
      assert.match(String(h.retryAfter), /^\d+$/);
      assert.equal(h.retryAfter, '40');
      assert.equal(problem.retry_after, 40);
      assert.deepEqual(problem['violated-policies'], ['free']);
      assert.equal(h.remaining, '0');
      assert.equal(h.ratelimit, '"free";r=0;t=40');
      t.clock.advance(39_000);
      assert.equal((await get('/', who)).statusCode, 429, 'admitted before Retry-After');
      t.clock.advance(1_000);
      const again = await get('/', who);
      assert.equal(again.statusCode, 200);
      assert.equal(headersOf(again).remaining, '4');
    });

    it('puts the headers on error answers of a limited route too, and counts them', async () => {
      const who = client();
      const notFound = await get(`${v}/products/prd_none`, who);
      assert.equal(headersOf(notFound).remaining, '4');
      const unauthenticated = await get(`${v}/me`, who);
      assert.equal(unauthenticated.statusCode, 401);
      assert.equal(headersOf(unauthenticated).remaining, '3');
    });
  });

  describe('exempt routes', () => {
    it('never limits health, readiness, metrics or the API description', async () => {
      const who = client();
      for (let i = 0; i < 6; i++) await get('/', who);
      assert.equal((await get('/', who)).statusCode, 429);
      for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
        for (let i = 0; i < 7; i++) {
          const res = await get(url, who);
          assert.equal(res.statusCode, 200, url);
          assert.equal(res.headers['x-ratelimit-limit'], undefined, `${url} carries rate-limit headers`);
        }
      }
    });
  });

  describe('conditional requests', () => {
    it('does not consume quota for a 304', async () => {
      const who = client();
      const first = await get(`${v}/products`, who);
      assert.equal(first.statusCode, 200);
      assert.equal(headersOf(first).remaining, '4');
      const etag = String(first.headers.etag);
      for (let i = 0; i < 6; i++) {
        const res = await get(`${v}/products`, { ...who, 'if-none-match': etag });
        assert.equal(res.statusCode, 304);
        assert.equal(headersOf(res).remaining, '4');
        assert.equal(headersOf(res).ratelimit, '"free";r=4;t=60');
      }
      assert.equal(headersOf(await get(`${v}/products`, who)).remaining, '3');
    });
  });

  describe('classes', () => {
    it('limits searches on their own, on top of the plan', async () => {
      const who = client();
      const first = await get(`${v}/products?q=lamp`, who);
      assert.equal(first.statusCode, 200);
      assert.equal(headersOf(first).policy, '"free";q=5;w=60, "search";q=2;w=60');
      assert.equal(headersOf(first).ratelimit, '"free";r=4;t=60, "search";r=1;t=60');
      await get(`${v}/products?q=lamp`, who);
      const refused = await get(`${v}/products?q=lamp`, who);
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(problemOf(refused)['violated-policies'], ['search']);
      // The refused search charged nothing: the plan still has 3.
      const browse = await get(`${v}/products`, who);
      assert.equal(browse.statusCode, 200);
      assert.equal(headersOf(browse).ratelimit, '"free";r=2;t=60');
    });

    it('limits writes on their own, whatever the answer', async () => {
      const who = client();
      for (let i = 0; i < 3; i++) {
        const res = await t.app.inject({ method: 'POST', url: `${v}/users`, headers: who, payload: { email: 'nope' } });
        assert.equal(res.statusCode, 422);
        assert.match(String(res.headers['ratelimit-policy']), /"writes";q=3;w=60/);
      }
      const refused = await t.app.inject({ method: 'POST', url: `${v}/users`, headers: who, payload: { email: 'nope' } });
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(problemOf(refused)['violated-policies'], ['writes']);
    });

    it('limits login attempts per account, from any address', async () => {
      const email = `victim.${randomBytes(3).toString('hex')}@example.com`;
      for (let i = 0; i < 2; i++) {
        const res = await t.app.inject({ method: 'POST', url: `${v}/auth/login`, headers: client(), payload: { email, password: 'guess' + i } });
        assert.equal(res.statusCode, 401);
        assert.match(String(res.headers['ratelimit-policy']), /"login-account";q=2;w=900/);
      }
      const refused = await t.app.inject({ method: 'POST', url: `${v}/auth/login`, headers: client(), payload: { email: email.toUpperCase(), password: 'x' } });
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(problemOf(refused)['violated-policies'], ['login-account']);
    });

    it('limits login attempts per address, whatever the account', async () => {
      const who = client();
      for (let i = 0; i < 4; i++) {
        const res = await t.app.inject({ method: 'POST', url: `${v}/auth/login`, headers: who, payload: { email: `a${i}.${address}@example.com`, password: 'x' } });
        assert.equal(res.statusCode, 401);
      }
      const refused = await t.app.inject({ method: 'POST', url: `${v}/auth/login`, headers: who, payload: { email: `other.${address}@example.com`, password: 'x' } });
      assert.equal(refused.statusCode, 429);
      assert.deepEqual(problemOf(refused)['violated-policies'], ['login-ip']);
    });
  });

  describe('keys', () => {
    it('believes X-Forwarded-For only from a trusted proxy', async () => {
      const a = await get('/', { 'x-forwarded-for': '203.0.113.50' });
      const b = await get('/', { 'x-forwarded-for': '203.0.113.51' });
      assert.equal(headersOf(a).remaining, '4');
      assert.equal(headersOf(b).remaining, '4');
      const resolver = createClientIpResolver({ trustedProxies: ['10.0.0.0/8'], ipv6Prefix: 56 });
      assert.equal(resolver.resolve('192.0.2.9', '203.0.113.50'), '192.0.2.9', 'an untrusted peer chose its own address');
      assert.equal(resolver.resolve('10.1.2.3', '203.0.113.50, 10.9.9.9'), '203.0.113.50');
      assert.equal(resolver.resolve('10.1.2.3', 'spoofed, 203.0.113.50'), '203.0.113.50', 'read from the right, the first untrusted hop is the client');
      assert.equal(resolver.resolve('::ffff:10.1.2.3', '203.0.113.7'), '203.0.113.7');
    });

    it('groups IPv6 clients by their /56 (configurable)', () => {
      assert.equal(groupIp('2001:db8:1:23ff:aaaa::1', 56), '2001:db8:1:2300:0:0:0:0/56');
      assert.equal(groupIp('2001:db8:1:2300::ffff', 56), groupIp('2001:db8:1:23ab:1::', 56));
      assert.notEqual(groupIp('2001:db8:1:2300::', 56), groupIp('2001:db8:1:2400::', 56));
      assert.equal(groupIp('2001:db8::1', 64), '2001:db8:0:0:0:0:0:0/64');
      assert.equal(groupIp('203.0.113.9', 56), '203.0.113.9');
    });

    it('picks the policy of the caller’s plan', () => {
      const spec = (s: string) => parsePolicySpec(s);
      const set = new PolicySet({ specs: { free: spec('100/1m'), pro: spec('1000/1m'), enterprise: spec('10000/1m') }, algorithm: 'gcra', failMode: 'open' });
      for (const [plan, limit] of [['free', 100], ['pro', 1000], ['enterprise', 10000]] as const) {
        const [check] = set.checksFor({ subject: 'key:k1', ip: '192.0.2.1', plan }, {});
        assert.equal(check!.policy.name, plan);
        assert.equal(check!.policy.limit, limit);
        assert.equal(check!.policy.algorithm, 'gcra');
        assert.equal(check!.partition, 'key:k1');
      }
    });

    it('gives one subject the checks of each class it uses, and each login its own account', () => {
      const spec = (s: string) => parsePolicySpec(s);
      const set = new PolicySet({
        specs: { free: spec('100/1m'), search: spec('30/1m'), writes: spec('60/1m'), 'login-ip': spec('20/1m'), 'login-account': spec('5/15m') },
        algorithm: 'fixed-window',
        failMode: 'open',
      });
      const who = { subject: 'ip:192.0.2.1', ip: '192.0.2.1', plan: 'free' } as const;
      const names = (classes: object, account?: string) => set.checksFor({ ...who, account }, classes).map((c) => `${c.policy.name}@${c.partition}`);
      assert.deepEqual(names({}), ['free@ip:192.0.2.1']);
      assert.deepEqual(names({ search: true }), ['free@ip:192.0.2.1', 'search@ip:192.0.2.1']);
      assert.deepEqual(names({ write: true }), ['free@ip:192.0.2.1', 'writes@ip:192.0.2.1']);
      assert.deepEqual(names({}), ['free@ip:192.0.2.1'], 'a class seen before does not leak into plain requests');
      assert.deepEqual(names({ login: true }, 'a1'), ['free@ip:192.0.2.1', 'login-ip@ip:192.0.2.1', 'login-account@acct:a1']);
      assert.deepEqual(names({ login: true }, 'b2'), ['free@ip:192.0.2.1', 'login-ip@ip:192.0.2.1', 'login-account@acct:b2']);
      assert.ok(Object.isFrozen(set.checksFor(who, {})), 'a shared list cannot be changed by one caller');
    });
  });

  describe('load shedding', () => {
    it('answers 503 OVERLOADED with Retry-After while overloaded, never on health endpoints', async () => {
      const shedder = t.container.rateLimiting.shedder!;
      let sample: LoadSample = { eventLoopDelayMs: 2_000, heapRatio: 0.1 };
      const fake: LoadSampler = { start() {}, stop() {}, sample: () => sample };
      shedder.useSampler(fake);
      shedder.evaluate();
      const who = client();
      assert.equal((await get('/', who)).statusCode, 200, 'one lagging period (a stall) does not shed');
      shedder.evaluate();
      const shed = await get('/', who);
      assert.equal(shed.statusCode, 503);
      assert.equal(problemOf(shed).code, 'OVERLOADED');
      assert.equal(shed.headers['retry-after'], '2');
      assert.equal(problemOf(shed).retry_after, 2);
      for (const url of ['/healthz', '/readyz', '/metrics']) assert.equal((await get(url, who)).statusCode, 200, url);
      sample = { eventLoopDelayMs: 1, heapRatio: 0.99 };
      shedder.evaluate();
      assert.equal((await get('/', who)).statusCode, 503, 'heap pressure sheds too');
      sample = { eventLoopDelayMs: 1, heapRatio: 0.2 };
      shedder.evaluate();
      const ok = await get('/', who);
      assert.equal(ok.statusCode, 200);
      assert.equal(headersOf(ok).remaining, '3', 'shed requests consumed no quota (the one before shedding did)');
      const metrics = (await get('/metrics', who)).body;
      assert.match(metrics, /stoa_load_shed_total\{reason="event_loop_delay"\} 1/);
      assert.match(metrics, /stoa_load_shed_total\{reason="heap"\} 1/);
    });
  });
});

describe('several policies per request', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(limited({ STOA_RATE_LIMIT_BURST: '2/1s', STOA_RATE_LIMIT_ALGORITHM: 'sliding-log' }));
  });
  after(() => t.close());

  it('decides burst and sustained together: a burst rejection charges the sustained policy nothing', async () => {
    const who = client();
    await t.app.inject({ method: 'GET', url: '/', headers: who });
    const second = await t.app.inject({ method: 'GET', url: '/', headers: who });
    assert.equal(second.headers['ratelimit-policy'], '"free";q=5;w=60, "burst";q=2;w=1');
    assert.equal(second.headers['ratelimit'], '"free";r=3;t=60, "burst";r=0;t=1');
    const refused = await t.app.inject({ method: 'GET', url: '/', headers: who });
    assert.equal(refused.statusCode, 429);
    assert.deepEqual(problemOf(refused)['violated-policies'], ['burst']);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.headers['ratelimit'], '"free";r=3;t=60, "burst";r=0;t=1');
    assert.equal(refused.headers['x-ratelimit-limit'], '2', 'the X- headers describe the violated policy');
    t.clock.advance(1_000);
    const next = await t.app.inject({ method: 'GET', url: '/', headers: who });
    assert.equal(next.statusCode, 200);
    // A sliding log restores the whole quota one window after its newest request.
    assert.equal(next.headers['ratelimit'], '"free";r=2;t=60, "burst";r=1;t=1');
  });
});

describe('rate-limit configuration', () => {
  const base = { NODE_ENV: 'test', STOA_DATA_DIR: 'memory' };
  const bad: [string, string][] = [
    ['STOA_RATE_LIMIT_FREE', 'lots'],
    ['STOA_RATE_LIMIT_PRO', '100/1m leaky'],
    ['STOA_RATE_LIMIT_SEARCH', '10/500ms'],
    ['STOA_RATE_LIMIT_WRITES', '10/1m gcra two-tier'],
    ['STOA_RATE_LIMIT_ALGORITHM', 'leaky-bucket'],
    ['STOA_RATE_LIMIT_FAIL_MODE', 'ajar'],
    ['STOA_RATE_LIMIT_STORE', 'redis'],
    ['STOA_TRUSTED_PROXIES', '10.0.0.0/99'],
    ['STOA_RATE_LIMIT_IPV6_PREFIX', '200'],
    ['STOA_SHED_HEAP_RATIO', '1.5'],
    ['STOA_RATE_LIMIT', 'maybe'],
  ];
  for (const [name, value] of bad) {
    it(`rejects ${name}=${value} in one line naming the variable`, () => {
      assert.throws(
        () => loadConfig({ ...base, [name]: value }),
        (error: Error) => error instanceof ConfigError && error.message.startsWith(`${name} `) && !error.message.includes('\n'),
      );
    });
  }

  it('defaults to the documented tiers and classes', () => {
    const config = loadConfig(base);
    const p = config.rateLimit!.policies;
    assert.deepEqual([p.free?.limit, p.pro?.limit, p.enterprise?.limit], [100, 1000, 10000]);
    assert.equal(p.free?.windowMs, 60_000);
    assert.equal(p.burst, null);
    assert.equal(config.rateLimit!.store, 'memory');
    assert.equal(config.rateLimit!.ipv6Prefix, 56);
    assert.equal(loadConfig({ ...base, STOA_RATE_LIMIT: 'off' }).rateLimit, null);
    assert.deepEqual(parsePolicySpec('10/15m gcra fail-closed'), { limit: 10, windowMs: 900_000, algorithm: 'gcra', failMode: 'closed', twoTier: false });
  });
});

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryStore, RateLimiter, type Policy, type RateLimitStore } from '../src/platform/rate-limit/index.ts';
import { createTestApp, problemOf, type TestApp } from './helpers/app.ts';

/**
 * Store failures against a Redis server of our own on another port (never the
 * shared one): SHUTDOWN, restart, SCRIPT FLUSH and CLIENT PAUSE mid-run.
 */
const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
const skip = !process.env.REDIS_URL || !hasRedisServer ? 'needs REDIS_URL and redis-server' : false;
const PORT = 6300 + Math.floor(Math.random() * 90);

function cli(...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(PORT), ...args], { encoding: 'utf8', timeout: 5_000 }).trim();
}

async function startRedis(): Promise<void> {
  execFileSync('redis-server', ['--port', String(PORT), '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--bind', '127.0.0.1']);
  for (let i = 0; i < 50; i++) {
    try {
      if (cli('ping') === 'PONG') return;
    } catch {
      // not up yet
    }
    await sleep(50);
  }
  throw new Error('redis-server did not start');
}

function stopRedis(): void {
  try {
    cli('shutdown', 'nosave');
  } catch {
    // already gone; redis-cli reports the closed connection as an error
  }
}

describe('the Redis store when Redis misbehaves', { skip }, () => {
  let t: TestApp;
  let v = '/v1';
  const who = { 'x-forwarded-for': '192.0.2.10' };
  const get = (url = '/') => t.app.inject({ method: 'GET', url, headers: who });
  const write = () => t.app.inject({ method: 'POST', url: `${v}/users`, headers: who, payload: { email: 'nope' } });
  const metric = async (name: string) => {
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  before(async () => {
    await startRedis();
    t = await createTestApp({
      REDIS_URL: `redis://127.0.0.1:${PORT}`,
      STOA_RATE_LIMIT: 'on',
      STOA_RATE_LIMIT_PREFIX: `test:fail:${randomBytes(3).toString('hex')}:`,
      STOA_TRUSTED_PROXIES: '127.0.0.1',
      STOA_RATE_LIMIT_FREE: '1000/1m',
      STOA_RATE_LIMIT_WRITES: '1000/1m fail-closed',
      STOA_RATE_LIMIT_TIMEOUT_MS: '100',
    });
    if ((await get('/v1/products')).statusCode === 404) v = '';
  });
  after(async () => {
    await t?.close();
    stopRedis();
  });

  it('keeps every key of a decision under one hash tag', async () => {
    await get();
    const keys = cli('--scan', '--pattern', '*').split('\n');
    assert.ok(keys.some((k) => /\{ip:192\.0\.2\.10\}:free$/.test(k)), `keys: ${keys.join(', ')}`);
  });

  it('recovers transparently from SCRIPT FLUSH', async () => {
    const before = Number((await get()).headers['x-ratelimit-remaining']);
    cli('script', 'flush');
    const res = await get();
    assert.equal(res.statusCode, 200);
    assert.equal(Number(res.headers['x-ratelimit-remaining']), before - 1, 'the decision did not come from Redis');
    assert.equal(await metric('stoa_rate_limit_store_failures_total'), 0);
  });

  it('fails open or closed as each policy declares when Redis stops, never 5xx, and resumes when it returns', async () => {
    stopRedis();
    await sleep(50);
    const started = Date.now();
    const open = await get();
    assert.equal(open.statusCode, 200, 'the fail-open policy refused');
    assert.ok(open.headers['x-ratelimit-remaining'] !== undefined, 'fail-open answers still carry the headers');
    const closed = await write();
    assert.equal(closed.statusCode, 429, 'the fail-closed policy admitted');
    assert.deepEqual(problemOf(closed)['violated-policies'], ['writes']);
    assert.match(String(closed.headers['retry-after']), /^\d+$/);
    assert.ok(Date.now() - started < 1_000, 'the limiter waited on a dead store');
    for (let i = 0; i < 20; i++) assert.ok((await get()).statusCode < 500);
    assert.ok((await metric('stoa_rate_limit_store_failures_total')) >= 2);
    assert.ok((await metric('stoa_rate_limit_decisions_total{result="fail_open"}')) >= 1);
    assert.ok((await metric('stoa_rate_limit_decisions_total{result="fail_closed"}')) >= 1);

    await startRedis();
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      await sleep(100);
      recovered = (await write()).statusCode === 422;
    }
    assert.ok(recovered, 'limiting did not resume after Redis returned');
    const res = await get();
    // The successful write above was charged to the plan too: a fresh Redis has counted two.
    assert.equal(res.headers['x-ratelimit-remaining'], '998', 'decisions do not come from the restarted Redis');
  });

  it('times out quickly while Redis is paused and fails open', async () => {
    await get();
    cli('client', 'pause', '700', 'ALL');
    const started = Date.now();
    const res = await get();
    const took = Date.now() - started;
    assert.equal(res.statusCode, 200);
    assert.ok(took < 600, `waited ${took} ms on a paused Redis`);
    await sleep(800);
    assert.equal((await write()).statusCode, 422, 'did not resume after the pause');
  });
});

describe('store incidents', () => {
  it('are reported once when they start and once when they end', async () => {
    let up = false;
    const inner = createMemoryStore();
    const flaky: RateLimitStore = {
      kind: 'redis',
      decide: (checks, cost) => (up ? inner.decide(checks, cost) : Promise.reject(new Error('down'))),
      refund: async () => {},
      close: async () => {},
    };
    const events: string[] = [];
    const limiter = new RateLimiter({
      store: flaky,
      observer: { storeFailed: (_e, first) => events.push(first ? 'failed' : 'again'), storeRecovered: () => events.push('recovered') },
    });
    const policy: Policy = { name: 'p', algorithm: 'gcra', limit: 2, windowMs: 1_000, scope: 'subject', failMode: 'open', twoTier: false };
    const check = { policy, partition: 'user:1' };
    const first = await limiter.decide([check]);
    assert.equal(first.allowed, true);
    assert.equal(first.degraded, 'open');
    await limiter.decide([check]);
    assert.equal((await limiter.decide([check])).allowed, false, 'the fail-open fallback kept no count');
    up = true;
    await limiter.decide([check]);
    up = false;
    await limiter.decide([check]);
    assert.deepEqual(events, ['failed', 'again', 'again', 'recovered', 'failed']);
    const closed = await limiter.decide([{ policy: { ...policy, failMode: 'closed' }, partition: 'user:2' }]);
    assert.equal(closed.allowed, false);
    assert.equal(closed.degraded, 'closed');
  });
});

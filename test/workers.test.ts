import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkRunner, type WorkItem } from '../src/platform/jobs/index.ts';
import { createWorker } from '../src/workers/index.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { startStoa } from './helpers/process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > until) throw new Error(`condition not met in time; last value ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

describe('the work queue', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  const runner = (handlers: ConstructorParameters<typeof WorkRunner>[0]['handlers'], extra: Partial<ConstructorParameters<typeof WorkRunner>[0]> = {}) =>
    new WorkRunner({ queue: t.container.queue, clock: t.clock, handlers, pollMs: 20, leaseMs: 2_000, ...extra });

  it('runs an enqueued item once and settles it done', async () => {
    const seen: WorkItem[] = [];
    const r = runner({ 'test.once': async (item) => void seen.push(item) });
    await t.container.queue.enqueue({ kind: 'test.once', payload: { n: 1 }, runAt: t.clock.now() }, t.clock.now());
    await r.start();
    await eventually(() => seen.length, (n) => n === 1);
    await sleep(150);
    await r.stop();
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]!.payload, { n: 1 });
    assert.equal(seen[0]!.attempts, 1);
    const stats = await t.container.queue.stats(t.clock.now());
    assert.equal(stats.filter((s) => s.kind === 'test.once' && s.state !== 'done').length, 0);
  });

  it('does not run an item before it is due', async () => {
    const seen: string[] = [];
    const r = runner({ 'test.later': async (item) => void seen.push(item.id) });
    await t.container.queue.enqueue({ kind: 'test.later', runAt: new Date(t.clock.now().getTime() + 60_000) }, t.clock.now());
    await r.start();
    await sleep(200);
    assert.equal(seen.length, 0);
    const lag = await t.container.queue.stats(t.clock.now());
    assert.equal(lag.find((s) => s.kind === 'test.later')!.lagSeconds, 0);
    t.clock.advance(61_000);
    r.poke();
    await eventually(() => seen.length, (n) => n === 1);
    await r.stop();
  });

  it('two claimers never get the same item (FOR UPDATE SKIP LOCKED + lease)', async () => {
    const now = t.clock.now();
    for (let i = 0; i < 20; i++) await t.container.queue.enqueue({ kind: 'test.split', runAt: now }, now);
    const [a, b] = await Promise.all([
      t.container.queue.claim({ workerId: 'a', kinds: ['test.split'], limit: 12, leaseMs: 60_000, now, groupLimit: 4 }),
      t.container.queue.claim({ workerId: 'b', kinds: ['test.split'], limit: 12, leaseMs: 60_000, now, groupLimit: 4 }),
    ]);
    const ids = [...a, ...b].map((i) => i.id);
    assert.equal(ids.length, 20);
    assert.equal(new Set(ids).size, 20);
    for (const item of [...a, ...b]) await t.container.queue.settle(a.includes(item) ? 'a' : 'b', item.id, { state: 'done' }, now);
  });

  it('an expired lease is taken over; the first worker can no longer settle; renewing keeps it', async () => {
    const now = t.clock.now();
    await t.container.queue.enqueue({ kind: 'test.lease', runAt: now }, now);
    const [first] = await t.container.queue.claim({ workerId: 'dead', kinds: ['test.lease'], limit: 1, leaseMs: 1_000, now, groupLimit: 4 });
    assert.ok(first);
    // Renewed: still held a little later.
    assert.deepEqual(await t.container.queue.renew('dead', [first.id], 1_000, new Date(now.getTime() + 500)), [first.id]);
    assert.equal((await t.container.queue.claim({ workerId: 'other', kinds: ['test.lease'], limit: 1, leaseMs: 1_000, now: new Date(now.getTime() + 1_200), groupLimit: 4 })).length, 0);
    // Not renewed again: after the lease, another worker takes it over, with the attempt counted.
    const later = new Date(now.getTime() + 1_600);
    const stats = await t.container.queue.stats(later);
    assert.ok(stats.find((s) => s.kind === 'test.lease' && s.state === 'running')!.lagSeconds > 0, 'an expired lease counts as lag');
    const [taken] = await t.container.queue.claim({ workerId: 'other', kinds: ['test.lease'], limit: 1, leaseMs: 1_000, now: later, groupLimit: 4 });
    assert.equal(taken?.id, first.id);
    assert.equal(taken.attempts, 2);
    assert.equal(await t.container.queue.settle('dead', first.id, { state: 'done' }, later), false);
    assert.deepEqual(await t.container.queue.renew('dead', [first.id], 1_000, later), []);
    assert.equal(await t.container.queue.settle('other', first.id, { state: 'done' }, later), true);
  });

  it('bounds the items of one group in flight across workers', async () => {
    const now = t.clock.now();
    for (let i = 0; i < 6; i++) await t.container.queue.enqueue({ kind: 'test.group', groupKey: 'g1', runAt: now }, now);
    await t.container.queue.enqueue({ kind: 'test.group', groupKey: 'g2', runAt: now }, now);
    const a = await t.container.queue.claim({ workerId: 'a', kinds: ['test.group'], limit: 10, leaseMs: 60_000, now, groupLimit: 2 });
    const b = await t.container.queue.claim({ workerId: 'b', kinds: ['test.group'], limit: 10, leaseMs: 60_000, now, groupLimit: 2 });
    assert.equal(a.filter((i) => i.groupKey === 'g1').length, 2);
    assert.equal(a.filter((i) => i.groupKey === 'g2').length, 1);
    assert.equal(b.length, 0, 'the group is at its bound');
    // Settling one of g1's items frees one place in g1 (the order of a claim's items is not part of the contract).
    await t.container.queue.settle('a', a.find((i) => i.groupKey === 'g1')!.id, { state: 'done' }, now);
    const c = await t.container.queue.claim({ workerId: 'b', kinds: ['test.group'], limit: 10, leaseMs: 60_000, now, groupLimit: 2 });
    assert.equal(c.length, 1);
    assert.equal(c[0]!.groupKey, 'g1');
  });

  it('retries a throwing handler with backoff, then fails it after the last attempt', async () => {
    let calls = 0;
    const r = runner({ 'test.throws': async () => {
      calls++;
      throw new Error('boom');
    } }, { maxAttempts: 2 });
    await t.container.queue.enqueue({ kind: 'test.throws', runAt: t.clock.now() }, t.clock.now());
    await r.start();
    await eventually(() => calls, (n) => n === 1);
    await sleep(100);
    assert.equal(calls, 1, 'the retry waits for its backoff');
    t.clock.advance(1_500);
    r.poke();
    await eventually(() => calls, (n) => n === 2);
    await eventually(async () => (await t.container.queue.stats(t.clock.now())).find((s) => s.kind === 'test.throws')?.state, (s) => s === 'failed');
    t.clock.advance(60_000);
    r.poke();
    await sleep(100);
    assert.equal(calls, 2);
    await r.stop();
  });

  it('periodic work runs once per period across several workers', async () => {
    let runs = 0;
    const periodic = [{ name: 'test.tick', everyMs: 60_000, run: async () => void runs++ }];
    const workers = [runner({}, { periodic }), runner({}, { periodic }), runner({}, { periodic })];
    for (const w of workers) await w.start();
    await eventually(() => runs, (n) => n === 1);
    await sleep(300);
    assert.equal(runs, 1, 'once, not once per worker');
    t.clock.advance(61_000);
    for (const w of workers) w.poke();
    await eventually(() => runs, (n) => n === 2);
    await sleep(300);
    assert.equal(runs, 2);
    for (const w of workers) await w.stop();
  });

  it('the idempotency sweep and charge resubmission are periodic work of the worker', async () => {
    const w = createWorker(t.container, { charges: true });
    await w.start();
    const stats = await eventually(
      async () => (await t.container.queue.stats(t.clock.now())).map((s) => s.kind),
      (kinds) => kinds.includes('periodic.idempotency.sweep') && kinds.includes('periodic.charges.resubmit'),
    );
    assert.ok(stats.length > 0);
    await w.stop();
  });

  it('/readyz reports queue lag and /metrics queue depth, lag, attempts and outcomes', async () => {
    const now = t.clock.now();
    await t.container.queue.enqueue({ kind: 'test.lagging', runAt: new Date(now.getTime() - 5_000) }, now);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    const body = ready.json();
    assert.equal(body.status, 'ready');
    assert.ok(body.queue.lag_seconds >= 5, JSON.stringify(body));
    assert.ok(body.queue.depth >= 1);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /stoa_queue_depth\{kind="test.lagging",state="queued"\} 1/);
    assert.match(metrics, /stoa_queue_lag_seconds\{kind="test.lagging"\} \d/);
    assert.match(metrics, /stoa_queue_attempts_total\{kind="periodic.idempotency.sweep"\} 1/);
    assert.match(metrics, /stoa_queue_outcomes_total\{kind="periodic.idempotency.sweep",outcome="done"\} 1/);
  });
});

describe('stoa serve --role', { skip: Boolean(process.env.DATABASE_URL) && 'process roles are exercised on the embedded store here; PostgreSQL in webhooks.processes' }, () => {
  it('a worker process serves only /healthz, /readyz and /metrics', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-worker-'));
    // Load shedding off: on a loaded machine it may answer 503 before routing, and this test is about routing.
    const stoa = await startStoa({ STOA_DATA_DIR: dataDir, STOA_SEED_DEMO: 'false', STOA_ROLE: 'worker', STOA_LOAD_SHEDDING: 'off' });
    try {
      assert.match(stoa.output(), /role worker/);
      assert.equal((await fetch(`${stoa.url}/healthz`)).status, 200);
      const ready = await fetch(`${stoa.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(typeof ((await ready.json()) as { queue: { lag_seconds: number } }).queue.lag_seconds, 'number');
      assert.match(await (await fetch(`${stoa.url}/metrics`)).text(), /stoa_queue_depth/);
      for (const p of ['/v1/products', '/v2/products', '/docs', '/openapi.json']) assert.equal((await fetch(`${stoa.url}${p}`)).status, 404, p);
      assert.equal(await stoa.stop(), 0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown role', async () => {
    const { runStoa } = await import('./helpers/process.ts');
    const run = await runStoa(['serve', '--role', 'boss'], { STOA_DATA_DIR: 'memory' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /STOA_ROLE must be one of api, worker, all/);
  });

  it('refuses the test-only STOA_TEST_HOLD_JOB_AFTER_STEP in production', async () => {
    const { runStoa } = await import('./helpers/process.ts');
    const run = await runStoa(['serve'], { STOA_DATA_DIR: 'memory', NODE_ENV: 'production', STOA_TEST_HOLD_JOB_AFTER_STEP: '1' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /STOA_TEST_HOLD_JOB_AFTER_STEP is for tests and is refused with NODE_ENV=production/);
  });
});

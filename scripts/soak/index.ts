/**
 * npm run soak -- --minutes N
 *
 * Starts Stoa as a child process (embedded by default; PostgreSQL in a scratch
 * schema and Redis when DATABASE_URL / REDIS_URL are set), measures its
 * capacity for the mix in scripts/soak/mix.ts with a short ramp, then holds
 * about 70 % of it for N minutes with SSE and WebSocket streams open. It samples
 * the server's RSS and live heap (after a full collection, over the inspector),
 * reports the slope of each after warm-up, p50/p99 per interval, and every
 * answer that was not intended; it exits 1 on any unintended answer or a slope
 * over the target. The JSON report goes to bench/results/soak-<time>.json.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeResult } from '../../bench/results.ts';
import { GrpcClient } from '../../test/helpers/grpc.ts';
import { createScratchSchema, type ScratchSchema } from '../../test/helpers/pg-schema.ts';
import { nextOperation, type Actor, type Fixture, type Outcome } from './mix.ts';
import { startServer, type Memory, type SoakServer } from './server.ts';
import { linearFit, quantile, table } from './stats.ts';
import { StreamPool } from './streams.ts';

const PASSWORD = 'soak: correct horse battery staple';
const MB = 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    load: { type: 'string', default: '0.7' },
    'max-slope': { type: 'string', default: '1' },
    // `heap`: judge only the live heap's slope (RSS is reported): over a minute RSS follows the allocator, not leaks.
    gate: { type: 'string', default: 'both' },
    'warmup-seconds': { type: 'string' },
    users: { type: 'string', default: '8' },
    'step-seconds': { type: 'string', default: '4' },
    census: { type: 'boolean', default: false },
  },
});
const MINUTES = Number(args.minutes);
const LOAD = Number(args.load);
const MAX_SLOPE = Number(args['max-slope']);
const USERS = Number(args.users);
const STEP_MS = Number(args['step-seconds']) * 1000;
if (!(MINUTES > 0) || !(LOAD > 0 && LOAD <= 1) || !(MAX_SLOPE > 0) || !(USERS >= 1 && USERS <= 100) || !(STEP_MS >= 1000)) {
  process.stderr.write('usage: npm run soak -- [--minutes N] [--load 0.7] [--max-slope MB/min] [--gate both|heap] [--warmup-seconds S] [--users 8] [--step-seconds 4]\n');
  process.exit(2);
}

const log = (line: string) => process.stdout.write(line + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tally {
  calls: number;
  latencies: number[];
  statuses: Map<string, number>;
  unintended: number;
}
const tally = (): Tally => ({ calls: 0, latencies: [], statuses: new Map(), unintended: 0 });
function count(t: Tally, o: Outcome): void {
  t.calls++;
  if (o.ms > 0) t.latencies.push(o.ms);
  t.statuses.set(o.status, (t.statuses.get(o.status) ?? 0) + 1);
  if (!o.intended) t.unintended++;
}

async function json(res: Response, what: string): Promise<{ data: Record<string, unknown> & { id: string } }> {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { data: Record<string, unknown> & { id: string } };
}

/** A set-up POST; a refusal to overload (503, 429) is waited out as its Retry-After says. */
async function setUpPost(url: string, auth: string | undefined, body: unknown): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body: JSON.stringify(body) });
    if ((res.status !== 503 && res.status !== 429) || attempt === 10) return res;
    await res.body?.cancel();
    await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
  }
}

async function login(url: string, email: string): Promise<string> {
  const res = await setUpPost(`${url}/v2/auth/login`, undefined, { email, password: PASSWORD });
  return `Bearer ${(await json(res, `login ${email}`)).data.access_token as string}`;
}

/** Products (by the boot-time administrator), users signed in, a few posts each. */
async function setUp(server: SoakServer, adminEmail: string): Promise<Fixture> {
  const post = (path: string, auth: string | undefined, body: unknown) => setUpPost(server.url + path, auth, body);
  const admin = await login(server.url, adminEmail);
  const products: string[] = [];
  for (let i = 0; i < 20; i++) {
    const body = { name: `Soak widget ${i}`, category: `soak-${i % 4}`, price: 100 + i, currency: 'EUR', stock: 1_000_000_000, description: 'A steady widget for the market' };
    products.push((await json(await post('/v2/products', admin, body), 'create product')).data.id);
  }
  const actors: Actor[] = [];
  for (let i = 0; i < USERS; i++) {
    const email = `soak.${i}.${randomUUID().slice(0, 8)}@example.com`;
    const user = await json(await post('/v2/users', undefined, { email, display_name: `Soak ${i}`, password: PASSWORD }), 'sign up');
    const actor: Actor = { id: user.data.id, email, auth: await login(server.url, email), posts: [], orders: [] };
    for (let j = 0; j < 3; j++) actor.posts.push((await json(await post('/v2/posts', actor.auth, { title: `soak ${i}.${j}`, content: 'steady content' }), 'create post')).data.id);
    actors.push(actor);
  }
  return { url: server.url, grpc: new GrpcClient(server.grpcAddress), actors, products };
}

/**
 * Closed loop at `concurrency` for `ms`: operations served per second, and what was answered. An operation
 * refused with 429 or 503 is not served: quick refusals would otherwise count as capacity.
 */
async function closedLoop(f: Fixture, concurrency: number, ms: number, sink: (o: Outcome) => void): Promise<number> {
  const end = Date.now() + ms;
  let ops = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const outcomes = await nextOperation(f)();
        for (const o of outcomes) sink(o);
        if (!outcomes.some((o) => ['429', '503', 'grpc:RESOURCE_EXHAUSTED', 'grpc:UNAVAILABLE'].includes(o.status))) ops++;
      }
    }),
  );
  return ops / ((performance.now() - started) / 1000);
}

interface Sample {
  t: number;
  memory: Memory;
}

async function main(): Promise<number> {
  const started = new Date();
  const adminEmail = `soak.admin.${randomUUID().slice(0, 8)}@example.com`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-soak-'));
  let scratch: ScratchSchema | undefined;
  const generous = '1000000/1m';
  const env: Record<string, string> = {
    STOA_DATA_DIR: dataDir,
    STOA_SEED_DEMO: 'false',
    STOA_ADMIN_EMAIL: adminEmail,
    STOA_ADMIN_PASSWORD: PASSWORD,
    STOA_JWT_KEYS: JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'soak' }]),
    STOA_PASSWORD_HASH_COST: '10',
    STOA_ACCESS_TOKEN_TTL: '86400',
    // The limiter stays on (its buckets are soaked too) with policies a steady client does not reach.
    STOA_RATE_LIMIT_FREE: generous,
    STOA_RATE_LIMIT_SEARCH: generous,
    STOA_RATE_LIMIT_WRITES: generous,
    STOA_RATE_LIMIT_PREFIX: `soak:${randomUUID().slice(0, 8)}:`,
  };
  if (process.env.DATABASE_URL) {
    scratch = await createScratchSchema('soak');
    env.DATABASE_URL = scratch.databaseUrl;
  }
  if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
  const mode = process.env.DATABASE_URL ? `PostgreSQL${process.env.REDIS_URL ? ' + Redis' : ''}` : 'embedded (PGlite, in-memory stores)';

  const server = await startServer(env);
  let serverDied = false;
  let stopping = false;
  server.child.on('exit', (code, signal) => {
    if (stopping) return;
    serverDied = true;
    log(`!! the server exited (${code ?? signal}) during the soak:\n${server.output()}`);
  });
  const pool = new StreamPool(server.url);
  let fixture: Fixture | undefined;
  try {
    log(`soak: ${mode}, ${MINUTES} min at ${Math.round(LOAD * 100)} % of capacity, server pid ${server.child.pid}`);
    fixture = await setUp(server, adminEmail);
    const f = fixture;
    for (const actor of f.actors) {
      await pool.open('sse', actor);
      await pool.open('ws', actor);
    }
    const all = new Map<string, Tally>();
    const unintended: Outcome[] = [];
    const record = (o: Outcome, into?: Tally) => {
      if (into) count(into, o);
      const op = all.get(o.op) ?? tally();
      all.set(o.op, op);
      count(op, o);
      if (!o.intended && unintended.length < 100) unintended.push(o);
    };

    // Capacity: closed loops of growing concurrency until throughput stops growing for two steps (one may be a neighbour's noise).
    const ramp: Array<{ concurrency: number; opsPerSecond: number; p99: number }> = [];
    let flat = 0;
    for (const concurrency of [1, 2, 4, 8, 16, 32, 64]) {
      const step = tally();
      const rate = await closedLoop(f, concurrency, STEP_MS, (o) => record(o, step));
      const before = Math.max(0, ...ramp.map((r) => r.opsPerSecond));
      ramp.push({ concurrency, opsPerSecond: rate, p99: quantile(step.latencies, 0.99) });
      log(`ramp: concurrency ${concurrency}: ${rate.toFixed(1)} operations/s, p99 ${quantile(step.latencies, 0.99).toFixed(0)} ms`);
      flat = rate < before * 1.05 ? flat + 1 : 0;
      if (flat === 2) break;
    }
    const best = ramp.reduce((a, b) => (b.opsPerSecond > a.opsPerSecond ? b : a));
    const capacity = best.opsPerSecond;
    // Arrivals are open-loop, but never more in flight than twice the concurrency that reached capacity: when
    // neighbours on a shared machine take CPU away, the soak sends fewer (counted as not sent) instead of queueing without end.
    const maxInFlight = Math.max(4, best.concurrency * 2);
    const rate = capacity * LOAD;
    for (const o of pool.drain()) record(o);

    // Hold: open loop at `rate` (arrivals do not wait for answers, so a slow server shows as latency, not as fewer requests).
    // The N minutes are measured after a warm-up at the same rate (caches fill, code is optimised), which the slope leaves out.
    const holdMs = MINUTES * 60_000;
    const warmUpMs = args['warmup-seconds'] !== undefined ? Number(args['warmup-seconds']) * 1000 : Math.min(120_000, Math.max(30_000, holdMs * 0.2));
    const runMs = warmUpMs + holdMs;
    const intervalMs = Math.min(60_000, Math.max(5_000, runMs / 15));
    const sampleMs = Math.min(10_000, Math.max(2_000, holdMs / 60));
    log(`hold: ${rate.toFixed(1)} operations/s (capacity ${capacity.toFixed(1)}), ${pool.size} streams open; ${warmUpMs / 1000} s warm-up, then ${MINUTES} min measured; memory every ${sampleMs / 1000} s`);
    const samples: Sample[] = [];
    const intervals: Array<Record<string, number>> = [];
    let interval = tally();
    let inFlight = 0;
    let launched = 0;
    let dropped = 0;
    let nextSample = 0;
    let nextInterval = intervalMs;
    let nextRecycle = 2_000;
    const holdStart = performance.now();
    let sampling: Promise<void> = Promise.resolve();
    const printer = (row: Record<string, number>) =>
      log(
        `  ${String(Math.round(row.t!)).padStart(5)} s  ${row.opsPerSecond!.toFixed(1).padStart(6)} op/s  p50 ${row.p50!.toFixed(1).padStart(6)} ms  p99 ${row.p99!.toFixed(1).padStart(7)} ms  unintended ${row.unintended}  rss ${row.rssMB!.toFixed(1)} MB  heap ${row.heapMB!.toFixed(1)} MB`,
      );
    let censusBefore: Map<string, { count: number; bytes: number }> | undefined;
    // Arrivals skipped while the load is paused for a census.
    let paused = 0;
    let measuredFrom = warmUpMs;
    while (!serverDied) {
      let elapsed = performance.now() - holdStart;
      if (args.census && !censusBefore && elapsed >= warmUpMs) {
        // A heap snapshot stops the server for seconds: the load waits for it instead of timing out against it.
        while (inFlight > 0) await sleep(20);
        await sampling;
        censusBefore = await server.heapCensus();
        elapsed = performance.now() - holdStart;
        paused = Math.floor((elapsed / 1000) * rate) - launched;
        // The snapshot itself raises RSS for good: the slopes start after it.
        measuredFrom = elapsed;
        nextSample = elapsed;
        nextInterval = elapsed + intervalMs;
      }
      if (elapsed >= nextSample) {
        nextSample += sampleMs;
        sampling = sampling.then(async () => {
          const t = (performance.now() - holdStart) / 1000;
          samples.push({ t, memory: await server.memory() });
        });
      }
      if (elapsed >= nextRecycle) {
        nextRecycle += 2_000;
        void pool.recycle();
      }
      if (elapsed >= nextInterval || elapsed >= runMs) {
        for (const o of pool.drain()) record(o, interval);
        await sampling;
        const last = samples.at(-1)?.memory;
        const row = {
          t: elapsed / 1000,
          opsPerSecond: (launched - intervals.reduce((s, r) => s + r.operations!, 0)) / ((elapsed - (nextInterval - intervalMs)) / 1000),
          operations: launched - intervals.reduce((s, r) => s + r.operations!, 0),
          calls: interval.calls,
          p50: quantile(interval.latencies, 0.5),
          p99: quantile(interval.latencies, 0.99),
          max: Math.max(...interval.latencies),
          unintended: interval.unintended,
          rssMB: (last?.rss ?? 0) / MB,
          heapMB: (last?.heapLive ?? 0) / MB,
        };
        intervals.push(row);
        printer(row);
        interval = tally();
        nextInterval += intervalMs;
        if (elapsed >= runMs) break;
      }
      const due = Math.floor((elapsed / 1000) * rate) - launched - paused;
      for (let i = 0; i < due; i++) {
        launched++;
        if (inFlight >= maxInFlight) {
          dropped++;
          continue;
        }
        inFlight++;
        // An answer counts in the interval it arrives in.
        nextOperation(f)().then(
          (outcomes) => outcomes.forEach((o) => record(o, interval)),
          (error: unknown) => record({ op: 'client', status: `error:${(error as Error).message}`, ms: 0, intended: false }, interval),
        ).finally(() => inFlight--);
      }
      await sleep(5);
    }
    while (inFlight > 0) await sleep(20);
    await sampling;
    samples.push({ t: (performance.now() - holdStart) / 1000, memory: await server.memory() });
    for (const o of pool.drain()) record(o);
    if (censusBefore) {
      const before = censusBefore;
      const after = await server.heapCensus();
      const growth = [...after.entries()]
        .map(([kind, a]) => ({ kind, count: a.count - (before.get(kind)?.count ?? 0), bytes: a.bytes - (before.get(kind)?.bytes ?? 0) }))
        .sort((x, y) => y.bytes - x.bytes)
        .slice(0, 25);
      log('');
      log(table(['heap growth after warm-up (type:constructor)', 'objects', 'KB'], growth.map((g) => [g.kind, g.count, g.bytes / 1024])));
    }

    // Memory: least-squares slope after warm-up, in MB per minute.
    const settled = samples.filter((s) => s.t * 1000 >= measuredFrom);
    const slope = (of: (m: Memory) => number) => linearFit(settled.map((s) => ({ x: s.t / 60, y: of(s.memory) / MB }))).slope;
    const memory = { rssSlopeMBPerMin: slope((m) => m.rss), heapSlopeMBPerMin: slope((m) => m.heapLive), externalSlopeMBPerMin: slope((m) => m.external), samples: settled.length };

    log('');
    log(table(
      ['operation', 'calls', 'p50 ms', 'p99 ms', 'unintended', 'answers'],
      [...all.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([op, t]) => [op, t.calls, quantile(t.latencies, 0.5), quantile(t.latencies, 0.99), t.unintended, [...t.statuses.entries()].map(([s, n]) => `${s}×${n}`).join(' ')]),
    ));
    log('');
    const first = settled[0]?.memory;
    const lastSample = settled.at(-1)?.memory;
    log(table(
      ['memory (after warm-up)', 'first MB', 'last MB', 'slope MB/min', 'target'],
      [
        ['RSS', (first?.rss ?? 0) / MB, (lastSample?.rss ?? 0) / MB, memory.rssSlopeMBPerMin, `< ${MAX_SLOPE}`],
        ['live heap (after full GC)', (first?.heapLive ?? 0) / MB, (lastSample?.heapLive ?? 0) / MB, memory.heapSlopeMBPerMin, `< ${MAX_SLOPE}`],
        ['external (Buffers)', (first?.external ?? 0) / MB, (lastSample?.external ?? 0) / MB, memory.externalSlopeMBPerMin, ''],
      ],
    ));
    const totalUnintended = [...all.values()].reduce((s, t) => s + t.unintended, 0);
    const failures = [
      ...(serverDied ? ['the server exited during the soak'] : []),
      ...(totalUnintended > 0 ? [`${totalUnintended} unintended answers`] : []),
      ...(args.gate !== 'heap' && memory.rssSlopeMBPerMin > MAX_SLOPE ? [`RSS grows ${memory.rssSlopeMBPerMin.toFixed(2)} MB/min`] : []),
      ...(memory.heapSlopeMBPerMin > MAX_SLOPE ? [`the live heap grows ${memory.heapSlopeMBPerMin.toFixed(2)} MB/min`] : []),
      ...(settled.length < 3 ? ['too few memory samples after warm-up for a slope'] : []),
    ];
    for (const o of unintended.slice(0, 20)) log(`unintended: ${o.op} → ${o.status}${o.detail ? `: ${o.detail}` : ''}`);
    log('');
    log(`operations ${launched} (${dropped} not sent: ${maxInFlight} already in flight), streams opened ${pool.opened}, stream frames read ${pool.frames}`);

    const file = writeResult('soak', {
      started: started.toISOString(),
      mode,
      minutes: MINUTES,
      load: LOAD,
      node: process.version,
      ramp,
      capacityOpsPerSecond: capacity,
      holdOpsPerSecond: rate,
      operations: launched,
      dropped,
      maxInFlight,
      streams: { opened: pool.opened, frames: pool.frames },
      intervals,
      perOperation: Object.fromEntries([...all.entries()].map(([op, t]) => [op, { calls: t.calls, p50: quantile(t.latencies, 0.5), p99: quantile(t.latencies, 0.99), unintended: t.unintended, statuses: Object.fromEntries(t.statuses) }])),
      unintended,
      memory: { ...memory, warmUpSeconds: warmUpMs / 1000, samples: samples.map((s) => ({ t: s.t, rssMB: s.memory.rss / MB, heapLiveMB: s.memory.heapLive / MB, externalMB: s.memory.external / MB })) },
      failures,
    });
    log(`report: ${file}`);
    log(failures.length ? `FAIL: ${failures.join('; ')}` : 'PASS: only intended answers, memory flat');
    return failures.length ? 1 : 0;
  } finally {
    pool.closeAll();
    fixture?.grpc.close();
    stopping = true;
    const code = await server.stop();
    if (code !== 0 && !serverDied) log(`!! the server exited with ${code} on SIGTERM`);
    await scratch?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

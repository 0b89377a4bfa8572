/**
 * Rate limiting, side by side in one run:
 *
 *   node --import tsx bench/rate-limit.ts [--duration 3] [--rounds 5] [--redis redis://127.0.0.1:6379] [--skip-http]
 *
 * 1. HTTP (autocannon, 100 connections, each server in a child process of its
 *    own): the same hello route with no limiter, Stoa's limiter (two
 *    policies, both header sets) and @fastify/rate-limit — memory and Redis
 *    stores. Modes take turns, `--rounds` times; a ratio is the median of
 *    the rounds' ratios (each round's modes ran back to back).
 *    Targets: Stoa ≥ @fastify/rate-limit on each store; Stoa memory ≥ 0.9× no limiter.
 *    Reference: `headers-only` sends the same five header fields as constants
 *    and decides nothing — the most any limiter honouring the header contract
 *    could reach against the unlimited route. `app-plain`/`app-stoa`: the
 *    whole Stoa app on its embedded default serving `GET /v1/products`, rate
 *    limiting off and on (a phase of its own, 10 connections) — the
 *    limiter's cost on a real route.
 * 2. Decisions per second from one process, 100 in flight, over 1,000 keys:
 *    Stoa's Redis store vs rate-limiter-flexible's RateLimiterRedis. Target ≥ 1.5×.
 * 3. Two-tier mode: three limiters (one Redis connection each, like three
 *    processes) at a paced 1,000 decisions/s each on one key until past the
 *    limit. Targets: ≤ 0.1 Redis round trips per request at steady state,
 *    over-admission ≤ 1 % of the limit.
 *
 * Prints a table and writes bench/results/rate-limit-<timestamp>.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { createRedisClient } from '../src/infra/redis/redis-client.ts';
import { createRedisStore } from '../src/infra/redis/rate-limit.redis-store.ts';
import { RateLimiter, type Policy } from '../src/platform/rate-limit/index.ts';
import { runIfMain, writeResult } from './results.ts';

const SERVER = fileURLToPath(new URL('./rate-limit-server.ts', import.meta.url));
const MODES = ['plain', 'headers-only', 'stoa-memory', 'frl-memory', 'stoa-redis', 'frl-redis'] as const;
/** Measured in a phase of their own (PGlite's background work must not disturb the hello route), 10 connections. */
const APP_MODES = ['app-plain', 'app-stoa'] as const;
/** Pin the load generator and the servers to different cores when `taskset` exists and there are two or more. */
const PIN = cpus().length > 1 && spawnSync('taskset', ['-V']).status === 0;

async function startServer(mode: string, redisUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const command = [process.execPath, '--import', 'tsx', SERVER, mode, redisUrl];
  // The server on the last core, the load generator (this process) on the first, as the PERF-NOTES runs were.
  const pinned = PIN ? ['taskset', '-c', String(cpus().length - 1), ...command] : command;
  const child = spawn(pinned[0]!, pinned.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const target = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening (\d+) (\S+)\n/.exec(out);
      if (match) resolve(`${match[1]!}${match[2]!}`);
    });
    child.on('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${target}` };
}

interface HttpRow {
  mode: string;
  requests_per_s: number;
  p99_ms: number;
  non_2xx: number;
  headers: string[];
  /** Every round's requests per second; `requests_per_s` is their median. */
  rounds: number[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * All servers run side by side; each round measures every mode once, in
 * order, so drift in the machine's load hits every mode alike. The median
 * round is reported.
 */
async function http(modes: readonly string[], connections: number, redisUrl: string, duration: number, rounds: number): Promise<HttpRow[]> {
  const servers = await Promise.all(modes.map((mode) => startServer(mode, redisUrl)));
  try {
    const rows: HttpRow[] = [];
    for (const [i, mode] of modes.entries()) {
      const url = servers[i]!.url;
      const probe = await fetch(url);
      const headers = [...probe.headers.keys()].filter((h) => /ratelimit/.test(h));
      await autocannon({ url, connections, duration: 1 }); // warm-up
      rows.push({ mode, requests_per_s: 0, p99_ms: 0, non_2xx: 0, headers, rounds: [] });
    }
    const p99s: number[][] = modes.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const [i, row] of rows.entries()) {
        const result = await autocannon({ url: servers[i]!.url, connections, duration });
        row.rounds.push(Math.round(result.requests.average));
        p99s[i]!.push(result.latency.p99);
        row.non_2xx += result.non2xx;
      }
    }
    for (const [i, row] of rows.entries()) {
      row.requests_per_s = median(row.rounds);
      row.p99_ms = median(p99s[i]!);
    }
    return rows;
  } finally {
    for (const { child } of servers) child.kill('SIGTERM');
  }
}

/** `inFlight` loops calling `decide` for `ms`; decisions per second. */
async function loop(inFlight: number, ms: number, decide: (i: number) => Promise<unknown>): Promise<number> {
  let count = 0;
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, worker) => {
      let i = worker;
      while (Date.now() < end) {
        await decide(i);
        i += inFlight;
        count++;
      }
    }),
  );
  return Math.round(count / (ms / 1000));
}

async function decisions(redisUrl: string, seconds: number, rounds: number) {
  const tag = `bench:dec:${process.pid}:`;
  const stoaClient = createRedisClient(redisUrl, { commandTimeoutMs: 2_000 });
  await stoaClient.connect();
  const limiter = new RateLimiter({ store: createRedisStore({ client: stoaClient, prefix: tag }) });
  const policy: Policy = { name: 'p', algorithm: 'fixed-window', limit: 1_000_000_000, windowMs: 60_000, scope: 'subject', failMode: 'open', twoTier: false };
  const rlfClient = new Redis(redisUrl);
  const rlf = new RateLimiterRedis({ storeClient: rlfClient, points: 1_000_000_000, duration: 60, keyPrefix: `${tag}rlf` });
  const stoaRun = () => loop(100, seconds * 1000, async (i) => limiter.decide([{ policy, partition: `k${i % 1000}` }]));
  const rlfRun = () => loop(100, seconds * 1000, (i) => rlf.consume(`k${i % 1000}`));
  await stoaRun();
  await rlfRun(); // warm-up both
  const stoa: number[] = [];
  const flexible: number[] = [];
  for (let round = 0; round < rounds; round++) {
    stoa.push(await stoaRun());
    flexible.push(await rlfRun());
  }
  stoaClient.disconnect();
  rlfClient.disconnect();
  const perRound = stoa.map((v, i) => v / flexible[i]!);
  return {
    stoa_decisions_per_s: median(stoa),
    rate_limiter_flexible_per_s: median(flexible),
    ratio: Number(median(perRound).toFixed(2)),
    rounds: perRound.map((r) => Number(r.toFixed(2))),
  };
}

async function twoTier(redisUrl: string) {
  const limit = 6_000;
  const ratePerProcess = 1_000;
  const syncMs = 100;
  const tag = `bench:tt:${process.pid}:`;
  const clients = [0, 1, 2].map(() => createRedisClient(redisUrl, { commandTimeoutMs: 2_000 }));
  await Promise.all(clients.map((c) => c.connect()));
  const limiters = clients.map((client) => new RateLimiter({ store: createRedisStore({ client, prefix: tag }), syncIntervalMs: syncMs }));
  const policy: Policy = { name: 'tt', algorithm: 'fixed-window', limit, windowMs: 60_000, scope: 'subject', failMode: 'open', twoTier: true };
  const check = { policy, partition: 'hot' };
  let admitted = 0;
  let requests = 0;
  let steady: { requests: number; trips: number } | undefined;
  const tickMs = 10;
  const perTick = (ratePerProcess * tickMs) / 1000;
  const started = Date.now();
  // Paced like real traffic: the limit is reached after limit / (3 × rate) seconds; run 1.5× that.
  const runMs = (1.5 * limit * 1000) / (3 * ratePerProcess);
  while (Date.now() - started < runMs) {
    const tick = Date.now();
    const batch: Promise<void>[] = [];
    for (const limiter of limiters) {
      for (let i = 0; i < perTick; i++) {
        requests++;
        batch.push(Promise.resolve(limiter.decide([check])).then((d) => void (d.allowed && admitted++)));
      }
    }
    await Promise.all(batch);
    // Steady state: before the near-limit zone (90 % of the limit) where the store is asked synchronously.
    if (!steady && admitted >= limit * 0.8) steady = { requests, trips: limiters.reduce((n, l) => n + l.roundTrips, 0) };
    await sleep(Math.max(0, tickMs - (Date.now() - tick)));
  }
  await Promise.all(limiters.map((l) => l.sync()));
  const trips = limiters.reduce((n, l) => n + l.roundTrips, 0);
  for (const l of limiters) l.close();
  for (const c of clients) c.disconnect();
  return {
    limit,
    processes: 3,
    rate_per_process: ratePerProcess,
    sync_ms: syncMs,
    requests,
    admitted,
    over_admission: admitted - limit,
    over_admission_pct: Number((((admitted - limit) / limit) * 100).toFixed(3)),
    round_trips_per_request_steady: steady ? Number((steady.trips / steady.requests).toFixed(4)) : null,
    round_trips_per_request_overall: Number((trips / requests).toFixed(4)),
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { duration: { type: 'string', default: '3' }, rounds: { type: 'string', default: '5' }, redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, 'skip-http': { type: 'boolean', default: false } },
  });
  const duration = Number(values.duration);
  const redisUrl = values.redis!;
  if (PIN) spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)]);
  const report: Record<string, unknown> = { date: new Date().toISOString(), cpus: cpus().length, loadavg: loadavg(), duration_s: duration, rounds: Number(values.rounds) };

  if (!values['skip-http']) {
    const rows = [
      ...(await http(MODES, 100, redisUrl, duration, Number(values.rounds))),
      ...(await http(APP_MODES, 10, redisUrl, duration, Number(values.rounds))),
    ];
    for (const row of rows) {
      process.stdout.write(`http  ${row.mode.padEnd(12)} ${String(row.requests_per_s).padStart(7)} req/s (rounds ${row.rounds.join(' ')})  p99 ${row.p99_ms} ms  non-2xx ${row.non_2xx}  [${row.headers.join(' ')}]\n`);
    }
    // Each round's modes ran back to back, so a round's ratio compares like with like; the median round ratio is
    // the result (the machine's load drifts between rounds more than within one).
    const byMode = Object.fromEntries(rows.map((r) => [r.mode, r.rounds]));
    const ratio = (a: string, b: string) => {
      const perRound = byMode[a]!.map((v, i) => v / byMode[b]![i]!);
      return { median: Number(median(perRound).toFixed(3)), rounds: perRound.map((r) => Number(r.toFixed(3))) };
    };
    const ratios = {
      stoa_memory_vs_plain: ratio('stoa-memory', 'plain'),
      stoa_memory_vs_fastify_rate_limit_memory: ratio('stoa-memory', 'frl-memory'),
      stoa_redis_vs_fastify_rate_limit_redis: ratio('stoa-redis', 'frl-redis'),
    };
    const reference = {
      headers_only_vs_plain: ratio('headers-only', 'plain'),
      stoa_memory_vs_headers_only: ratio('stoa-memory', 'headers-only'),
      stoa_app_limited_vs_unlimited: ratio('app-stoa', 'app-plain'),
    };
    for (const [name, r] of Object.entries(reference)) {
      process.stdout.write(`ref   ${name.padEnd(42)} ${r.median.toFixed(3)} (rounds ${r.rounds.join(' ')})\n`);
    }
    const targets = { stoa_memory_vs_plain: 0.9, stoa_memory_vs_fastify_rate_limit_memory: 1, stoa_redis_vs_fastify_rate_limit_redis: 1 };
    for (const [name, r] of Object.entries(ratios)) {
      const target = targets[name as keyof typeof targets];
      process.stdout.write(`ratio ${name.padEnd(42)} ${r.median.toFixed(3)} (rounds ${r.rounds.join(' ')})  target ≥ ${target}: ${r.median >= target ? 'met' : 'MISSED'}\n`);
    }
    report.http = { rows, ratios, reference };
  }

  const dec = await decisions(redisUrl, Math.max(1, Math.round(duration / 1.5)), Math.max(3, Number(values.rounds)));
  process.stdout.write(`decisions/s, 100 in flight: Stoa ${dec.stoa_decisions_per_s}  rate-limiter-flexible ${dec.rate_limiter_flexible_per_s}  ratio ${dec.ratio} (rounds ${dec.rounds.join(" ")})  target ≥ 1.5: ${dec.ratio >= 1.5 ? "met" : "MISSED"}\n`);
  report.decisions = dec;

  const tt = await twoTier(redisUrl);
  process.stdout.write(
    `two-tier: ${tt.admitted} admitted for a limit of ${tt.limit} (over-admission ${tt.over_admission_pct} %), round trips per request ${tt.round_trips_per_request_steady} steady, ${tt.round_trips_per_request_overall} overall\n`,
  );
  report.two_tier = tt;

  process.stdout.write(`wrote ${writeResult('rate-limit', report)}\n`);
  return 0;
}

runIfMain(import.meta.url, 'rate-limit', main);

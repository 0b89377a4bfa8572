/**
 * The request path against its floor, side by side in one run:
 *
 *   npm run bench -- pipeline [--duration 5] [--rounds 5] [--connections 50] [--warmup 2] [--database-url …] [--redis-url …]
 *                             [--skip-embedded] [--cpu-prof dir] [--baseline other-checkout] [--ladder]
 *
 * `GET /v1/products/{id}` through the whole of Stoa (authentication, both rate-limit header sets with two
 * policies, versioning, envelope, ETag) with an API key and with an access token, against a bare Fastify route
 * reading the same row by id and returning it as JSON (bench/pipeline-server.ts). On the embedded default the
 * bare route reads a PGlite of its own; with `--database-url` (and `--redis-url`, defaults from DATABASE_URL and
 * REDIS_URL) both read the same PostgreSQL. Each server is a child process; autocannon runs here. Rounds take
 * turns through the three targets; a ratio is the median of the rounds' ratios. The SQL statements one request
 * runs are counted by Stoa's server before it listens, and reported beside the ratios.
 * Each row also has the server process's CPU time per request (`cpu_us_per_request`; PostgreSQL's and Redis's own work
 * is outside it), steadier than req/s on a shared machine. `--cpu-prof dir` writes each server's V8 CPU profile there.
 * `--baseline dir` adds that checkout's Stoa (its own bench/pipeline-server.ts) to the same rounds, for an A/B.
 * `--ladder` adds the contract ladder (bench/pipeline-ladder.ts) to the same rounds: the bare route plus, cumulatively,
 * only the work the contract asks of every request (a log line, metrics, the two-policy rate limit, the fixed headers,
 * envelope and ETag, the API key), each with its ratio to bare and its CPU per request: the floor for any
 * implementation of the contract on this machine.
 * Target (issue #12): Stoa ≥ 0.8× the bare route for each credential and store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { runIfMain, writeResult } from './results.ts';

const SERVER = fileURLToPath(new URL('./pipeline-server.ts', import.meta.url));
const LADDER = fileURLToPath(new URL('./pipeline-ladder.ts', import.meta.url));
const RUNGS = ['log', 'metrics', 'ratelimit', 'contract', 'auth'] as const;

interface Started<T> {
  child: ChildProcess;
  info: T;
}

async function startServer<T>(args: string[], cpuProfDir: string, server = SERVER): Promise<Started<T>> {
  const profile = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', server, ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.dirname(path.dirname(server)) });
  const info = await new Promise<T>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as T);
    });
    child.on('exit', (code) => reject(new Error(`pipeline-server ${args[0]} exited with ${code}`)));
  });
  return { child, info };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** User + system CPU time a process has used, in microseconds (Linux /proc; clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface StoaInfo {
  port: number;
  path: string;
  apiKey: string;
  accessToken: string;
  schema?: string;
  statements: { api_key: number; jwt: number };
}

async function measureStore(label: string, databaseUrl: string | undefined, redisUrl: string | undefined, opts: { duration: number; rounds: number; connections: number; cpuProfDir: string; baseline: string; warmup: number; ladder: boolean }) {
  const stoa = await startServer<StoaInfo>(['stoa', databaseUrl ?? '', redisUrl ?? ''], opts.cpuProfDir);
  const bare = await startServer<{ port: number; path: string }>(['bare', databaseUrl ?? '', stoa.info.schema ?? ''], opts.cpuProfDir);
  const base = opts.baseline ? await startServer<StoaInfo>(['stoa', databaseUrl ?? '', redisUrl ?? ''], opts.cpuProfDir, path.resolve(opts.baseline, 'bench/pipeline-server.ts')) : undefined;
  const ladder: Started<{ port: number; path: string; apiKey: string }>[] = [];
  if (opts.ladder) for (const rung of RUNGS) ladder.push(await startServer(['' + rung, databaseUrl ?? '', stoa.info.schema ?? '', redisUrl ?? ''], opts.cpuProfDir, LADDER));
  try {
    const ladderTargets = ladder.map((server, i) => ({
      name: `ladder-${RUNGS[i]}`,
      pid: server.child.pid!,
      url: `http://127.0.0.1:${server.info.port}${server.info.path}`,
      headers: (RUNGS[i] === 'auth' ? { 'x-api-key': server.info.apiKey } : {}) as Record<string, string>,
    }));
    const baseTargets = base
      ? [
          { name: 'base-api-key', pid: base.child.pid!, url: `http://127.0.0.1:${base.info.port}${base.info.path}`, headers: { 'x-api-key': base.info.apiKey } as Record<string, string> },
          { name: 'base-jwt', pid: base.child.pid!, url: `http://127.0.0.1:${base.info.port}${base.info.path}`, headers: { authorization: `Bearer ${base.info.accessToken}` } as Record<string, string> },
        ]
      : [];
    const targets = [
      { name: 'bare', pid: bare.child.pid!, url: `http://127.0.0.1:${bare.info.port}${bare.info.path}`, headers: {} as Record<string, string> },
      { name: 'stoa-api-key', pid: stoa.child.pid!, url: `http://127.0.0.1:${stoa.info.port}${stoa.info.path}`, headers: { 'x-api-key': stoa.info.apiKey } },
      { name: 'stoa-jwt', pid: stoa.child.pid!, url: `http://127.0.0.1:${stoa.info.port}${stoa.info.path}`, headers: { authorization: `Bearer ${stoa.info.accessToken}` } },
      ...baseTargets,
      ...ladderTargets,
    ];
    for (const target of targets) await autocannon({ url: target.url, headers: target.headers, connections: opts.connections, duration: opts.warmup });
    const rps: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
    // The server process's CPU time per answered request: far steadier than req/s on a shared machine.
    const cpu: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
    const errors: Record<string, number> = Object.fromEntries(targets.map((t) => [t.name, 0]));
    for (let round = 0; round < opts.rounds; round++) {
      for (const target of targets) {
        const cpuBefore = cpuMicros(target.pid);
        const result = await autocannon({ url: target.url, headers: target.headers, connections: opts.connections, duration: opts.duration });
        cpu[target.name]!.push((cpuMicros(target.pid) - cpuBefore) / Math.max(1, result.requests.total));
        rps[target.name]!.push(result.requests.average);
        errors[target.name]! += result.non2xx + result.errors;
      }
      process.stderr.write(
        `${label} round ${round + 1}: ${targets.map((t) => `${t.name} ${Math.round(rps[t.name]!.at(-1)!)} req/s ${Math.round(cpu[t.name]!.at(-1)!)} µs`).join(', ')}\n`,
      );
    }
    const ratio = (name: string) => Number(median(rps[name]!.map((value, i) => value / rps.bare![i]!)).toFixed(3));
    return {
      store: label,
      bare_rps: Math.round(median(rps.bare!)),
      api_key_rps: Math.round(median(rps['stoa-api-key']!)),
      jwt_rps: Math.round(median(rps['stoa-jwt']!)),
      api_key_ratio: ratio('stoa-api-key'),
      jwt_ratio: ratio('stoa-jwt'),
      cpu_us_per_request: { bare: Math.round(median(cpu.bare!)), api_key: Math.round(median(cpu['stoa-api-key']!)), jwt: Math.round(median(cpu['stoa-jwt']!)) },
      cpu_ratio_bare_over_api_key: Number((median(cpu.bare!) / median(cpu['stoa-api-key']!)).toFixed(3)),
      cpu_ratio_bare_over_jwt: Number((median(cpu.bare!) / median(cpu['stoa-jwt']!)).toFixed(3)),
      ...(base
        ? {
            baseline: opts.baseline,
            baseline_cpu_us_per_request: { api_key: Math.round(median(cpu['base-api-key']!)), jwt: Math.round(median(cpu['base-jwt']!)) },
            baseline_api_key_ratio: ratio('base-api-key'),
            baseline_jwt_ratio: ratio('base-jwt'),
          }
        : {}),
      ...(opts.ladder
        ? {
            ladder: Object.fromEntries(
              RUNGS.map((rung) => [rung, { rps: Math.round(median(rps[`ladder-${rung}`]!)), ratio: ratio(`ladder-${rung}`), cpu_us_per_request: Math.round(median(cpu[`ladder-${rung}`]!)) }]),
            ),
          }
        : {}),
      statements_api_key: stoa.info.statements.api_key,
      statements_jwt: stoa.info.statements.jwt,
      non_2xx_or_errors: errors,
      rounds: rps,
      cpu_rounds: cpu,
    };
  } finally {
    await Promise.all([stop(stoa.child), stop(bare.child), ...(base ? [stop(base.child)] : []), ...ladder.map((server) => stop(server.child))]);
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '50' },
      'database-url': { type: 'string', default: process.env.DATABASE_URL ?? '' },
      'redis-url': { type: 'string', default: process.env.REDIS_URL ?? '' },
      'skip-embedded': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string', default: '' },
      baseline: { type: 'string', default: '' },
      warmup: { type: 'string', default: '2' },
      ladder: { type: 'boolean', default: false },
    },
  });
  const opts = {
    duration: Number(values.duration),
    rounds: Number(values.rounds),
    connections: Number(values.connections),
    cpuProfDir: values['cpu-prof'],
    baseline: values.baseline,
    warmup: Number(values.warmup),
    ladder: values.ladder,
  };
  const rows = [];
  if (!values['skip-embedded']) rows.push(await measureStore('pglite', undefined, undefined, opts));
  if (values['database-url']) rows.push(await measureStore('postgres+redis', values['database-url'], values['redis-url'] || undefined, opts));
  console.table(
    rows.map(({ rounds: _rounds, cpu_rounds: _cpu, non_2xx_or_errors: _errors, cpu_us_per_request: cpuUs, ladder: _ladder, ...row }) => ({ ...row, cpu_us: `${cpuUs.bare} / ${cpuUs.api_key} / ${cpuUs.jwt}` })),
  );
  for (const row of rows) {
    if (!row.ladder) continue;
    process.stdout.write(`${row.store} contract ladder (cumulative; bare ${row.bare_rps} req/s, ${row.cpu_us_per_request.bare} µs):\n`);
    console.table(Object.entries(row.ladder).map(([rung, r]) => ({ rung: `+ ${rung}`, rps: r.rps, ratio: r.ratio, cpu_us: r.cpu_us_per_request })));
  }
  const file = writeResult('pipeline', { ...opts, load_average: loadavg(), rows });
  process.stdout.write(`wrote ${file}\n`);
  return rows.every((row) => Object.values(row.non_2xx_or_errors).every((n) => n === 0)) ? 0 : 1;
}

runIfMain(import.meta.url, 'pipeline', main);

/**
 * The request path against its floor, side by side in one run:
 *
 *   npm run bench -- pipeline [--duration 5] [--rounds 5] [--connections 50] [--database-url …] [--redis-url …]
 *
 * `GET /v1/products/{id}` through the whole of Stoa (authentication, both rate-limit header sets with two
 * policies, versioning, envelope, ETag) with an API key and with an access token, against a bare Fastify route
 * reading the same row by id and returning it as JSON (bench/pipeline-server.ts). On the embedded default the
 * bare route reads a PGlite of its own; with `--database-url` (and `--redis-url`, defaults from DATABASE_URL and
 * REDIS_URL) both read the same PostgreSQL. Each server is a child process; autocannon runs here. Rounds take
 * turns through the three targets; a ratio is the median of the rounds' ratios. The SQL statements one request
 * runs are counted by Stoa's server before it listens, and reported beside the ratios.
 * Target (issue #12): Stoa ≥ 0.8× the bare route for each credential and store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { runIfMain, writeResult } from './results.ts';

const SERVER = fileURLToPath(new URL('./pipeline-server.ts', import.meta.url));

interface Started<T> {
  child: ChildProcess;
  info: T;
}

async function startServer<T>(args: string[]): Promise<Started<T>> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface StoaInfo {
  port: number;
  path: string;
  apiKey: string;
  accessToken: string;
  schema?: string;
  statements: { api_key: number; jwt: number };
}

async function measureStore(label: string, databaseUrl: string | undefined, redisUrl: string | undefined, opts: { duration: number; rounds: number; connections: number }) {
  const stoa = await startServer<StoaInfo>(['stoa', databaseUrl ?? '', redisUrl ?? '']);
  const bare = await startServer<{ port: number; path: string }>(['bare', databaseUrl ?? '', stoa.info.schema ?? '']);
  try {
    const targets = [
      { name: 'bare', url: `http://127.0.0.1:${bare.info.port}${bare.info.path}`, headers: {} as Record<string, string> },
      { name: 'stoa-api-key', url: `http://127.0.0.1:${stoa.info.port}${stoa.info.path}`, headers: { 'x-api-key': stoa.info.apiKey } },
      { name: 'stoa-jwt', url: `http://127.0.0.1:${stoa.info.port}${stoa.info.path}`, headers: { authorization: `Bearer ${stoa.info.accessToken}` } },
    ];
    for (const target of targets) await autocannon({ url: target.url, headers: target.headers, connections: opts.connections, duration: 1 });
    const rps: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
    const errors: Record<string, number> = Object.fromEntries(targets.map((t) => [t.name, 0]));
    for (let round = 0; round < opts.rounds; round++) {
      for (const target of targets) {
        const result = await autocannon({ url: target.url, headers: target.headers, connections: opts.connections, duration: opts.duration });
        rps[target.name]!.push(result.requests.average);
        errors[target.name]! += result.non2xx + result.errors;
      }
      process.stderr.write(`${label} round ${round + 1}: ${targets.map((t) => `${t.name} ${Math.round(rps[t.name]!.at(-1)!)}`).join(', ')} req/s\n`);
    }
    const ratio = (name: string) => Number(median(rps[name]!.map((value, i) => value / rps.bare![i]!)).toFixed(3));
    return {
      store: label,
      bare_rps: Math.round(median(rps.bare!)),
      api_key_rps: Math.round(median(rps['stoa-api-key']!)),
      jwt_rps: Math.round(median(rps['stoa-jwt']!)),
      api_key_ratio: ratio('stoa-api-key'),
      jwt_ratio: ratio('stoa-jwt'),
      statements_api_key: stoa.info.statements.api_key,
      statements_jwt: stoa.info.statements.jwt,
      non_2xx_or_errors: errors,
      rounds: rps,
    };
  } finally {
    await Promise.all([stop(stoa.child), stop(bare.child)]);
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
    },
  });
  const opts = { duration: Number(values.duration), rounds: Number(values.rounds), connections: Number(values.connections) };
  const rows = [];
  if (!values['skip-embedded']) rows.push(await measureStore('pglite', undefined, undefined, opts));
  if (values['database-url']) rows.push(await measureStore('postgres+redis', values['database-url'], values['redis-url'] || undefined, opts));
  console.table(rows.map(({ rounds: _rounds, non_2xx_or_errors: _errors, ...row }) => row));
  const file = writeResult('pipeline', { ...opts, load_average: loadavg(), rows });
  process.stdout.write(`wrote ${file}\n`);
  return rows.every((row) => Object.values(row.non_2xx_or_errors).every((n) => n === 0)) ? 0 : 1;
}

runIfMain(import.meta.url, 'pipeline', main);

/**
 * Idempotency overhead: the same POST with and without an Idempotency-Key, side by side.
 *
 *   node --import tsx bench/idempotency.ts [--reps N] [--warmup N] [--assert]     # PGlite in memory unless DATABASE_URL
 *
 * Starts Stoa in-process on a real port and times, over real HTTP (keep-alive),
 * POST /v1/posts (a post and its post.created event, one transaction):
 *   plain     no key
 *   keyed     a fresh Idempotency-Key each time (the key locked with the post's BEGIN, the
 *             response stored in one more statement of the same transaction)
 *   replay    a key already used, same body (the handler runs, meets the record, rolls back
 *             and answers with it)
 * Plain and keyed alternate request by request, so drift hits both alike.
 * Prints a table, writes bench/results/idempotency-<timestamp>.json.
 * Target (issue 5): keyed within 1.2× of plain.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { runIfMain, writeResult } from './results.ts';

const TARGET_RATIO = 1.2;

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median_ms: round(at(0.5)), p90_ms: round(at(0.9)), min_ms: round(sorted[0]!), max_ms: round(sorted[sorted.length - 1]!), n: samples.length };
}
const round = (n: number) => Math.round(n * 1000) / 1000;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { reps: { type: 'string', default: '300' }, warmup: { type: 'string', default: '50' }, assert: { type: 'boolean', default: false } },
  });
  const reps = Number(values.reps);
  const warmup = Number(values.warmup);

  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    STOA_DATA_DIR: process.env.DATABASE_URL ? 'memory' : 'memory',
    STOA_RATE_LIMIT: 'off',
    STOA_LOAD_SHEDDING: 'off',
    STOA_SEED_DEMO: 'false',
    STOA_PASSWORD_HASH_COST: '12',
  });
  const schema = process.env.DATABASE_URL ? `bench_idem_${Date.now().toString(36)}` : undefined;
  const container = await createContainer(config, schema ? { schema } : {});
  const app = await buildApp(container);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  try {
    const email = `bench.${randomUUID()}@example.com`;
    const password = 'bench password 123';
    await fetch(`${base}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'Bench', password }) });
    const login = (await (await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })).json()) as {
      data: { access_token: string };
    };
    const auth = `Bearer ${login.data.access_token}`;

    const post = async (key: string | undefined, body: string): Promise<number> => {
      const started = performance.now();
      const res = await fetch(`${base}/v1/posts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth, ...(key ? { 'idempotency-key': key } : {}) },
        body,
      });
      await res.arrayBuffer();
      const elapsed = performance.now() - started;
      if (res.status !== 201) throw new Error(`POST /v1/posts answered ${res.status}`);
      return elapsed;
    };
    const bodyOf = (i: number) => JSON.stringify({ title: `Bench ${i}`, content: `Post number ${i} of the idempotency benchmark.` });

    for (let i = 0; i < warmup; i++) {
      await post(undefined, bodyOf(i));
      await post(randomUUID(), bodyOf(i));
    }
    const plain: number[] = [];
    const keyed: number[] = [];
    const replay: number[] = [];
    const used: Array<{ key: string; body: string }> = [];
    for (let i = 0; i < reps; i++) {
      const body = bodyOf(i);
      // Alternate which goes first, so neither always follows the other.
      if (i % 2 === 0) {
        plain.push(await post(undefined, body));
        const key = randomUUID();
        keyed.push(await post(key, body));
        used.push({ key, body });
      } else {
        const key = randomUUID();
        keyed.push(await post(key, body));
        used.push({ key, body });
        plain.push(await post(undefined, body));
      }
    }
    for (const { key, body } of used) replay.push(await post(key, body));

    const results = { plain: summary(plain), keyed: summary(keyed), replay: summary(replay) };
    const overhead = round(results.keyed.median_ms / results.plain.median_ms);
    const replayRatio = round(results.replay.median_ms / results.keyed.median_ms);
    const line = (name: string, s: ReturnType<typeof summary>) =>
      `${name.padEnd(28)}${s.median_ms.toFixed(2).padStart(10)}${s.p90_ms.toFixed(2).padStart(10)}${s.min_ms.toFixed(2).padStart(10)}`;
    console.log(`\nPOST /v1/posts over HTTP, ${reps} each, ${container.database.kind}`);
    console.log(`${''.padEnd(28)}${'median ms'.padStart(10)}${'p90 ms'.padStart(10)}${'min ms'.padStart(10)}`);
    console.log(line('without Idempotency-Key', results.plain));
    console.log(line('with a new Idempotency-Key', results.keyed));
    console.log(line('replay (same key and body)', results.replay));
    console.log(`\noverhead: keyed / plain = ${overhead}× (target ≤ ${TARGET_RATIO}×): ${overhead <= TARGET_RATIO ? 'met' : 'MISSED'}`);
    console.log(`replay / original (keyed) = ${replayRatio}×`);

    const file = writeResult('idempotency', {
      benchmark: 'idempotency',
      at: new Date().toISOString(),
      database: container.database.kind,
      node: process.version,
      cpus: cpus().length,
      load: loadavg(),
      reps,
      warmup,
      results,
      overhead_ratio: overhead,
      replay_vs_original_ratio: replayRatio,
      target: { overhead_ratio_max: TARGET_RATIO, met: overhead <= TARGET_RATIO },
      samples_ms: { plain, keyed, replay },
    });
    console.log(`\n${file}`);
    if (values.assert && overhead > TARGET_RATIO) return 1;
  } finally {
    await app.close();
    await container.close();
    if (schema) {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }
  return 0;
}

runIfMain(import.meta.url, 'idempotency', main);

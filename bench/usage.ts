/**
 * Usage counting: what GET /v1/usage costs a request, and what a batch write costs.
 *
 *   npm run bench -- usage [--ops 2000000] [--rows 1000]
 *   node --import tsx bench/usage.ts
 *
 * 1. Per request (side by side in one run): a bare Map increment on a fixed
 *    key (the floor), then `UsageRecorder.record` with the samples a process
 *    sees (a few callers, keys, versions and statuses), which builds its key
 *    and increments. Nanoseconds per call, median of 5 rounds.
 * 2. Per flush: `--rows` distinct per-minute rows upserted in one batch into
 *    the embedded PGlite (or PostgreSQL with DATABASE_URL), twice — the second
 *    write adds to existing rows. Milliseconds per batch.
 * Writes bench/results/usage-<timestamp>.json.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { UsageRecorder, type UsageSample } from '../src/platform/usage/index.ts';
import type { UsageRepository } from '../src/domain/usage/index.ts';
import { runIfMain, writeResult } from './results.ts';

const ROUNDS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function nsPerOp(ops: number, run: (i: number) => void): number {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) run(i);
    rounds.push(Number(process.hrtime.bigint() - start) / ops);
  }
  return median(rounds);
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ops: { type: 'string', default: '2000000' }, rows: { type: 'string', default: '1000' } } });
  const ops = Number(values.ops);
  const rows = Number(values.rows);

  // 1. The per-request cost.
  const bare = new Map<string, number>();
  const fixed = 'k';
  const mapNs = nsPerOp(ops, () => bare.set(fixed, (bare.get(fixed) ?? 0) + 1));
  const noStore: UsageRepository = { add: async () => undefined, sum: async () => [] };
  const recorder = new UsageRecorder({ store: noStore, flushIntervalMs: 60_000 });
  const samples: UsageSample[] = [];
  const now = Date.now();
  for (let i = 0; i < 64; i++) {
    samples.push({ userId: `usr_${i % 8}`, apiKeyId: i % 3 === 0 ? null : `key_${i % 5}`, apiVersion: i % 4 === 0 ? '1' : '2', status: [200, 201, 404, 429][i % 4]!, at: now + i });
  }
  const recordNs = nsPerOp(ops, (i) => recorder.record(samples[i & 63]!));
  await recorder.close();

  // 2. The per-flush cost, on the configured store.
  const config = loadConfig({ STOA_DATA_DIR: 'memory', STOA_SEED_DEMO: 'false', ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}) });
  const container = await createContainer(config);
  const store = container.usageRecorder;
  const tag = randomBytes(4).toString('hex');
  const minute = Math.floor(now / 60_000) * 60_000;
  const fill = () => {
    for (let i = 0; i < rows; i++) store.record({ userId: `bench_${tag}_${i}`, apiKeyId: null, apiVersion: '2', status: 200, at: minute });
  };
  const flushMs: number[] = [];
  for (let round = 0; round < 2; round++) {
    fill();
    const start = process.hrtime.bigint();
    await store.flush();
    flushMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  await container.database.db.deleteFrom('usage_counts').where('user_id', 'like', `bench_${tag}_%`).execute();
  await container.close();

  const report = {
    when: new Date().toISOString(),
    load_average: loadavg()[0],
    store: container.database.kind,
    per_request: { ops, bare_map_increment_ns: +mapNs.toFixed(1), recorder_record_ns: +recordNs.toFixed(1), ratio: +(recordNs / mapNs).toFixed(2) },
    per_flush: { rows, insert_ms: +flushMs[0]!.toFixed(1), add_to_existing_ms: +flushMs[1]!.toFixed(1) },
  };
  process.stdout.write(
    `usage counting (${ops} ops, median of ${ROUNDS})\n` +
      `  bare Map increment      ${report.per_request.bare_map_increment_ns} ns\n` +
      `  UsageRecorder.record    ${report.per_request.recorder_record_ns} ns  (${report.per_request.ratio}×)\n` +
      `flush of ${rows} rows on ${report.store}: ${report.per_flush.insert_ms} ms new, ${report.per_flush.add_to_existing_ms} ms adding\n` +
      `→ ${writeResult('usage', report)}\n`,
  );
  return 0;
}

runIfMain(import.meta.url, 'usage', main);

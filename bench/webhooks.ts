/**
 * Outbound webhook throughput and latency:
 *   node --import tsx bench/webhooks.ts [--events N]     # PGlite in memory unless DATABASE_URL
 *
 * One worker delivers N events (post.created) to a local receiver that answers
 * at once, against the same number of plain signed fetch POSTs from a bare
 * loop with the same concurrency, in the same run. Reports deliveries per
 * second, commit-to-delivery latency p50/p99, lost events and duplicates.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import type { Principal } from '../src/domain/shared/principal.ts';
import { signatureHeader, mintWebhookSecret } from '../src/platform/webhooks/index.ts';
import { createWorker } from '../src/workers/index.ts';
import { runIfMain, writeResult } from './results.ts';

const quantile = (sorted: number[], q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { events: { type: 'string', default: '300' } } });
  const events = Number(values.events);
  const concurrency = 8;
  const received = new Map<string, number>();
  let duplicates = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      if (received.has(id)) duplicates++;
      else received.set(id, performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;

  const schema = process.env.DATABASE_URL ? `bench_${randomUUID().slice(0, 8)}` : undefined;
  const config = loadConfig({
    NODE_ENV: 'test',
    STOA_DATA_DIR: 'memory',
    STOA_SEED_DEMO: 'false',
    STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    STOA_WORKER_POLL_MS: '20',
    STOA_WORKER_CONCURRENCY: String(concurrency * 2),
    STOA_WEBHOOK_ENDPOINT_CONCURRENCY: String(concurrency),
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  });
  let statements = 0;
  const container = await createContainer(config, { ...(schema ? { schema } : {}), onQuery: () => void statements++ });
  try {
    const user = await container.users.ensureAdmin(`bench.${randomUUID()}@example.com`, 'bench password 1');
    const actor: Principal = { userId: user.id, role: 'user', plan: 'free', via: 'session', apiKeyId: null, scopes: null, apiVersion: null };
    await container.webhooks.create(actor, { url: `http://127.0.0.1:${port}/hook`, event_types: ['post.created'] });
    const worker = createWorker(container);

    // Throughput: N events committed first, then one worker drains them.
    for (let i = 0; i < events; i++) await container.posts.create(actor, { title: `bench ${i}`, content: 'x' });
    const started = performance.now();
    const statementsBefore = statements;
    await worker.start();
    const deadline = Date.now() + 120_000;
    while (received.size < events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const drained = received.size;
    const finished = Math.max(...received.values());
    // SQL statements the worker ran per delivery while draining (claims, reads, records, settlements; BEGIN/COMMIT count).
    const statementsPerDelivery = Math.round(((statements - statementsBefore) / Math.max(1, drained)) * 10) / 10;

    // Latency: with the worker running, events committed one at a time, commit → receipt.
    const latencySamples = Math.min(100, events);
    const latencies: number[] = [];
    for (let i = 0; i < latencySamples; i++) {
      const before = received.size;
      const committed = performance.now();
      await container.posts.create(actor, { title: `latency ${i}`, content: 'x' });
      while (received.size === before && performance.now() - committed < 30_000) await new Promise((r) => setTimeout(r, 2));
      latencies.push(Math.max(...received.values()) - committed);
    }
    latencies.sort((a, b) => a - b);
    await worker.stop(1_000);
    const stoa = { delivered: drained, lost: events + latencySamples - received.size, duplicates, seconds: (finished - started) / 1000 };

    // Baseline: the same number of signed POSTs from a bare loop, same concurrency.
    const secret = mintWebhookSecret();
    const base = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < events) {
          const i = next++;
          const id = `base_${i}`;
          const body = JSON.stringify({ id, type: 'bench', timestamp: new Date().toISOString(), data: { i } });
          const ts = Math.floor(Date.now() / 1000);
          await fetch(`http://127.0.0.1:${port}/base`, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([secret], id, ts, body) }, body });
        }
      }),
    );
    const baseSeconds = (performance.now() - base) / 1000;
    const report = {
      store: process.env.DATABASE_URL ? 'postgres' : 'pglite',
      events,
      concurrency,
      machine: { cpus: cpus().length, loadavg: loadavg() },
      stoa: { ...stoa, per_second: Math.round(stoa.delivered / stoa.seconds), statements_per_delivery: statementsPerDelivery, latency_ms: { p50: Math.round(quantile(latencies, 0.5)), p99: Math.round(quantile(latencies, 0.99)) } },
      bare_fetch: { posts: events, seconds: baseSeconds, per_second: Math.round(events / baseSeconds) },
    };
    process.stdout.write(
      `webhooks (${report.store}, ${events} events, concurrency ${concurrency})\n` +
        `  Stoa worker   ${report.stoa.per_second}/s  p50 ${report.stoa.latency_ms.p50} ms  p99 ${report.stoa.latency_ms.p99} ms  lost ${stoa.lost}  duplicates ${duplicates}  ${statementsPerDelivery} SQL statements per delivery\n` +
        `  bare fetch    ${report.bare_fetch.per_second}/s\n`,
    );
    process.stdout.write(`  → ${writeResult('webhooks', report)}\n`);
    return stoa.lost === 0 ? 0 : 1;
  } finally {
    await container.close();
    server.close();
    if (schema) {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }
}

runIfMain(import.meta.url, 'webhooks', main);

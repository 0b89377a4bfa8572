/**
 * `npm run bench -- sdk [--reps 2000] [--rounds 5]`: what the SDK's runtime
 * costs per call over a bare `fetch` + `JSON.parse`, against a local stub
 * server answering the same small JSON document (so the server's own time
 * drops out). Interleaved rounds, medians of per-call time; the ratio is the
 * number to watch. Also a 20-page walk: `for await` over `list()` against a
 * hand-written cursor loop.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createStoa } from '../sdk/src/index.ts';
import { runIfMain, writeResult } from './results.ts';

const PRODUCT = { id: 'prd_1', name: 'Widget', category: 'x', price: 500, currency: 'EUR', stock: 10, links: { self: '/v2/products/prd_1' } };
const PAGES = 20;

function stub(): http.Server {
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const headers = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': String(request.headers['x-request-id'] ?? 'r'), etag: '"1"' };
    if (url.pathname === '/v2/products') {
      const page = Number(url.searchParams.get('cursor') ?? '0');
      const next = page + 1 < PAGES ? String(page + 1) : null;
      response.writeHead(200, headers).end(JSON.stringify({ data: Array.from({ length: 20 }, () => PRODUCT), pagination: { next_cursor: next, prev_cursor: null, has_more: next !== null } }));
      return;
    }
    response.writeHead(200, headers).end(JSON.stringify({ data: PRODUCT }));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timePerCall(reps: number, call: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) await call();
  return Number(process.hrtime.bigint() - started) / 1e3 / reps;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { reps: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' } } });
  const reps = Number(values.reps);
  const rounds = Number(values.rounds);
  const server = stub();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stoa = createStoa({ baseUrl: base, apiKey: 'stoa_bench' });
  const bare = async () => {
    const response = await fetch(`${base}/v2/products/prd_1`, { headers: { accept: 'application/json', authorization: 'Bearer stoa_bench' } });
    return ((await response.json()) as { data: unknown }).data;
  };
  const viaSdk = () => stoa.products.get('prd_1');
  const walkBare = async () => {
    let cursor: string | null = null;
    let n = 0;
    do {
      const url: string = `${base}/v2/products${cursor ? `?cursor=${cursor}` : ''}`;
      const body = (await (await fetch(url, { headers: { authorization: 'Bearer stoa_bench' } })).json()) as { data: unknown[]; pagination: { next_cursor: string | null } };
      n += body.data.length;
      cursor = body.pagination.next_cursor;
    } while (cursor);
    return n;
  };
  const walkSdk = async () => {
    let n = 0;
    for await (const _ of stoa.products.list()) n++;
    return n;
  };

  try {
    await timePerCall(200, bare);
    await timePerCall(200, viaSdk);
    const samples = { bare: [] as number[], sdk: [] as number[], walkBare: [] as number[], walkSdk: [] as number[] };
    const walks = Math.max(5, Math.floor(reps / 100));
    for (let round = 0; round < rounds; round++) {
      samples.bare.push(await timePerCall(reps, bare));
      samples.sdk.push(await timePerCall(reps, viaSdk));
      samples.walkBare.push(await timePerCall(walks, walkBare));
      samples.walkSdk.push(await timePerCall(walks, walkSdk));
    }
    const rows = [
      { case: 'GET one resource', bare_us: median(samples.bare), sdk_us: median(samples.sdk) },
      { case: `walk ${PAGES} pages × 20 items`, bare_us: median(samples.walkBare), sdk_us: median(samples.walkSdk) },
    ].map((r) => ({ ...r, ratio: r.sdk_us / r.bare_us }));
    process.stdout.write(`sdk vs bare fetch (${rounds} rounds × ${reps} calls; medians, µs per call)\n`);
    for (const r of rows) process.stdout.write(`  ${r.case.padEnd(28)} bare ${r.bare_us.toFixed(0).padStart(6)}  sdk ${r.sdk_us.toFixed(0).padStart(6)}  ratio ${r.ratio.toFixed(2)}×\n`);
    process.stdout.write(`JSON: ${writeResult('sdk', { reps, rounds, rows, samples })}\n`);
    return 0;
  } finally {
    server.close();
  }
}

runIfMain(import.meta.url, 'sdk', main);

/**
 * `npm run bench -- startup [--runs 5] [--idle-seconds 10] [--bin path/to/stoa.mjs]`
 *
 * Starts Stoa the way a new user does (`stoa serve` on the embedded default, demo data included) and measures:
 * - cold: a new data directory (initdb or its template, migrations, demo data) until `/healthz` answers 200;
 * - warm: the same directory again;
 * - RSS after `--idle-seconds` at rest, after the warm start.
 * Each run reports wall time and the CPU time the process had used when it became healthy (read from /proc),
 * which other load on the machine disturbs much less than wall time. Medians of `--runs` runs.
 * `--bin` measures another checkout (say, the previous commit) on the same machine in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runIfMain, writeResult } from './results.ts';

const DEFAULT_BIN = fileURLToPath(new URL('../bin/stoa.mjs', import.meta.url));
const CLOCK_TICKS = 100;

interface Start {
  wallMs: number;
  cpuMs: number;
}

interface Run {
  cold: Start;
  warm: Start;
  rssMb: number;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { runs: { type: 'string', default: '5' }, 'idle-seconds': { type: 'string', default: '10' }, bin: { type: 'string', multiple: true } },
  });
  const runs = Number(values.runs);
  const idleMs = Number(values['idle-seconds']) * 1000;
  const bins = values.bin?.length ? values.bin.map((b) => path.resolve(b)) : [DEFAULT_BIN];
  const results: Record<string, Run[]> = Object.fromEntries(bins.map((bin) => [bin, []]));
  // Interleaved: run i of every binary before run i + 1 of any, so a change in the machine's load hits all alike.
  for (let i = 0; i < runs; i++) {
    for (const bin of bins) {
      const run = await measure(bin, idleMs);
      results[bin]!.push(run);
      process.stderr.write(`${path.relative(process.cwd(), bin)} run ${i + 1}: cold ${run.cold.wallMs} ms (cpu ${run.cold.cpuMs}), warm ${run.warm.wallMs} ms (cpu ${run.warm.cpuMs}), rss ${run.rssMb} MB\n`);
    }
  }
  const summary = Object.entries(results).map(([bin, list]) => ({
    bin: path.relative(process.cwd(), bin),
    cold_ms: median(list.map((r) => r.cold.wallMs)),
    cold_cpu_ms: median(list.map((r) => r.cold.cpuMs)),
    warm_ms: median(list.map((r) => r.warm.wallMs)),
    warm_cpu_ms: median(list.map((r) => r.warm.cpuMs)),
    rss_at_rest_mb: median(list.map((r) => r.rssMb)),
  }));
  console.table(summary);
  const file = writeResult('startup', { runs, idle_seconds: idleMs / 1000, summary, raw: results });
  process.stdout.write(`wrote ${file}\n`);
  return 0;
}

async function measure(bin: string, idleMs: number): Promise<Run> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-startup-'));
  try {
    const cold = await start(bin, dataDir);
    await stop(cold.child);
    const warm = await start(bin, dataDir);
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const rssMb = Math.round(residentKb(warm.child.pid!) / 1024);
    await stop(warm.child);
    return { cold: cold.start, warm: warm.start, rssMb };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function start(bin: string, dataDir: string): Promise<{ child: ChildProcess; start: Start }> {
  const port = await freePort();
  const began = performance.now();
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', STOA_DATA_DIR: dataDir, PORT: String(port), GRPC_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${bin} exited with ${code} before it was healthy`))));
  const deadline = began + 120_000;
  while (performance.now() < deadline) {
    const healthy = await Promise.race([fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), exited]);
    if (healthy) {
      const wallMs = Math.round(performance.now() - began);
      return { child, start: { wallMs, cpuMs: cpuMs(child.pid!) } };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`${bin} was not healthy within 120 s`);
}

function cpuMs(pid: number): number {
  // /proc/<pid>/stat: fields 14 and 15 are user and system time in clock ticks (after the parenthesised name).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Math.round(((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS);
}

function residentKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

runIfMain(import.meta.url, 'startup', main);

/**
 * Instructions per request on the hello route, counted by valgrind's
 * callgrind — a measure the machine's load does not move:
 *
 *   node --import tsx bench/rate-limit-instructions.ts [--small 4000] [--large 44000] [--modes plain,headers-only,stoa-memory,frl-memory]
 *
 * Each mode's server (bench/rate-limit-server.ts) runs twice under callgrind,
 * answering `--small` and then `--large` requests; instructions per request is
 * the difference of the totals over the difference of the counts, so start-up
 * and compilation cancel out. Ratios are plain ÷ mode, comparable with the
 * throughput ratios of bench/rate-limit.ts (fewer instructions, more requests).
 * Needs `valgrind`; takes a few minutes.
 *
 * Prints a table and writes bench/results/rate-limit-instructions-<timestamp>.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { runIfMain, writeResult } from './results.ts';

const SERVER = fileURLToPath(new URL('./rate-limit-server.ts', import.meta.url));
const PIN = cpus().length > 1 && spawnSync('taskset', ['-V']).status === 0;

/** Total instructions of one server run that answered `requests` requests. */
async function countRun(mode: string, requests: number, dir: string): Promise<number> {
  const out = path.join(dir, `${mode}-${requests}.callgrind`);
  const command = ['valgrind', '--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, '--import', 'tsx', SERVER, mode];
  const pinned = PIN ? ['taskset', '-c', String(cpus().length - 1), ...command] : command;
  const child = spawn(pinned[0]!, pinned.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const port = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const match = /listening (\d+)/.exec(text);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`${mode} server under valgrind exited with ${code}`)));
  });
  const result = await autocannon({ url: `http://127.0.0.1:${port}/hello`, connections: 20, amount: requests, timeout: 60 });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${mode}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  child.kill('SIGTERM');
  await exited;
  const summary = /^(?:summary|totals):\s*(\d+)/m.exec(readFileSync(out, 'utf8'));
  if (!summary) throw new Error(`${mode}: no instruction total in ${out}`);
  return Number(summary[1]);
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      small: { type: 'string', default: '4000' },
      large: { type: 'string', default: '44000' },
      modes: { type: 'string', default: 'plain,headers-only,stoa-memory,frl-memory' },
    },
  });
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    process.stderr.write('bench rate-limit-instructions: valgrind is not installed\n');
    return 2;
  }
  const small = Number(values.small);
  const large = Number(values.large);
  const modes = values.modes!.split(',');
  if (!modes.includes('plain')) modes.unshift('plain');
  if (PIN) spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)]);
  const dir = mkdtempSync(path.join(tmpdir(), 'stoa-callgrind-'));
  const rows: { mode: string; instructions_per_request: number }[] = [];
  try {
    for (const mode of modes) {
      const low = await countRun(mode, small, dir);
      const high = await countRun(mode, large, dir);
      rows.push({ mode, instructions_per_request: Math.round((high - low) / (large - small)) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const plain = rows.find((r) => r.mode === 'plain')!.instructions_per_request;
  const report = rows.map((r) => ({ ...r, plain_over_mode: Number((plain / r.instructions_per_request).toFixed(3)) }));
  for (const r of report) {
    process.stdout.write(`${r.mode.padEnd(14)} ${String(r.instructions_per_request).padStart(7)} instructions/request   plain ÷ mode ${r.plain_over_mode.toFixed(3)}\n`);
  }
  process.stdout.write(`wrote ${writeResult('rate-limit-instructions', { date: new Date().toISOString(), node: process.version, small, large, rows: report })}\n`);
  return 0;
}

runIfMain(import.meta.url, 'rate-limit-instructions', main);

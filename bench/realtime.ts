/**
 * Real-time fan-out, side by side with bare servers in the same run:
 *   node --import tsx bench/realtime.ts [--connections 5000] [--rounds 11] [--subscribers 1000] [--rate 500] [--seconds 4] [--bare-send string|buffer] [--short]
 *   (PGlite in memory unless DATABASE_URL; REDIS_URL is passed on)
 *
 * Each server runs in a child process of its own (bench/realtime-server.ts), so its memory is its own; the
 * clients live here. Three parts, each with fresh servers:
 *   ws        `--connections` authenticated WebSockets on Stoa's /v1/ws subscribed to `events`, and as many on a
 *             bare `ws` server; rounds interleaved: one event committed (Stoa: a post through the service) or
 *             broadcast (bare), time from the request until the last socket has it; median ratio. Server memory
 *             per idle connection: RSS and heap after two full GCs, before and after the connections.
 *   sse       `--connections` open `GET /v1/events` streams (`Accept: text/event-stream`), the same against a bare
 *             node:http SSE route: memory per stream, time from commit to the last delivery.
 *   latency   `--subscribers` WebSockets, events committed at `--rate` a second for `--seconds`: commit-to-delivery
 *             latency of every delivery, p50/p99, lost and duplicated; the bare server broadcasting at the same rate
 *             is the floor of this machine (the clients' own process is part of every number).
 * `--short` is a quick form (500 connections, 2 rounds, 100 subscribers at 100/s for 2 s).
 * 2 × connections sockets are open at once here: raise `ulimit -n` above that (20,000 is plenty).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { bundleBench, DIST } from './bundle.ts';
import { runIfMain, writeResult } from './results.ts';

const SERVER = path.join(DIST, 'bench-realtime-server.mjs');

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
};
const quantile = (sorted: number[], q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
const round1 = (n: number) => Math.round(n * 10) / 10;
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

interface Memory {
  rss: number;
  heap_used: number;
  external: number;
  array_buffers: number;
  held: number;
}

class Server {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (message: Record<string, unknown>) => void>();
  #next = 0;
  port = 0;
  apiKey = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: Record<string, unknown>) => {
      const resolve = this.#pending.get(message.id as number);
      if (resolve) {
        this.#pending.delete(message.id as number);
        resolve(message);
      }
    });
  }

  static start(mode: 'stoa' | 'bare', bareSend = 'string'): Promise<Server> {
    const child = fork(SERVER, mode === 'bare' ? [mode, bareSend] : [mode], { execArgv: ['--expose-gc', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.BENCH_CPU_PROF, mode)}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const server = new Server(child);
    return new Promise((resolve, reject) => {
      child.once('message', (message: { ready?: boolean; port: number; apiKey?: string }) => {
        server.port = message.port;
        server.apiKey = message.apiKey ?? '';
        resolve(server);
      });
      child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
    });
  }

  async ask<T = Record<string, unknown>>(cmd: string, extra: object = {}): Promise<T> {
    const id = ++this.#next;
    const answer = await new Promise<Record<string, unknown>>((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ id, cmd, ...extra });
    });
    if (answer.error) throw new Error(String(answer.error));
    return answer as T;
  }

  memory(): Promise<Memory> {
    return this.ask<Memory>('mem');
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.disconnect();
    await Promise.race([exited, sleep(10_000)]);
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}

/** Runs `open` for `count` items, `width` at a time. */
async function inBatches<T>(count: number, width: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await open(i);
      }
    }),
  );
  return out;
}

/** The resource id inside an event message, found without parsing the JSON. */
function resourceOf(text: string): string | null {
  const at = text.indexOf('"resource_id":"');
  if (at < 0) return null;
  const start = at + '"resource_id":"'.length;
  return text.slice(start, text.indexOf('"', start));
}

/** Where every client reports what it receives. */
class Inbox {
  count = 0;
  /** The size of the last message received (the payload of a WebSocket frame, or an SSE chunk). */
  bytes = 0;
  readonly arrivals = new Map<string, number[]>();
  #waiter: { target: number; resolve: () => void } | null = null;
  recordArrivals = false;

  receive(text: string): void {
    const resource = resourceOf(text);
    if (resource === null) return;
    this.count++;
    if (this.recordArrivals) {
      const t = now();
      let list = this.arrivals.get(resource);
      if (!list) this.arrivals.set(resource, (list = []));
      list.push(t);
    }
    if (this.#waiter && this.count >= this.#waiter.target) {
      const { resolve } = this.#waiter;
      this.#waiter = null;
      resolve();
    }
  }

  /** Resolves when `target` deliveries have arrived, or after `timeoutMs`. */
  until(target: number, timeoutMs: number): Promise<boolean> {
    if (this.count >= target) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        resolve(false);
      }, timeoutMs);
      this.#waiter = {
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
    });
  }

  reset(): void {
    this.count = 0;
    this.arrivals.clear();
  }
}

function openSocket(port: number, apiKey: string, inbox: Inbox): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { headers: apiKey ? { 'x-api-key': apiKey } : {}, perMessageDeflate: false });
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'subscribe', id: 'bench', channel: 'events' })));
    let subscribed = false;
    socket.on('message', (data) => {
      const text = String(data);
      if (!subscribed) {
        if (text.includes('"subscribed"')) {
          subscribed = true;
          resolve(socket);
        } else reject(new Error(`unexpected first message: ${text}`));
        return;
      }
      inbox.bytes = (data as Buffer).length;
      inbox.receive(text);
    });
  });
}

function openStream(port: number, apiKey: string, inbox: Inbox): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/events', agent: false, headers: { accept: 'text/event-stream', ...(apiKey ? { 'x-api-key': apiKey } : {}) } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET /v1/events answered ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let opened = false;
      res.on('data', (chunk: string) => {
        if (!opened) {
          opened = true;
          resolve(res);
        }
        if (chunk.includes('\nevent: ')) inbox.receive(chunk);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function closeAll(items: Array<WebSocket | IncomingMessage>): Promise<void> {
  for (const item of items) {
    if (item instanceof WebSocket) item.terminate();
    else item.destroy();
  }
  await sleep(500);
}

const perConnection = (before: Memory, after: Memory, n: number) => ({
  rss_bytes: Math.round((after.rss - before.rss) / n),
  heap_bytes: Math.round((after.heap_used + after.external - before.heap_used - before.external) / n),
});

/**
 * One event to every client, `rounds` times per server interleaved; milliseconds from the request to the last
 * delivery, and CPU milliseconds spent meanwhile by the server and by this (the clients') process: on a loaded
 * machine the wall time mostly measures the scheduler, CPU time what each side did.
 */
async function broadcastRounds(servers: Array<{ name: string; server: Server; inbox: Inbox }>, connections: number, rounds: number) {
  const times: Record<string, number[]> = {};
  const commitToLast: Record<string, number[]> = {};
  const serverCpu: Record<string, number[]> = {};
  const commitCpu: Record<string, number[]> = {};
  const clientCpu: Record<string, number[]> = {};
  const bytes: Record<string, number> = {};
  for (let r = 0; r < rounds + 1; r++) {
    for (const { name, server, inbox } of servers) {
      inbox.reset();
      const serverBefore = (await server.ask<{ us: number }>('cpu')).us;
      const clientBefore = cpuMicros();
      const asked = now();
      const answer = await server.ask<{ t: number; commit_us?: number }>('commit');
      const complete = await inbox.until(connections, 60_000);
      const last = now();
      const clientUsed = cpuMicros() - clientBefore;
      const serverUsed = (await server.ask<{ us: number }>('cpu')).us - serverBefore;
      if (!complete) throw new Error(`${name}: only ${inbox.count} of ${connections} deliveries within 60 s`);
      await sleep(200);
      if (inbox.count !== connections) throw new Error(`${name}: ${inbox.count} deliveries for ${connections} subscribers`);
      if (r === 0) continue; // warm-up
      (times[name] ??= []).push(last - asked);
      (commitToLast[name] ??= []).push(last - answer.t);
      (serverCpu[name] ??= []).push(serverUsed / 1000);
      (clientCpu[name] ??= []).push(clientUsed / 1000);
      if (answer.commit_us !== undefined) (commitCpu[name] ??= []).push(answer.commit_us / 1000);
      bytes[name] = inbox.bytes;
    }
  }
  return { times, commitToLast, serverCpu, commitCpu, clientCpu, bytes };
}

async function wsPart(connections: number, rounds: number, bareSend: string) {
  const stoa = await Server.start('stoa');
  const bare = await Server.start('bare', bareSend);
  try {
    const result: Record<string, unknown> = {};
    const sides = [];
    for (const [name, server] of [['stoa', stoa], ['bare', bare]] as const) {
      const inbox = new Inbox();
      const before = await server.memory();
      const sockets = await inBatches(connections, 100, () => openSocket(server.port, server.apiKey, inbox));
      await sleep(1000);
      const after = await server.memory();
      result[name] = { memory_per_connection: perConnection(before, after, connections), held: after.held };
      sides.push({ name, server, inbox, sockets });
    }
    const { times, commitToLast, serverCpu, commitCpu, clientCpu, bytes } = await broadcastRounds(sides, connections, rounds);
    for (const side of sides) {
      Object.assign(result[side.name] as object, {
        last_delivery_ms: round1(median(times[side.name]!)),
        rounds_ms: times[side.name]!.map(round1),
        server_cpu_ms: round1(median(serverCpu[side.name]!)),
        client_cpu_ms: round1(median(clientCpu[side.name]!)),
        message_bytes: bytes[side.name],
      });
      if (side.name === 'stoa') Object.assign(result.stoa as object, { commit_to_last_ms: round1(median(commitToLast.stoa!)), commit_cpu_ms: round1(median(commitCpu.stoa!)) });
      await closeAll(side.sockets);
    }
    return {
      ...result,
      ratio: ratio(median(times.stoa!), median(times.bare!)),
      ratio_of_best_rounds: ratio(Math.min(...times.stoa!), Math.min(...times.bare!)),
      server_cpu_ratio: ratio(median(serverCpu.stoa!), median(serverCpu.bare!)),
    };
  } finally {
    await Promise.all([stoa.stop(), bare.stop()]);
  }
}

async function ssePart(connections: number, rounds: number) {
  const stoa = await Server.start('stoa');
  const bare = await Server.start('bare');
  try {
    const result: Record<string, unknown> = {};
    const sides = [];
    for (const [name, server] of [['stoa', stoa], ['bare', bare]] as const) {
      const inbox = new Inbox();
      const before = await server.memory();
      const streams = await inBatches(connections, 100, () => openStream(server.port, server.apiKey, inbox));
      await sleep(1000);
      const after = await server.memory();
      result[name] = { memory_per_stream: perConnection(before, after, connections), held: after.held };
      sides.push({ name, server, inbox, streams });
    }
    const { times, commitToLast } = await broadcastRounds(sides, connections, rounds);
    for (const side of sides) {
      Object.assign(result[side.name] as object, { commit_to_last_ms: round1(median(commitToLast[side.name]!)), last_delivery_ms: round1(median(times[side.name]!)) });
      await closeAll(side.streams);
    }
    return { ...result, ratio: ratio(median(times.stoa!), median(times.bare!)) };
  } finally {
    await Promise.all([stoa.stop(), bare.stop()]);
  }
}

async function latencyPart(subscribers: number, rate: number, seconds: number) {
  const result: Record<string, unknown> = {};
  for (const name of ['stoa', 'bare'] as const) {
    const server = await Server.start(name);
    try {
      const inbox = new Inbox();
      const sockets = await inBatches(subscribers, 100, () => openSocket(server.port, server.apiKey, inbox));
      await server.ask('commit'); // warm the path
      await inbox.until(subscribers, 30_000);
      inbox.reset();
      inbox.recordArrivals = true;
      const { times } = await server.ask<{ times: [string, number][] }>('rate', { rate, seconds });
      const expected = times.length * subscribers;
      await inbox.until(expected, 60_000);
      await sleep(300);
      const committed = new Map(times);
      const latencies: number[] = [];
      let duplicates = 0;
      let delivered = 0;
      for (const [resource, arrivals] of inbox.arrivals) {
        const t = committed.get(resource);
        if (t === undefined) continue;
        delivered += Math.min(arrivals.length, subscribers);
        duplicates += Math.max(0, arrivals.length - subscribers);
        for (const arrival of arrivals) latencies.push(arrival - t);
      }
      latencies.sort((a, b) => a - b);
      const span = (times.at(-1)![1] - times[0]![1]) / 1000;
      result[name] = {
        events: times.length,
        achieved_rate: Math.round(times.length / span),
        deliveries: delivered,
        lost: expected - delivered,
        duplicates,
        latency_ms: { p50: round1(quantile(latencies, 0.5)), p99: round1(quantile(latencies, 0.99)), max: round1(latencies.at(-1) ?? NaN) },
      };
      await closeAll(sockets);
    } finally {
      await server.stop();
    }
  }
  return result;
}

type Bytes = { rss_bytes: number; heap_bytes: number };
type WsSide = { last_delivery_ms: number; commit_to_last_ms?: number; memory_per_connection: Bytes; server_cpu_ms: number; client_cpu_ms: number; commit_cpu_ms?: number; message_bytes: number };
type SseSide = { last_delivery_ms: number; commit_to_last_ms: number; memory_per_stream: Bytes };

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string' },
      rounds: { type: 'string' },
      subscribers: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string' },
      'bare-send': { type: 'string', default: 'string' },
      short: { type: 'boolean', default: false },
    },
  });
  const short = values.short;
  const connections = Number(values.connections ?? (short ? 500 : 5000));
  const rounds = Number(values.rounds ?? (short ? 2 : 11));
  const subscribers = Number(values.subscribers ?? (short ? 100 : 1000));
  const rate = Number(values.rate ?? (short ? 100 : 500));
  const seconds = Number(values.seconds ?? (short ? 2 : 4));
  const parts = new Set((values.only ?? 'ws,sse,latency').split(','));
  // The servers run as production runs Stoa: bundled (bench/bundle.ts).
  await bundleBench(fileURLToPath(new URL('./realtime-server.ts', import.meta.url)), 'realtime-server');
  const store = process.env.DATABASE_URL ? (process.env.REDIS_URL ? 'postgres+redis' : 'postgres') : 'pglite';

  const report: Record<string, unknown> = { store, connections, rounds, bare_send: values['bare-send'], machine: { cpus: cpus().length, loadavg: loadavg() } };
  let out = `realtime (${store}, ${connections} connections, ${rounds} rounds, bare ws sends a ${values['bare-send']})\n`;
  const kb = (bytes: number) => `${round1(bytes / 1024)} KB`;
  if (parts.has('ws')) {
    const ws = (report.ws = await wsPart(connections, rounds, values['bare-send'])) as unknown as { ratio: number; ratio_of_best_rounds: number; server_cpu_ratio: number; stoa: WsSide; bare: WsSide };
    out +=
      `  ws broadcast  Stoa ${ws.stoa.last_delivery_ms} ms (commit → last ${ws.stoa.commit_to_last_ms} ms)  bare ws ${ws.bare.last_delivery_ms} ms  ratio ${ws.ratio}× (best rounds ${ws.ratio_of_best_rounds}×)\n` +
      `  ws cpu        server Stoa ${ws.stoa.server_cpu_ms} ms (commit ${ws.stoa.commit_cpu_ms} ms)  bare ${ws.bare.server_cpu_ms} ms  ratio ${ws.server_cpu_ratio}×; clients ${ws.stoa.client_cpu_ms} / ${ws.bare.client_cpu_ms} ms; message ${ws.stoa.message_bytes} / ${ws.bare.message_bytes} bytes\n` +
      `  ws memory     Stoa ${kb(ws.stoa.memory_per_connection.rss_bytes)} RSS / ${kb(ws.stoa.memory_per_connection.heap_bytes)} heap per connection  bare ${kb(ws.bare.memory_per_connection.rss_bytes)} / ${kb(ws.bare.memory_per_connection.heap_bytes)}\n`;
  }
  if (parts.has('sse')) {
    const sse = (report.sse = await ssePart(connections, rounds)) as unknown as { ratio: number; stoa: SseSide; bare: SseSide };
    out +=
      `  sse delivery  Stoa commit → last ${sse.stoa.commit_to_last_ms} ms (request → last ${sse.stoa.last_delivery_ms} ms)  bare ${sse.bare.last_delivery_ms} ms  ratio ${sse.ratio}×\n` +
      `  sse memory    Stoa ${kb(sse.stoa.memory_per_stream.rss_bytes)} RSS / ${kb(sse.stoa.memory_per_stream.heap_bytes)} heap per stream  bare ${kb(sse.bare.memory_per_stream.rss_bytes)} / ${kb(sse.bare.memory_per_stream.heap_bytes)}\n`;
  }
  if (parts.has('latency')) {
    const latency = (report.latency = { subscribers, rate, seconds, ...(await latencyPart(subscribers, rate, seconds)) }) as unknown as Record<string, { achieved_rate: number; lost: number; duplicates: number; latency_ms: { p50: number; p99: number } }>;
    for (const name of ['stoa', 'bare']) {
      const side = latency[name]!;
      out += `  latency ${name.padEnd(5)} ${subscribers} subscribers at ${side.achieved_rate}/s: p50 ${side.latency_ms.p50} ms  p99 ${side.latency_ms.p99} ms  lost ${side.lost}  duplicates ${side.duplicates}\n`;
    }
  }
  process.stdout.write(out + `  → ${writeResult('realtime', report)}\n`);
  return 0;
}

runIfMain(import.meta.url, 'realtime', main);

/** The Stoa child process under soak, with an inspector session that measures its live heap. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const BIN = fileURLToPath(new URL('../../bin/stoa.mjs', import.meta.url));

export interface Memory {
  /** Resident set size from /proc/<pid>/status, in bytes. */
  rss: number;
  /** V8 heap in use right after a full collection, in bytes: what the process really keeps. */
  heapLive: number;
  /** Memory outside the V8 heap that JavaScript objects hold (Buffers, PGlite's WebAssembly memory is in rss only). */
  external: number;
}

export interface SoakServer {
  child: ChildProcess;
  url: string;
  grpcAddress: string;
  output(): string;
  memory(): Promise<Memory>;
  /** Live objects by kind and constructor (a heap snapshot, counted): what to compare when the heap grows. */
  heapCensus(): Promise<Map<string, { count: number; bytes: number }>>;
  stop(): Promise<number | null>;
}

/** Only what the soak decides: none of the caller's STOA_* settings leak in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('STOA_') && !['DATABASE_URL', 'REDIS_URL', 'PORT', 'GRPC_PORT', 'NODE_ENV', 'LOG_LEVEL', 'NODE_OPTIONS'].includes(key)) env[key] = value;
  }
  return env;
}

/** Starts `stoa serve` on free ports with the inspector on a free local port, and waits for its banner. */
export function startServer(env: Record<string, string>, timeoutMs = 90_000): Promise<SoakServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', BIN, 'serve'], {
      env: { ...baseEnv(), PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stoa did not start in time:\n${out}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`stoa exited with ${code} before listening:\n${out}`));
    };
    child.on('exit', onExit);
    const check = () => {
      const http = /Stoa is listening on (http:\/\/localhost:\d+)/.exec(out);
      const grpc = /gRPC\s+h2c on port (\d+)/.exec(out);
      const debuggerUrl = /Debugger listening on (ws:\/\/\S+)/.exec(out);
      if (!http || !grpc || !debuggerUrl || !out.includes('Ready. Stop with')) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      // Keep draining the pipes so the child never blocks on a full one; remember only the tail.
      const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      connectInspector(debuggerUrl[1]!).then(
        (inspector) =>
          resolve({
            child,
            url: http[1]!.replace('localhost', '127.0.0.1'),
            grpcAddress: `127.0.0.1:${grpc[1]}`,
            output: () => out,
            async memory() {
              await inspector.call('HeapProfiler.collectGarbage');
              const usage = (await inspector.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
              const { heapUsed, external } = JSON.parse(usage.result.value) as NodeJS.MemoryUsage;
              return { rss: rssOf(child.pid!), heapLive: heapUsed, external };
            },
            async heapCensus() {
              return census(await inspector.snapshot());
            },
            async stop() {
              inspector.close();
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
              return exited;
            },
          }),
        (error: unknown) => {
          child.kill('SIGKILL');
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    };
    const onData = (d: Buffer) => {
      out += d.toString();
      check();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

function rssOf(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(line[1]) * 1024;
}

/** A Chrome DevTools Protocol session: call(method, params) resolves with the result. */
async function connectInspector(url: string): Promise<{ call: (method: string, params?: object) => Promise<unknown>; snapshot(): Promise<string>; close(): void }> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let chunks: string[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; method?: string; params?: { chunk?: string }; result?: unknown; error?: { message: string } };
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(message.params!.chunk!);
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve(message.result);
  });
  socket.on('close', () => {
    for (const waiter of pending.values()) waiter.reject(new Error('inspector closed'));
    pending.clear();
  });
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    call,
    async snapshot() {
      chunks = [];
      await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      const text = chunks.join('');
      chunks = [];
      return text;
    },
    close: () => socket.close(),
  };
}

/** Counts a V8 heap snapshot's nodes by `type:name` (objects by constructor, closures by function name, strings together). */
function census(text: string): Map<string, { count: number; bytes: number }> {
  const snapshot = JSON.parse(text) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const counts = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '' : type === 'number' || type === 'hidden' ? '' : snapshot.strings[snapshot.nodes[i + nameAt]!]!.slice(0, 80);
    const key = `${type}:${name}`;
    const entry = counts.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + sizeAt]!;
    counts.set(key, entry);
  }
  return counts;
}

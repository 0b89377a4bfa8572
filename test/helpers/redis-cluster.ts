import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';

const run = promisify(execFile);

/** Why a Redis Cluster cannot be started here, or false when it can. */
export function redisClusterUnavailable(): string | false {
  for (const bin of ['redis-server', 'redis-cli']) {
    if (spawnSync(bin, ['--version']).status !== 0) return `${bin} is not on PATH`;
  }
  return false;
}

export interface ClusterNode {
  port: number;
  /** A plain connection to this node alone (admin commands, SCAN). */
  admin: Redis;
}

export interface RedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** A new ioredis Cluster client (closed by `stop`). */
  client(options?: ClusterOptions): Cluster;
  /** The node that serves `key` (by CLUSTER KEYSLOT and the slot map). */
  nodeOf(key: string): Promise<ClusterNode>;
  /** Stops every server, disconnects every client and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` ports in 20000–29999 that are free, each with its cluster-bus port (+10000) free too. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt > 200) throw new Error('no free ports for a Redis Cluster');
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (ports.some((p) => Math.abs(p - port) < 2)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
// Last resort if the runner exits without `after` (e.g. a crash): never leave servers or files behind.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Polls `test` until it holds; gives up at once when `failed` says a server is gone. */
async function waitUntil(what: string, timeoutMs: number, failed: () => string | undefined, test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = failed();
    if (failure) throw new ServerExited(failure);
    try {
      if (await test()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

class ServerExited extends Error {}

/**
 * Starts `masters` `redis-server` processes in cluster mode on free ports in a
 * temporary directory, joins them with `redis-cli --cluster create` (no
 * replicas) and waits until every node reports `cluster_state:ok`. On any
 * failure what was started is stopped before the error is thrown; a server
 * that exits at once (its port taken meanwhile) means a new try on other ports.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(masters);
    } catch (error) {
      if (!(error instanceof ServerExited) || attempt === 3) throw error;
    }
  }
}

async function startOnce(masters: number): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'stoa-redis-cluster-'));
  dirs.add(dir);
  const started: ChildProcess[] = [];
  const admins: Redis[] = [];
  const clients: Cluster[] = [];
  const output: string[] = [];
  let stopped = false;

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    for (const c of clients) c.disconnect();
    for (const a of admins) a.disconnect();
    await Promise.all(
      started.map(
        (child) =>
          new Promise<void>((resolve) => {
            children.delete(child);
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 2_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  }

  try {
    const ports = await freePorts(masters);
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', '5000',
          '--save', '',
          '--appendonly', 'no',
          '--daemonize', 'no',
          '--dir', dir,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      started.push(child);
      children.add(child);
      const keep = (d: Buffer) => output.push(`[${port}] ${d.toString()}`);
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
    }
    const nodes = ports.map((port): ClusterNode => {
      const admin = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      admin.on('error', () => {});
      admins.push(admin);
      return { port, admin };
    });
    const failed = () => (started.some((c) => c.exitCode !== null || c.signalCode !== null) ? `a redis-server exited:\n${output.join('')}` : undefined);
    await waitUntil('the servers to answer PING', 5_000, failed, async () => {
      for (const n of nodes) if (n.admin.status === 'wait') await n.admin.connect();
      return (await Promise.all(nodes.map((n) => n.admin.ping()))).every((r) => r === 'PONG');
    });
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
    await waitUntil('cluster_state:ok on every node', 10_000, failed, async () => {
      const infos = await Promise.all(nodes.map((n) => n.admin.cluster('INFO')));
      return infos.every((info) => /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(info));
    });

    // Nothing moves slots here: the map read once stays true.
    const ranges = await nodes[0]!.admin.cluster('SLOTS');
    const slotOwner = (slot: number): ClusterNode => {
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      const node = range && nodes.find((n) => n.port === range[2]?.[1]);
      if (!node) throw new Error(`no node serves slot ${slot}`);
      return node;
    };

    return {
      nodes,
      client(options: ClusterOptions = {}) {
        const c = new Cluster(
          nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
          { lazyConnect: true, ...options, redisOptions: { commandTimeout: 2_000, ...options.redisOptions } },
        );
        c.on('error', () => {});
        clients.push(c);
        return c;
      },
      async nodeOf(key: string) {
        return slotOwner(await nodes[0]!.admin.cluster('KEYSLOT', key));
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

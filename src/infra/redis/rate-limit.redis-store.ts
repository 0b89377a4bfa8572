import { createHash } from 'node:crypto';
import type { CheckOutcome, RateLimitCheck, RateLimitStore } from '../../platform/rate-limit/index.ts';
import { ALGORITHM_LETTERS, RATE_LIMIT_SCRIPT } from './rate-limit.lua.ts';

/** The few client calls the store needs; an ioredis `Redis` fits. */
export interface RateLimitRedis {
  readonly status: string;
  readonly isCluster: boolean;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  script(subcommand: 'LOAD', script: string): Promise<unknown>;
  connect(): Promise<void>;
  once(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
}

export interface RedisStoreOptions {
  client: RateLimitRedis;
  /** Key prefix; keys are `<prefix>{<partition>}:<policy>`. */
  prefix?: string;
  /** Tests only: time in ms to use instead of Redis `TIME`. */
  now?: () => number;
  /** Kept beyond a key's logical expiry (ms), so a clock slightly off never drops live state. */
  ttlPaddingMs?: number;
  /** Most decisions sent in one script call. */
  maxBatch?: number;
  /** How long the first decisions wait for the very first connection. */
  connectTimeoutMs?: number;
}

interface Job {
  mode: 1 | 2;
  checks: readonly RateLimitCheck[];
  cost: number;
  resolve(outcomes: CheckOutcome[]): void;
  reject(error: unknown): void;
}

const SHA = createHash('sha1').update(RATE_LIMIT_SCRIPT).digest('hex');

/**
 * The Redis store. Every decision is one run of one Lua script (time from
 * Redis, all-or-nothing charging); concurrent decisions are batched into one
 * EVALSHA per event-loop turn — per hash tag on a Cluster, where a decision
 * spanning tags is split and compensated. A flushed script cache (`NOSCRIPT`)
 * is reloaded and the call retried transparently.
 */
export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const { client } = options;
  const prefix = options.prefix ?? 'stoa:rl:';
  const pad = options.ttlPaddingMs ?? 1_000;
  const maxBatch = options.maxBatch ?? 128;
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  let queue: Job[] = [];
  let scheduled = false;
  let everReady = client.status === 'ready';

  const keyOf = (check: RateLimitCheck) => `${prefix}{${check.partition}}:${check.policy.name}`;

  async function whenReady(): Promise<void> {
    if (client.status === 'ready') {
      everReady = true;
      return;
    }
    if (client.status === 'wait') client.connect().catch(() => {});
    // After the first connection, a lost server fails fast; only the boot waits briefly.
    if (everReady || !['wait', 'connecting', 'connect'].includes(client.status)) throw new Error(`Redis is ${client.status}`);
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        client.off('ready', onReady);
        reject(new Error(`Redis did not connect within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      client.once('ready', onReady);
    });
    everReady = true;
  }

  async function run(keys: string[], args: (string | number)[]): Promise<number[]> {
    await whenReady();
    try {
      return (await client.evalsha(SHA, keys.length, ...keys, ...args)) as number[];
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      await client.script('LOAD', RATE_LIMIT_SCRIPT);
      return (await client.evalsha(SHA, keys.length, ...keys, ...args)) as number[];
    }
  }

  async function send(jobs: Job[]): Promise<void> {
    const keys: string[] = [];
    const args: (string | number)[] = [options.now ? options.now() : 0, pad, jobs.length];
    for (const job of jobs) {
      args.push(job.mode, job.cost, job.checks.length);
      for (const check of job.checks) {
        keys.push(keyOf(check));
        const p = check.policy;
        args.push(ALGORITHM_LETTERS[p.algorithm], p.limit, p.windowMs, check.delta ?? 0);
      }
    }
    let reply: number[];
    try {
      reply = await run(keys, args);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    let i = 0;
    for (const job of jobs) {
      const outcomes: CheckOutcome[] = [];
      for (let c = 0; c < job.checks.length; c++, i += 4) {
        outcomes.push({ allowed: reply[i] === 1, remaining: reply[i + 1]!, resetMs: reply[i + 2]!, retryAfterMs: reply[i + 3]! });
      }
      job.resolve(outcomes);
    }
  }

  function flush(): void {
    scheduled = false;
    const jobs = queue;
    queue = [];
    if (client.isCluster) {
      // One script call per hash tag: a Cluster runs a script on one node.
      const byTag = new Map<string, Job[]>();
      for (const job of jobs) {
        const tag = job.checks[0]!.partition;
        const group = byTag.get(tag);
        if (group) group.push(job);
        else byTag.set(tag, [job]);
      }
      for (const group of byTag.values()) for (let i = 0; i < group.length; i += maxBatch) void send(group.slice(i, i + maxBatch));
      return;
    }
    for (let i = 0; i < jobs.length; i += maxBatch) void send(jobs.slice(i, i + maxBatch));
  }

  function enqueue(mode: 1 | 2, checks: readonly RateLimitCheck[], cost: number): Promise<CheckOutcome[]> {
    return new Promise((resolve, reject) => {
      queue.push({ mode, checks, cost, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  }

  /** On a Cluster, checks under different tags are decided per tag; a rejection anywhere refunds the rest. */
  async function decideAcrossTags(checks: readonly RateLimitCheck[], cost: number): Promise<CheckOutcome[]> {
    const groups = new Map<string, number[]>();
    checks.forEach((check, i) => {
      const group = groups.get(check.partition);
      if (group) group.push(i);
      else groups.set(check.partition, [i]);
    });
    const indexes = [...groups.values()];
    const parts = await Promise.all(indexes.map((group) => enqueue(1, group.map((i) => checks[i]!), cost)));
    const outcomes: CheckOutcome[] = new Array(checks.length);
    const rejected = parts.some((part) => part.some((o) => !o.allowed));
    const refunds: Promise<unknown>[] = [];
    indexes.forEach((group, g) => {
      const admitted = parts[g]!.every((o) => o.allowed);
      if (rejected && admitted && cost > 0) refunds.push(enqueue(2, group.map((i) => checks[i]!), cost));
      group.forEach((i, j) => {
        const o = parts[g]![j]!;
        outcomes[i] = rejected && admitted ? { ...o, remaining: Math.min(checks[i]!.policy.limit, o.remaining + cost) } : o;
      });
    });
    await Promise.all(refunds);
    return outcomes;
  }

  return {
    kind: 'redis',
    decide(checks, cost) {
      if (client.isCluster && checks.some((check) => check.partition !== checks[0]!.partition)) return decideAcrossTags(checks, cost);
      return enqueue(1, checks, cost);
    },
    async refund(checks, cost) {
      if (!client.isCluster) return void (await enqueue(2, checks, cost));
      const partitions = [...new Set(checks.map((check) => check.partition))];
      await Promise.all(partitions.map((partition) => enqueue(2, checks.filter((check) => check.partition === partition), cost)));
    },
    async close() {},
  };
}

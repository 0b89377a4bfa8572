import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { CheckOutcome, Policy, RateLimitCheck, RateLimitStore } from '../../platform/rate-limit/index.ts';
import { ALGORITHM_LETTERS, MAX_CHECKS_PER_DECISION, MAX_POLICIES_PER_CALL, RATE_LIMIT_SCRIPT } from './rate-limit.lua.ts';

/** The few client calls the store needs; an ioredis `Redis` fits. */
export interface RateLimitRedis {
  readonly status: string;
  readonly isCluster: boolean;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
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
  /**
   * Script calls awaiting their reply at once (2 by default; 1 while the
   * event loop is busy). While they are all out, new decisions queue and leave
   * together as the next batch: under load batches grow instead of script
   * calls multiplying, and unloaded a decision still leaves on the next turn
   * of the event loop.
   */
  maxInFlight?: number;
  /** How long the first decisions wait for the very first connection. */
  connectTimeoutMs?: number;
}

interface Job {
  refund: boolean;
  checks: readonly RateLimitCheck[];
  cost: number;
  resolve(outcomes: CheckOutcome[]): void;
  reject(error: unknown): void;
}

const SHA = createHash('sha1').update(RATE_LIMIT_SCRIPT).digest('hex');
/** A queue is split across free calls only when each part gets at least this many decisions. */
const MIN_SPLIT = 8;
/** Event-loop utilisation above which decisions go out one call at a time. */
const BUSY_LOOP = 0.85;

/**
 * The Redis store. Every decision is one run of one Lua script (time from
 * Redis, all-or-nothing charging); concurrent decisions are batched into
 * EVALSHA calls, at most `maxInFlight` out at once — per hash tag on a
 * Cluster, where a decision spanning tags is split and compensated. After a flushed script cache
 * (`NOSCRIPT`: a restart, `SCRIPT FLUSH`) the call is repeated as EVAL, which reloads it.
 */
export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const { client } = options;
  const prefix = options.prefix ?? 'stoa:rl:';
  const pad = options.ttlPaddingMs ?? 1_000;
  const maxBatch = options.maxBatch ?? 128;
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  const maxInFlight = options.maxInFlight ?? 2;
  let queue: Job[] = [];
  let scheduled = false;
  let inFlight = 0;
  let everReady = client.status === 'ready';
  let loopSample = performance.eventLoopUtilization();
  let loopSampledAt = performance.now();
  let loopBusy = false;

  /** How many script calls may be out now: one while the event loop is busy, else `maxInFlight`. */
  function callsAllowed(): number {
    return busy() ? 1 : maxInFlight;
  }

  /** Whether the event loop was busy over the last ~100 ms (sampled at most that often). */
  function busy(): boolean {
    const at = performance.now();
    if (at - loopSampledAt >= 100) {
      const next = performance.eventLoopUtilization();
      loopBusy = performance.eventLoopUtilization(next, loopSample).utilization > BUSY_LOOP;
      loopSample = next;
      loopSampledAt = at;
    }
    return loopBusy;
  }

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
    if (client.status !== 'ready') await whenReady();
    try {
      return (await client.evalsha(SHA, keys.length, ...keys, ...args)) as number[];
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      // EVAL caches the script on the node that runs it: on a Cluster, the node owning these keys.
      return (await client.eval(RATE_LIMIT_SCRIPT, keys.length, ...keys, ...args)) as number[];
    }
  }

  /** One script call for `jobs` (the script's packed argument layout is described in rate-limit.lua.ts). */
  async function send(jobs: Job[]): Promise<void> {
    const keys: string[] = [];
    const policyArgs: (string | number)[] = [];
    const decisionArgs: number[] = [];
    const index = new Map<Policy, number>();
    for (const job of jobs) {
      decisionArgs.push((job.cost * 64 + job.checks.length) * 2 + (job.refund ? 1 : 0));
      for (const check of job.checks) {
        const p = check.policy;
        let i = index.get(p);
        if (i === undefined) {
          index.set(p, (i = index.size));
          policyArgs.push(ALGORITHM_LETTERS[p.algorithm], p.limit, p.windowMs);
        }
        keys.push(`${prefix}{${check.partition}}:${p.name}`);
        decisionArgs.push((check.delta ?? 0) * 64 + i);
      }
    }
    let reply: number[];
    try {
      reply = await run(keys, [options.now ? options.now() : 0, pad, index.size, ...policyArgs, ...decisionArgs]);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    let r = 0;
    for (const job of jobs) {
      const outcomes: CheckOutcome[] = new Array(job.checks.length);
      for (let c = 0; c < job.checks.length; c++, r += 3) {
        const code = reply[r]!;
        outcomes[c] = { policy: job.checks[c]!.policy, allowed: code >= 0, remaining: code >= 0 ? code : -1 - code, resetMs: reply[r + 1]!, retryAfterMs: reply[r + 2]! };
      }
      job.resolve(outcomes);
    }
  }

  /** Splits jobs into script calls: at most `maxBatch` decisions and MAX_POLICIES_PER_CALL distinct policies each. */
  function sendAll(jobs: Job[], calls: Promise<void>[]): void {
    let batch: Job[] = [];
    const policies = new Set<Policy>();
    for (const job of jobs) {
      let fresh = 0;
      for (const check of job.checks) if (!policies.has(check.policy)) fresh++;
      if (batch.length > 0 && (batch.length === maxBatch || policies.size + fresh > MAX_POLICIES_PER_CALL)) {
        calls.push(send(batch));
        batch = [];
        policies.clear();
      }
      batch.push(job);
      for (const check of job.checks) policies.add(check.policy);
    }
    if (batch.length > 0) calls.push(send(batch));
  }

  /**
   * Sends what has queued. With more than one call free to go out, a large
   * queue is split evenly across them, so Redis runs one call while Node reads
   * the other's reply and gathers the next: the two overlap instead of taking
   * turns. That only pays while this process has time to spare; when its event
   * loop is busy, one call at a time keeps batches large and the CPU per
   * decision low.
   */
  function flush(): void {
    scheduled = false;
    let free = callsAllowed() - inFlight;
    while (free > 0 && queue.length > 0) {
      const take = free === 1 || queue.length < 2 * MIN_SPLIT ? queue.length : Math.ceil(queue.length / free);
      const jobs = take === queue.length ? queue : queue.slice(0, take);
      queue = take === queue.length ? [] : queue.slice(take);
      launch(jobs);
      free--;
    }
  }

  function launch(jobs: Job[]): void {
    const calls: Promise<void>[] = [];
    if (!client.isCluster) sendAll(jobs, calls);
    else {
      // One script call per hash tag: a Cluster runs a script on one node.
      const byTag = new Map<string, Job[]>();
      for (const job of jobs) {
        const tag = job.checks[0]!.partition;
        const group = byTag.get(tag);
        if (group) group.push(job);
        else byTag.set(tag, [job]);
      }
      for (const group of byTag.values()) sendAll(group, calls);
    }
    inFlight++;
    const settled = () => {
      inFlight--;
      schedule();
    };
    // `send` settles its jobs itself and never rejects.
    void Promise.all(calls).then(settled, settled);
  }

  function schedule(): void {
    if (scheduled || queue.length === 0 || inFlight >= callsAllowed()) return;
    scheduled = true;
    setImmediate(flush);
  }

  function enqueue(refund: boolean, checks: readonly RateLimitCheck[], cost: number): Promise<CheckOutcome[]> {
    if (checks.length > MAX_CHECKS_PER_DECISION) return Promise.reject(new RangeError(`at most ${MAX_CHECKS_PER_DECISION} checks per decision`));
    return new Promise((resolve, reject) => {
      queue.push({ refund, checks, cost, resolve, reject });
      schedule();
    });
  }

  /**
   * On a Cluster, checks under different tags are decided per tag (one node
   * each). When any part rejects or fails, the parts that admitted are refunded,
   * and their outcomes are the state after the refund — what one script would
   * have reported. Two such decisions racing may both be refused where one
   * script would have admitted one of them: compensation is not atomic.
   */
  async function decideAcrossTags(checks: readonly RateLimitCheck[], cost: number): Promise<CheckOutcome[]> {
    const groups = new Map<string, RateLimitCheck[]>();
    const slots: Array<[RateLimitCheck[], number]> = [];
    for (const check of checks) {
      let group = groups.get(check.partition);
      if (!group) groups.set(check.partition, (group = []));
      slots.push([group, group.length]);
      group.push(check);
    }
    const parts = [...groups.values()];
    const settled = await Promise.allSettled(parts.map((group) => enqueue(false, group, cost)));
    const failure = settled.find((s) => s.status === 'rejected');
    const refused = failure !== undefined || settled.some((s) => s.status === 'fulfilled' && s.value.some((o) => !o.allowed));
    const results = new Map<RateLimitCheck[], CheckOutcome[]>();
    await Promise.all(
      parts.map(async (group, g) => {
        const result = settled[g]!;
        if (result.status === 'rejected') return;
        const admitted = result.value.every((o) => o.allowed);
        // A lost refund leaves the charge in place: the limit only gets a little stricter.
        const outcomes = refused && admitted && cost > 0 ? await enqueue(true, group, cost).catch(() => result.value) : result.value;
        results.set(group, outcomes);
      }),
    );
    if (failure) throw failure.reason;
    return slots.map(([group, j]) => results.get(group)![j]!);
  }

  return {
    kind: 'redis',
    decide(checks, cost) {
      if (client.isCluster && checks.some((check) => check.partition !== checks[0]!.partition)) return decideAcrossTags(checks, cost);
      return enqueue(false, checks, cost);
    },
    async refund(checks, cost) {
      if (!client.isCluster) return void (await enqueue(true, checks, cost));
      const partitions = [...new Set(checks.map((check) => check.partition))];
      await Promise.all(partitions.map((partition) => enqueue(true, checks.filter((check) => check.partition === partition), cost)));
    },
    async close() {},
  };
}

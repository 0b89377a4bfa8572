import { ALGORITHM_IMPLEMENTATIONS, type Algorithm } from './rate-limit.algorithms.ts';
import type { CheckOutcome, Policy, RateLimitCheck, RateLimitStore } from './rate-limit.store.ts';

interface Entry {
  state: object;
  algorithm: Algorithm<object>;
  policy: Policy;
}

export interface MemoryStoreOptions {
  /** Milliseconds since the epoch; tests pass a clock they move by hand. */
  now?: () => number;
  /** Expired entries are swept after this many decisions. */
  sweepEvery?: number;
}

/**
 * The embedded store: one process, exact, synchronous. A decision runs to
 * completion without yielding, which is what makes it atomic. State lives in
 * one map per policy name, keyed by partition (no key string built per request).
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): RateLimitStore & { size(): number } {
  const now = options.now ?? Date.now;
  const sweepEvery = options.sweepEvery ?? 10_000;
  const byPolicy = new Map<string, Map<string, Entry>>();
  let untilSweep = sweepEvery;
  // The entries of the decision being made: decide never yields, so one array serves every call (stale slots only
  // keep a few entries alive a little longer).
  const found: Entry[] = [];

  function entryFor(check: RateLimitCheck): Entry {
    let entries = byPolicy.get(check.policy.name);
    if (!entries) byPolicy.set(check.policy.name, (entries = new Map()));
    let entry = entries.get(check.partition);
    if (!entry) {
      const algorithm = ALGORITHM_IMPLEMENTATIONS[check.policy.algorithm];
      entry = { state: algorithm.create(check.policy), algorithm, policy: check.policy };
      entries.set(check.partition, entry);
    }
    return entry;
  }

  function sweep(at: number): void {
    for (const [name, entries] of byPolicy) {
      for (const [partition, entry] of entries) if (entry.algorithm.expiresAt(entry.state, entry.policy) < at) entries.delete(partition);
      if (entries.size === 0) byPolicy.delete(name);
    }
  }

  return {
    kind: 'memory',
    decide(checks, cost) {
      const at = now();
      if (--untilSweep <= 0) {
        untilSweep = sweepEvery;
        sweep(at);
      }
      const n = checks.length;
      let allowed = true;
      for (let i = 0; i < n; i++) {
        const check = checks[i]!;
        const entry = (found[i] = entryFor(check));
        entry.algorithm.advance(entry.state, at, check.policy, check.delta ?? 0);
        if (!entry.algorithm.admits(entry.state, at, check.policy, cost)) allowed = false;
      }
      const outcomes: CheckOutcome[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const { algorithm, state } = found[i]!;
        const policy = checks[i]!.policy;
        const admits = allowed || algorithm.admits(state, at, policy, cost);
        const retryAfterMs = admits ? 0 : algorithm.retryAfter(state, at, policy, cost);
        if (allowed && cost > 0) algorithm.charge(state, at, policy, cost);
        outcomes[i] = { policy, allowed: admits, remaining: algorithm.remaining(state, at, policy), resetMs: algorithm.resetMs(state, at, policy), retryAfterMs };
      }
      return outcomes;
    },
    refund(checks, cost) {
      const at = now();
      for (const check of checks) {
        const entry = entryFor(check);
        entry.algorithm.advance(entry.state, at, check.policy, 0);
        entry.algorithm.refund(entry.state, at, check.policy, cost);
      }
    },
    async close() {
      byPolicy.clear();
    },
    size: () => {
      let total = 0;
      for (const entries of byPolicy.values()) total += entries.size;
      return total;
    },
  };
}

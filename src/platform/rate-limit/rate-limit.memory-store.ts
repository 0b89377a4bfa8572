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

const keyOf = (check: RateLimitCheck) => `${check.partition}|${check.policy.name}`;

/**
 * The embedded store: one process, exact, synchronous under the hood. A
 * decision runs to completion in one tick, which is what makes it atomic.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): RateLimitStore & { size(): number } {
  const now = options.now ?? Date.now;
  const sweepEvery = options.sweepEvery ?? 10_000;
  const entries = new Map<string, Entry>();
  let untilSweep = sweepEvery;

  function entryFor(check: RateLimitCheck): Entry {
    const key = keyOf(check);
    let entry = entries.get(key);
    if (!entry) {
      const algorithm = ALGORITHM_IMPLEMENTATIONS[check.policy.algorithm];
      entry = { state: algorithm.create(check.policy), algorithm, policy: check.policy };
      entries.set(key, entry);
    }
    return entry;
  }

  function sweep(at: number): void {
    for (const [key, entry] of entries) if (entry.algorithm.expiresAt(entry.state, entry.policy) < at) entries.delete(key);
  }

  return {
    kind: 'memory',
    async decide(checks, cost) {
      const at = now();
      if (--untilSweep <= 0) {
        untilSweep = sweepEvery;
        sweep(at);
      }
      const found = checks.map((check) => {
        const entry = entryFor(check);
        entry.algorithm.advance(entry.state, at, check.policy, check.delta ?? 0);
        return entry;
      });
      const admits = checks.map((check, i) => found[i]!.algorithm.admits(found[i]!.state, at, check.policy, cost));
      const allowed = admits.every(Boolean);
      const retry = checks.map((check, i) => (admits[i] ? 0 : found[i]!.algorithm.retryAfter(found[i]!.state, at, check.policy, cost)));
      if (allowed && cost > 0) checks.forEach((check, i) => found[i]!.algorithm.charge(found[i]!.state, at, check.policy, cost));
      return checks.map((check, i): CheckOutcome => {
        const { algorithm, state } = found[i]!;
        return {
          allowed: admits[i]!,
          remaining: algorithm.remaining(state, at, check.policy),
          resetMs: algorithm.resetMs(state, at, check.policy),
          retryAfterMs: retry[i]!,
        };
      });
    },
    async refund(checks, cost) {
      const at = now();
      for (const check of checks) {
        const entry = entryFor(check);
        entry.algorithm.advance(entry.state, at, check.policy, 0);
        entry.algorithm.refund(entry.state, at, check.policy, cost);
      }
    },
    async close() {
      entries.clear();
    },
    size: () => entries.size,
  };
}

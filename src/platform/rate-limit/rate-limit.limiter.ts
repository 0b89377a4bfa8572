import { createMemoryStore } from './rate-limit.memory-store.ts';
import type { CheckOutcome, Policy, RateLimitCheck, RateLimitStore } from './rate-limit.store.ts';

/** One policy's part of a decision. */
export type PolicyResult = CheckOutcome;

export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly results: readonly PolicyResult[];
  /** The policies that rejected (empty when admitted). */
  readonly violated: readonly Policy[];
  /** When rejected: until the request would be admitted, the longest over the violated policies. */
  readonly retryAfterMs: number;
  /**
   * `open`: the shared store failed and fail-open policies were decided on this
   * process's own counters; `closed`: it failed and a fail-closed policy refused.
   */
  readonly degraded: 'open' | 'closed' | null;
  readonly checks: readonly RateLimitCheck[];
  readonly cost: number;
}

/** Hooks for metrics and logs; the limiter itself knows neither. */
export interface RateLimitObserver {
  decided?(decision: RateLimitDecision): void;
  /** `first` is true once per incident (the first failure after success). */
  storeFailed?(error: unknown, first: boolean): void;
  storeRecovered?(): void;
}

export interface RateLimiterOptions {
  store: RateLimitStore;
  /** Decides fail-open policies while `store` is down; an in-memory store by default. */
  fallback?: RateLimitStore;
  observer?: RateLimitObserver;
  /** Milliseconds since the epoch (two-tier windows); Date.now by default. */
  now?: () => number;
  /** Two-tier policies: background synchronisation period (ms). */
  syncIntervalMs?: number;
  /** Two-tier policies go to the store synchronously when within this fraction of the limit. */
  nearLimit?: number;
}

interface LocalCount {
  check: RateLimitCheck;
  /** The shared count as last seen (includes what this process flushed). */
  known: number;
  /** Admitted here, not yet flushed. */
  pending: number;
  /** Local time the shared window ends; 0 while unknown. */
  windowEnd: number;
}

const NO_VIOLATIONS: readonly Policy[] = Object.freeze([]);

/**
 * Decides a request's policies together over a store, with the declared
 * behaviour when the store fails and the optional two-tier mode. Transport
 * adapters (Fastify today; GraphQL, WebSocket, gRPC later) call `decide`.
 */
export class RateLimiter {
  readonly store: RateLimitStore;
  readonly #fallback: RateLimitStore;
  /** Metrics and logs; the adapter sets it. */
  observer: RateLimitObserver;
  readonly #now: () => number;
  readonly #nearLimit: number;
  readonly #local = new Map<string, LocalCount>();
  readonly #timer: NodeJS.Timeout | undefined;
  #incident = false;
  /** Store round trips, for the two-tier benchmark. */
  roundTrips = 0;

  constructor(options: RateLimiterOptions) {
    this.store = options.store;
    this.#fallback = options.fallback ?? createMemoryStore({ now: options.now });
    this.observer = options.observer ?? {};
    this.#now = options.now ?? Date.now;
    this.#nearLimit = options.nearLimit ?? 0.1;
    if (options.syncIntervalMs && options.store.kind !== 'memory') {
      this.#timer = setInterval(() => void this.sync(), options.syncIntervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Decides every check at once: all are charged `cost`, or (one rejecting)
   * none is. Never throws. Synchronous when the store is (the memory store),
   * so the embedded default costs no promise per request.
   */
  decide(checks: readonly RateLimitCheck[], cost = 1): RateLimitDecision | Promise<RateLimitDecision> {
    let twoTier = false;
    for (let i = 0; i < checks.length; i++) if (checks[i]!.policy.twoTier) twoTier = true;
    let pending: CheckOutcome[] | Promise<CheckOutcome[]>;
    try {
      pending = twoTier ? this.#decideTwoTier(checks, cost) : this.#remote(checks, cost);
    } catch (error) {
      return this.#storeFailed(checks, cost, error);
    }
    if (Array.isArray(pending)) return this.#decided(checks, cost, pending);
    return pending.then(
      (outcomes) => this.#decided(checks, cost, outcomes),
      (error: unknown) => this.#storeFailed(checks, cost, error),
    );
  }

  #decided(checks: readonly RateLimitCheck[], cost: number, outcomes: CheckOutcome[]): RateLimitDecision {
    if (this.#incident) {
      this.#incident = false;
      this.observer.storeRecovered?.();
    }
    return this.#decision(checks, cost, outcomes, null);
  }

  /** The store failed: fail-closed policies refuse; otherwise this process's own counters decide. */
  #storeFailed(checks: readonly RateLimitCheck[], cost: number, error: unknown): RateLimitDecision | Promise<RateLimitDecision> {
    this.observer.storeFailed?.(error, !this.#incident);
    this.#incident = true;
    if (checks.some((check) => check.policy.failMode === 'closed')) return this.#decision(checks, cost, [], 'closed');
    const fallback = this.#fallback.decide(checks, cost);
    if (Array.isArray(fallback)) return this.#decision(checks, cost, fallback, 'open');
    return fallback.then((outcomes) => this.#decision(checks, cost, outcomes, 'open'));
  }

  /** Gives back what an admitted decision charged (a 304 answer does not consume quota). Never throws nor rejects. */
  refund(decision: RateLimitDecision): void | Promise<void> {
    if (!decision.allowed || decision.cost === 0 || decision.checks.length === 0) return;
    const shared: RateLimitCheck[] = [];
    for (const check of decision.checks) {
      const local = check.policy.twoTier ? this.#local.get(localKey(check)) : undefined;
      if (local && local.pending >= decision.cost) local.pending -= decision.cost;
      else shared.push(check);
    }
    if (shared.length === 0) return;
    // A lost refund only makes the limit a little stricter, so its errors are dropped, thrown or rejected alike;
    // the memory store refunds synchronously.
    const store = decision.degraded === 'open' ? this.#fallback : this.store;
    try {
      return store.refund(shared, decision.cost)?.catch(() => {});
    } catch {
      return;
    }
  }

  /** Flushes two-tier counts to the store and refreshes the shared counts; runs on a timer. */
  async sync(): Promise<void> {
    const now = this.#now();
    const work: Promise<void>[] = [];
    for (const [key, local] of this.#local) {
      if (local.windowEnd !== 0 && now >= local.windowEnd && local.pending === 0) {
        this.#local.delete(key);
        continue;
      }
      if (local.pending === 0) continue;
      const flushed = local.pending;
      local.pending = 0;
      work.push(
        // Through a promise even on a synchronous store, so a throw is handled like a rejection.
        Promise.resolve()
          .then(() => this.#remote([{ ...local.check, delta: flushed }], 0))
          .then(
            ([outcome]) => this.#learn(local, outcome!, now),
            () => {
              local.pending += flushed;
            },
          ),
      );
    }
    await Promise.all(work);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  #remote(checks: readonly RateLimitCheck[], cost: number): CheckOutcome[] | Promise<CheckOutcome[]> {
    this.roundTrips++;
    return this.store.decide(checks, cost);
  }

  #learn(local: LocalCount, outcome: CheckOutcome, now: number): void {
    local.known = local.check.policy.limit - outcome.remaining;
    local.windowEnd = outcome.resetMs > 0 ? now + outcome.resetMs : 0;
  }

  /**
   * Two-tier: far from the limit, a policy is decided on this process's count
   * of the shared window (last synchronised value + its own unflushed
   * admissions); near it, or for a window it has not seen yet, the store
   * decides synchronously, flushing the local count in the same script.
   */
  async #decideTwoTier(checks: readonly RateLimitCheck[], cost: number): Promise<CheckOutcome[]> {
    const now = this.#now();
    const remote: RateLimitCheck[] = [];
    const where: number[] = [];
    const locals: (LocalCount | undefined)[] = [];
    const flushed: number[] = [];
    let refusedLocally = false;
    checks.forEach((check, i) => {
      if (!check.policy.twoTier || this.store.kind === 'memory') {
        where[i] = remote.push(check) - 1;
        return;
      }
      const key = localKey(check);
      let local = this.#local.get(key);
      if (!local) this.#local.set(key, (local = { check, known: 0, pending: 0, windowEnd: 0 }));
      if (local.windowEnd !== 0 && now >= local.windowEnd) {
        local.known = 0;
        local.pending = 0;
        local.windowEnd = 0;
      }
      const margin = Math.max(1, Math.ceil(check.policy.limit * this.#nearLimit));
      // A fixed window's count only grows until it ends: once the shared count has reached the limit, refuse here.
      const full = local.known + cost > check.policy.limit;
      if (local.windowEnd !== 0 && (full || local.known + local.pending + cost <= check.policy.limit - margin)) {
        locals[i] = local;
        where[i] = -1;
        refusedLocally ||= full;
        return;
      }
      flushed[i] = local.pending;
      local.pending = 0;
      where[i] = remote.push({ ...check, delta: flushed[i] }) - 1;
    });
    let shared: CheckOutcome[] = [];
    if (remote.length > 0) {
      try {
        // Nothing is charged when a local count already refuses.
        shared = await this.#remote(remote, refusedLocally ? 0 : cost);
      } catch (error) {
        checks.forEach((check, i) => {
          if (flushed[i]) this.#local.get(localKey(check))!.pending += flushed[i]!;
        });
        throw error;
      }
    }
    const allowed = !refusedLocally && shared.every((o) => o.allowed);
    return checks.map((check, i) => {
      const local = locals[i];
      if (local) {
        if (local.known + cost > check.policy.limit) {
          const wait = local.windowEnd - now;
          return { policy: check.policy, allowed: false, remaining: 0, resetMs: wait, retryAfterMs: wait };
        }
        if (allowed) local.pending += cost;
        return { policy: check.policy, allowed: true, remaining: Math.max(0, check.policy.limit - local.known - local.pending), resetMs: local.windowEnd - now, retryAfterMs: 0 };
      }
      const outcome = shared[where[i]!]!;
      if (check.policy.twoTier && this.store.kind !== 'memory') this.#learn(this.#local.get(localKey(check))!, outcome, now);
      return outcome;
    });
  }

  /** The decision from the outcomes, reported to the observer. */
  #decision(checks: readonly RateLimitCheck[], cost: number, outcomes: CheckOutcome[], degraded: RateLimitDecision['degraded']): RateLimitDecision {
    let decision: RateLimitDecision;
    if (degraded === 'closed') {
      const violated = checks.filter((c) => c.policy.failMode === 'closed').map((c) => c.policy);
      decision = { allowed: false, results: [], violated, retryAfterMs: 1_000, degraded, checks, cost };
    } else {
      // The store's outcomes are the results: each carries its policy.
      let allowed = true;
      let retryAfterMs = 0;
      let violated: Policy[] | undefined;
      for (let i = 0; i < outcomes.length; i++) {
        const outcome = outcomes[i]!;
        if (!outcome.allowed) {
          allowed = false;
          (violated ??= []).push(outcome.policy);
          if (outcome.retryAfterMs > retryAfterMs) retryAfterMs = outcome.retryAfterMs;
        }
      }
      decision = { allowed, results: outcomes, violated: violated ?? NO_VIOLATIONS, retryAfterMs, degraded, checks, cost };
    }
    this.observer.decided?.(decision);
    return decision;
  }
}

function localKey(check: RateLimitCheck): string {
  return `${check.partition}|${check.policy.name}`;
}

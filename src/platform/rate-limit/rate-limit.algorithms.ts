import type { AlgorithmName, Policy } from './rate-limit.store.ts';

/**
 * The five algorithms over plain mutable state, time in integer milliseconds.
 * The Redis store runs the same arithmetic in Lua (infra/redis/rate-limit.lua.ts):
 * keep the two in step, the shared test suite holds them to the same answers.
 *
 * A decision is three steps per policy: `advance` (roll windows, expire, refill,
 * apply a pending delta), `admits`/`retryAfter`, then — only when every policy
 * of the request admits — `charge`.
 */
export interface Algorithm<S> {
  create(policy: Policy): S;
  advance(state: S, now: number, policy: Policy, delta: number): void;
  admits(state: S, now: number, policy: Policy, cost: number): boolean;
  retryAfter(state: S, now: number, policy: Policy, cost: number): number;
  charge(state: S, now: number, policy: Policy, cost: number): void;
  refund(state: S, now: number, policy: Policy, cost: number): void;
  remaining(state: S, now: number, policy: Policy): number;
  resetMs(state: S, now: number, policy: Policy): number;
  /** When the state is back to `create()`'s and may be dropped. */
  expiresAt(state: S, policy: Policy): number;
}

interface FixedWindowState {
  start: number;
  count: number;
}

/** A window opens at a key's first request and lasts `windowMs`; at most `limit` per window. */
const fixedWindow: Algorithm<FixedWindowState> = {
  create: () => ({ start: 0, count: 0 }),
  advance(s, now, p, delta) {
    if (s.count > 0 && now - s.start >= p.windowMs) s.count = 0;
    if (delta > 0) {
      if (s.count === 0) s.start = now;
      s.count += delta;
    }
  },
  admits: (s, _now, p, cost) => s.count + cost <= p.limit,
  retryAfter: (s, now, p, cost) => (cost > p.limit || s.count === 0 ? p.windowMs : s.start + p.windowMs - now),
  charge(s, now, _p, cost) {
    if (s.count === 0) s.start = now;
    s.count += cost;
  },
  refund(s, _now, _p, cost) {
    s.count = Math.max(0, s.count - cost);
  },
  remaining: (s, _now, p) => Math.max(0, p.limit - s.count),
  resetMs: (s, now, p) => (s.count > 0 ? s.start + p.windowMs - now : 0),
  expiresAt: (s, p) => s.start + p.windowMs,
};

interface SlidingLogState {
  log: number[];
}

/** Every admitted request's time is kept; at most `limit` in any trailing `windowMs`. Exact, O(limit) memory. */
const slidingLog: Algorithm<SlidingLogState> = {
  create: () => ({ log: [] }),
  advance(s, now, p) {
    const cutoff = now - p.windowMs;
    let drop = 0;
    while (drop < s.log.length && s.log[drop]! <= cutoff) drop++;
    if (drop > 0) s.log.splice(0, drop);
  },
  admits: (s, _now, p, cost) => s.log.length + cost <= p.limit,
  retryAfter(s, now, p, cost) {
    const index = s.log.length + cost - p.limit - 1;
    if (index < 0) return 0;
    if (index >= s.log.length) return p.windowMs;
    return s.log[index]! + p.windowMs - now;
  },
  charge(s, now, _p, cost) {
    for (let i = 0; i < cost; i++) s.log.push(now);
  },
  refund(s, _now, _p, cost) {
    s.log.length = Math.max(0, s.log.length - cost);
  },
  remaining: (s, _now, p) => Math.max(0, p.limit - s.log.length),
  resetMs: (s, now, p) => (s.log.length > 0 ? s.log[s.log.length - 1]! + p.windowMs - now : 0),
  expiresAt: (s, p) => (s.log.length > 0 ? s.log[s.log.length - 1]! + p.windowMs : 0),
};

interface SlidingWindowState {
  start: number;
  current: number;
  previous: number;
}

function estimate(s: SlidingWindowState, now: number, w: number): number {
  return (s.previous * (w - (now - s.start))) / w + s.current;
}

/**
 * Epoch-aligned windows; the previous window's count weighs in proportionally
 * to how much of it still overlaps the trailing window. O(1), approximate.
 */
const slidingWindow: Algorithm<SlidingWindowState> = {
  create: () => ({ start: 0, current: 0, previous: 0 }),
  advance(s, now, p) {
    const start = now - (now % p.windowMs);
    if (s.start !== start) {
      s.previous = s.start === start - p.windowMs ? s.current : 0;
      s.current = 0;
      s.start = start;
    }
  },
  admits: (s, now, p, cost) => estimate(s, now, p.windowMs) + cost <= p.limit,
  retryAfter(s, now, p, cost) {
    const w = p.windowMs;
    const elapsed = now - s.start;
    if (cost > p.limit) return 2 * w - elapsed;
    if (s.current + cost <= p.limit) {
      // The previous window's weight must fall far enough within this window.
      return Math.max(1, Math.ceil(w - ((p.limit - s.current - cost) * w) / s.previous - elapsed));
    }
    return w - elapsed + (s.current > 0 ? Math.max(0, Math.ceil(w - ((p.limit - cost) * w) / s.current)) : 0);
  },
  charge(s, _now, _p, cost) {
    s.current += cost;
  },
  refund(s, _now, _p, cost) {
    if (s.current >= cost) s.current -= cost;
    else {
      s.previous = Math.max(0, s.previous - (cost - s.current));
      s.current = 0;
    }
  },
  remaining: (s, now, p) => Math.max(0, Math.floor(p.limit - estimate(s, now, p.windowMs))),
  resetMs: (s, now, p) => (s.current > 0 ? s.start + 2 * p.windowMs - now : s.previous > 0 ? s.start + p.windowMs - now : 0),
  expiresAt: (s, p) => s.start + 2 * p.windowMs,
};

interface TokenBucketState {
  /** Tokens × windowMs, so refill (elapsed ms × limit) stays an integer. */
  credits: number;
  at: number;
}

/** A bucket of `limit` tokens refilled continuously at `limit` per `windowMs`; bursts up to `limit`. O(1). */
const tokenBucket: Algorithm<TokenBucketState> = {
  create: (p) => ({ credits: p.limit * p.windowMs, at: 0 }),
  advance(s, now, p) {
    if (now > s.at) {
      const capacity = p.limit * p.windowMs;
      s.credits = s.at === 0 ? capacity : Math.min(capacity, s.credits + (now - s.at) * p.limit);
      s.at = now;
    }
  },
  admits: (s, _now, p, cost) => s.credits >= cost * p.windowMs,
  retryAfter: (s, _now, p, cost) => Math.ceil((cost * p.windowMs - s.credits) / p.limit),
  charge(s, _now, p, cost) {
    s.credits -= cost * p.windowMs;
  },
  refund(s, _now, p, cost) {
    s.credits = Math.min(p.limit * p.windowMs, s.credits + cost * p.windowMs);
  },
  remaining: (s, _now, p) => Math.floor(s.credits / p.windowMs),
  resetMs: (s, _now, p) => Math.ceil((p.limit * p.windowMs - s.credits) / p.limit),
  expiresAt: (s, p) => s.at + Math.ceil((p.limit * p.windowMs - s.credits) / p.limit),
};

interface GcraState {
  /** Theoretical arrival time, microseconds. */
  tat: number;
}

/** Emission interval in µs, rounded up so rounding never admits more. */
export function emissionIntervalUs(p: Policy): number {
  return Math.ceil((p.windowMs * 1000) / p.limit);
}

/** The generic cell rate algorithm (leaky bucket as a meter): one timestamp per key, bursts up to `limit`. */
const gcra: Algorithm<GcraState> = {
  create: () => ({ tat: 0 }),
  advance() {},
  admits(s, now, p, cost) {
    const t = emissionIntervalUs(p);
    const nowUs = now * 1000;
    return Math.max(s.tat, nowUs) + cost * t - t * p.limit <= nowUs;
  },
  retryAfter(s, now, p, cost) {
    const t = emissionIntervalUs(p);
    const nowUs = now * 1000;
    return Math.ceil((Math.max(s.tat, nowUs) + cost * t - t * p.limit - nowUs) / 1000);
  },
  charge(s, now, p, cost) {
    s.tat = Math.max(s.tat, now * 1000) + cost * emissionIntervalUs(p);
  },
  refund(s, _now, p, cost) {
    s.tat -= cost * emissionIntervalUs(p);
  },
  remaining(s, now, p) {
    const t = emissionIntervalUs(p);
    const nowUs = now * 1000;
    return Math.max(0, Math.floor((nowUs + t * p.limit - Math.max(s.tat, nowUs)) / t));
  },
  resetMs: (s, now) => Math.ceil((Math.max(s.tat, now * 1000) - now * 1000) / 1000),
  expiresAt: (s) => Math.ceil(s.tat / 1000),
};

export const ALGORITHM_IMPLEMENTATIONS: Record<AlgorithmName, Algorithm<object>> = {
  'fixed-window': fixedWindow as Algorithm<object>,
  'sliding-log': slidingLog as Algorithm<object>,
  'sliding-window': slidingWindow as Algorithm<object>,
  'token-bucket': tokenBucket as Algorithm<object>,
  gcra: gcra as Algorithm<object>,
};

/** The algorithms a policy can use. Each is documented, with its trade-off, in docs/rate-limiting.md. */
export const ALGORITHMS = ['fixed-window', 'sliding-log', 'sliding-window', 'token-bucket', 'gcra'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];

/** What a policy counts per: the caller (API key, else user, else IP), the IP, the account named in a login, or everyone. */
export type PolicyScope = 'subject' | 'ip' | 'account' | 'global';

/** What happens to a request when the shared store cannot answer in time. */
export type FailMode = 'open' | 'closed';

/** One rate-limit policy: `limit` units per `windowMs`, counted by `algorithm`. */
export interface Policy {
  /** Appears in `RateLimit-Policy`, `RateLimit` and `violated-policies`: a short token. */
  readonly name: string;
  readonly algorithm: AlgorithmName;
  readonly limit: number;
  readonly windowMs: number;
  readonly scope: PolicyScope;
  readonly failMode: FailMode;
  /** Decide locally and synchronise in the background (fixed-window only); see docs/rate-limiting.md. */
  readonly twoTier: boolean;
}

/** One policy applied to one partition (the hash tag of its key: all checks with the same partition share a slot). */
export interface RateLimitCheck {
  readonly policy: Policy;
  /** e.g. `key:k_123`, `user:usr_1`, `ip:203.0.113.7`, `acct:…`, `global`. */
  readonly partition: string;
  /** Units counted before this decision but not yet applied (two-tier flushes); fixed-window only. */
  readonly delta?: number;
}

/** A policy's state after a decision. Times are milliseconds from now. */
export interface CheckOutcome {
  /** The check's policy (so a decision's outcomes describe themselves). */
  readonly policy: Policy;
  readonly allowed: boolean;
  /** Units still available right now (after the charge when the decision admitted). */
  readonly remaining: number;
  /** Until the quota is fully restored. */
  readonly resetMs: number;
  /** When rejected: until a request of the same cost would be admitted; 0 otherwise. */
  readonly retryAfterMs: number;
}

/**
 * The port every rate-limit store implements (memory, Redis).
 *
 * `decide` evaluates all checks of one request atomically: when every check
 * admits, all are charged `cost`; when one rejects, none is charged. A store
 * that decides in-process answers synchronously (no promise on the hot path);
 * a remote one returns a promise that settles within the store's own timeout
 * and rejects (never hangs) when the store is unavailable.
 */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  decide(checks: readonly RateLimitCheck[], cost: number): CheckOutcome[] | Promise<CheckOutcome[]>;
  /** Gives back `cost` units charged by an admitted decision (e.g. the response was a 304). */
  refund(checks: readonly RateLimitCheck[], cost: number): void | Promise<void>;
  close(): Promise<void>;
}

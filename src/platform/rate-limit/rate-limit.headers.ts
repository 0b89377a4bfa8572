import type { RateLimitDecision } from './rate-limit.limiter.ts';
import type { Policy } from './rate-limit.store.ts';

/** Where the headers go: a Fastify reply fits, and so does any adapter with the same method. */
export interface HeaderSink {
  header(name: string, value: string): unknown;
}

/** A structured-field string (RFC 9651): policy names are tokens from configuration, quoted and escaped anyway. */
function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The fixed text of a run of policies — the `RateLimit-Policy` field, and per
 * policy the start of its `RateLimit` item and its limit — keyed by the run's
 * policies. Policies are immutable, so a trie keyed by identity builds each
 * text once and a decision's headers only format its numbers.
 */
interface PolicyRun {
  readonly field: string;
  /** `"name";r=` for each policy of the run, in order. */
  readonly items: readonly string[];
  readonly limits: readonly string[];
  readonly next: Map<Policy, PolicyRun>;
  /** The last `X-RateLimit-Reset` written for this run, as a number and as text: it changes at most once a second. */
  resetSeconds: number;
  resetText: string;
}
const runs = new WeakMap<Policy, PolicyRun>();

function extend(run: PolicyRun | undefined, policy: Policy): PolicyRun {
  const name = sfString(policy.name);
  const item = `${name};q=${policy.limit};w=${policy.windowMs / 1000}`;
  return {
    field: run ? `${run.field}, ${item}` : item,
    items: [...(run?.items ?? []), `${name};r=`],
    limits: [...(run?.limits ?? []), String(policy.limit)],
    next: new Map(),
    resetSeconds: -1,
    resetText: '',
  };
}

function runOf(results: readonly { readonly policy: Policy }[]): PolicyRun | undefined {
  let run: PolicyRun | undefined;
  for (let i = 0; i < results.length; i++) {
    const policy = results[i]!.policy;
    let next = run ? run.next.get(policy) : runs.get(policy);
    if (!next) {
      next = extend(run, policy);
      if (run) run.next.set(policy, next);
      else runs.set(policy, next);
    }
    run = next;
  }
  return run;
}

/** `RateLimit-Policy` for the policies of a decision, e.g. `"free";q=100;w=60, "search";q=30;w=60`. */
export function policyField(results: readonly { readonly policy: Policy }[]): string {
  return runOf(results)?.field ?? '';
}

/** Whole seconds, never rounding a wait down. */
export function seconds(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000);
}

/**
 * Which result the `X-RateLimit-*` headers describe: on a rejection the
 * violated policy with the longest wait, otherwise the one with the least left.
 */
function headline(decision: RateLimitDecision): number {
  const results = decision.results;
  let best = 0;
  for (let i = 1; i < results.length; i++) {
    const r = results[i]!;
    const b = results[best]!;
    if (!decision.allowed) {
      if (!r.allowed && (b.allowed || r.retryAfterMs > b.retryAfterMs)) best = i;
    } else if (r.remaining < b.remaining || (r.remaining === b.remaining && r.resetMs > b.resetMs)) {
      best = i;
    }
  }
  return best;
}

/**
 * Writes the rate-limit headers of a decision: `X-RateLimit-Limit`/`-Remaining`/
 * `-Reset` (epoch seconds) for the headline policy, draft-11 `RateLimit-Policy`
 * and `RateLimit` for every policy that applied, and `Retry-After` on a
 * rejection. `refunded` adds back units given back after the decision (304).
 */
export function writeRateLimitHeaders(sink: HeaderSink, decision: RateLimitDecision, nowMs: number, refunded = 0): void {
  const results = decision.results;
  const run = runOf(results);
  if (run === undefined) {
    if (decision.degraded === 'closed') sink.header('retry-after', String(Math.max(1, seconds(decision.retryAfterMs))));
    return;
  }
  const h = headline(decision);
  const top = results[h]!;
  let field = '';
  let headlineRemaining = '';
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const remaining = String(Math.min(r.policy.limit, r.remaining + refunded));
    if (i === h) headlineRemaining = remaining;
    // Concatenated, not joined: in instruction counts (callgrind, bench/README.md) Array#join costs several times
    // what flattening the concatenation does when Node validates the value.
    field += `${i > 0 ? ', ' : ''}${run.items[i]!}${remaining};t=${seconds(r.allowed ? r.resetMs : Math.max(r.resetMs, r.retryAfterMs))}`;
  }
  const reset = seconds(nowMs + (decision.allowed ? top.resetMs : Math.max(top.resetMs, top.retryAfterMs)));
  if (reset !== run.resetSeconds) {
    run.resetSeconds = reset;
    run.resetText = String(reset);
  }
  sink.header('x-ratelimit-limit', run.limits[h]!);
  sink.header('x-ratelimit-remaining', headlineRemaining);
  sink.header('x-ratelimit-reset', run.resetText);
  sink.header('ratelimit-policy', run.field);
  sink.header('ratelimit', field);
  if (!decision.allowed) sink.header('retry-after', String(Math.max(1, seconds(decision.retryAfterMs))));
}

/** The same headers as a record (for transports that collect them first). */
export function rateLimitHeaders(decision: RateLimitDecision, nowMs: number, refunded = 0): Record<string, string> {
  const headers: Record<string, string> = {};
  writeRateLimitHeaders({ header: (name, value) => (headers[name] = value) }, decision, nowMs, refunded);
  return headers;
}

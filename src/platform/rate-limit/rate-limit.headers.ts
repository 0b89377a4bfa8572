import type { RateLimitDecision } from './rate-limit.limiter.ts';
import type { Policy } from './rate-limit.store.ts';

/** Header names, lower case as Node sends them. */
export const RATE_LIMIT_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit-policy', 'ratelimit', 'retry-after'] as const;

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
  };
}

function runOf(results: readonly { readonly policy: Policy }[]): PolicyRun | undefined {
  let run: PolicyRun | undefined;
  for (const { policy } of results) {
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
  sink.header('x-ratelimit-limit', run.limits[h]!);
  sink.header('x-ratelimit-remaining', String(Math.min(top.policy.limit, top.remaining + refunded)));
  sink.header('x-ratelimit-reset', String(seconds(nowMs + (decision.allowed ? top.resetMs : Math.max(top.resetMs, top.retryAfterMs)))));
  sink.header('ratelimit-policy', run.field);
  // Joined rather than concatenated: join makes one flat string, which Node's header validation scans without
  // first copying a rope of pieces (measurable on a cheap route).
  const parts: (string | number)[] = [];
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (i > 0) parts.push(', ');
    parts.push(run.items[i]!, Math.min(r.policy.limit, r.remaining + refunded), ';t=', seconds(r.allowed ? r.resetMs : Math.max(r.resetMs, r.retryAfterMs)));
  }
  sink.header('ratelimit', parts.join(''));
  if (!decision.allowed) sink.header('retry-after', String(Math.max(1, seconds(decision.retryAfterMs))));
}

/** The same headers as a record (for transports that collect them first). */
export function rateLimitHeaders(decision: RateLimitDecision, nowMs: number, refunded = 0): Record<string, string> {
  const headers: Record<string, string> = {};
  writeRateLimitHeaders({ header: (name, value) => (headers[name] = value) }, decision, nowMs, refunded);
  return headers;
}

import type { PolicyResult, RateLimitDecision } from './rate-limit.limiter.ts';
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
 * The text of a run of policies: the `RateLimit-Policy` field for the run that
 * ends here, and the runs that continue it. Policies are immutable, so a trie
 * keyed by identity builds each field once.
 */
interface PolicyRun {
  readonly field: string;
  readonly next: Map<Policy, PolicyRun>;
}
const runs = new WeakMap<Policy, PolicyRun>();
const quotedNames = new WeakMap<Policy, string>();

function quoted(policy: Policy): string {
  let name = quotedNames.get(policy);
  if (name === undefined) quotedNames.set(policy, (name = sfString(policy.name)));
  return name;
}

/** `RateLimit-Policy` for the policies of a decision, e.g. `"free";q=100;w=60, "search";q=30;w=60`. */
export function policyField(results: readonly { readonly policy: Policy }[]): string {
  let run: PolicyRun | undefined;
  for (const { policy } of results) {
    let next = run ? run.next.get(policy) : runs.get(policy);
    if (!next) {
      const item = `${quoted(policy)};q=${policy.limit};w=${policy.windowMs / 1000}`;
      next = { field: run ? `${run.field}, ${item}` : item, next: new Map() };
      if (run) run.next.set(policy, next);
      else runs.set(policy, next);
    }
    run = next;
  }
  return run?.field ?? '';
}

/** Whole seconds, never rounding a wait down. */
export function seconds(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000);
}

/**
 * The result the `X-RateLimit-*` headers describe: on a rejection the violated
 * policy with the longest wait, otherwise the one with the least left.
 */
function headline(decision: RateLimitDecision): PolicyResult {
  const results = decision.results;
  let best = results[0]!;
  for (let i = 1; i < results.length; i++) {
    const r = results[i]!;
    if (!decision.allowed) {
      if (!r.allowed && (best.allowed || r.retryAfterMs > best.retryAfterMs)) best = r;
    } else if (r.remaining < best.remaining || (r.remaining === best.remaining && r.resetMs > best.resetMs)) {
      best = r;
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
  if (results.length === 0) {
    if (decision.degraded === 'closed') sink.header('retry-after', String(Math.max(1, seconds(decision.retryAfterMs))));
    return;
  }
  const top = headline(decision);
  sink.header('x-ratelimit-limit', String(top.policy.limit));
  sink.header('x-ratelimit-remaining', String(Math.min(top.policy.limit, top.remaining + refunded)));
  sink.header('x-ratelimit-reset', String(seconds(nowMs + (decision.allowed ? top.resetMs : Math.max(top.resetMs, top.retryAfterMs)))));
  sink.header('ratelimit-policy', policyField(results));
  let field = '';
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const item = `${quoted(r.policy)};r=${Math.min(r.policy.limit, r.remaining + refunded)};t=${seconds(r.allowed ? r.resetMs : Math.max(r.resetMs, r.retryAfterMs))}`;
    field = i === 0 ? item : `${field}, ${item}`;
  }
  sink.header('ratelimit', field);
  if (!decision.allowed) sink.header('retry-after', String(Math.max(1, seconds(decision.retryAfterMs))));
}

/** The same headers as a record (for transports that collect them first). */
export function rateLimitHeaders(decision: RateLimitDecision, nowMs: number, refunded = 0): Record<string, string> {
  const headers: Record<string, string> = {};
  writeRateLimitHeaders({ header: (name, value) => (headers[name] = value) }, decision, nowMs, refunded);
  return headers;
}

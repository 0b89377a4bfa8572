import type { PolicyResult, RateLimitDecision } from './rate-limit.limiter.ts';
import type { Policy } from './rate-limit.store.ts';

/** Header names, lower case as Node sends them. */
export const RATE_LIMIT_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit-policy', 'ratelimit', 'retry-after'] as const;

const policyFieldCache = new Map<string, string>();

/** A structured-field string (RFC 9651): policy names are tokens from configuration, quoted and escaped anyway. */
function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `RateLimit-Policy` for a set of policies, e.g. `"free";q=100;w=60, "search";q=30;w=60`; cached per set. */
export function policyField(policies: readonly Policy[]): string {
  let id = '';
  for (const p of policies) id += `${p.name}:${p.limit}:${p.windowMs} `;
  let field = policyFieldCache.get(id);
  if (field === undefined) {
    field = policies.map((p) => `${sfString(p.name)};q=${p.limit};w=${p.windowMs / 1000}`).join(', ');
    if (policyFieldCache.size < 1_000) policyFieldCache.set(id, field);
  }
  return field;
}

/** Whole seconds, never rounding a wait down. */
export function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
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
 * The rate-limit headers for a decision: `X-RateLimit-Limit`/`-Remaining`/
 * `-Reset` (epoch seconds) for the headline policy, draft-11 `RateLimit-Policy`
 * and `RateLimit` for every policy that applied, and `Retry-After` on a
 * rejection. `refunded` adds back units given back after the decision (304).
 */
export function rateLimitHeaders(decision: RateLimitDecision, nowMs: number, refunded = 0): Record<string, string> {
  const headers: Record<string, string> = {};
  if (decision.results.length === 0) {
    if (decision.degraded === 'closed') headers['retry-after'] = String(Math.max(1, seconds(decision.retryAfterMs)));
    return headers;
  }
  const top = headline(decision);
  headers['x-ratelimit-limit'] = String(top.policy.limit);
  headers['x-ratelimit-remaining'] = String(Math.min(top.policy.limit, top.remaining + refunded));
  headers['x-ratelimit-reset'] = String(seconds(nowMs + (decision.allowed ? top.resetMs : Math.max(top.resetMs, top.retryAfterMs))));
  headers['ratelimit-policy'] = policyField(decision.results.map((r) => r.policy));
  let field = '';
  for (const r of decision.results) {
    if (field !== '') field += ', ';
    field += `${sfString(r.policy.name)};r=${Math.min(r.policy.limit, r.remaining + refunded)};t=${seconds(r.allowed ? r.resetMs : Math.max(r.resetMs, r.retryAfterMs))}`;
  }
  headers.ratelimit = field;
  if (!decision.allowed) headers['retry-after'] = String(Math.max(1, seconds(decision.retryAfterMs)));
  return headers;
}

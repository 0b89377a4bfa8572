/** How the SDK retries; every field has a documented default (docs/sdk.md). */
export interface RetryPolicy {
  /** Retries after the first attempt (default 2: three attempts at most). */
  maxRetries: number;
  /** Base of the exponential backoff (default 500 ms). */
  baseDelayMs: number;
  /** Cap of the exponential backoff (default 8 s). */
  maxDelayMs: number;
  /** The longest Retry-After the SDK waits for (default 60 s); a longer one ends the retries and the error carries it. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({ maxRetries: 2, baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 });

/** Statuses that say "try again": the request was not (or may not have been) acted on. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Methods safe to repeat whatever happened: they are idempotent by definition (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * May this request be sent again? GET, HEAD, PUT and DELETE always; POST and
 * PATCH only under an Idempotency-Key, which makes the server answer a
 * repeat with the first outcome instead of acting twice.
 */
export function mayRepeat(method: string, idempotencyKey: string | undefined): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase()) || idempotencyKey !== undefined;
}

/**
 * Does this answer call for another attempt? The retryable statuses, plus
 * 409 IDEMPOTENCY_KEY_IN_USE: the same key's first attempt is still running
 * on the server (it outlived our timeout), and the server says when to ask again.
 */
export function retryableAnswer(status: number, code: string | undefined): boolean {
  return RETRYABLE_STATUSES.has(status) || (status === 409 && code === 'IDEMPOTENCY_KEY_IN_USE');
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): the n-th retry (n = 0, 1, …) waits a uniformly random
 * time in [0, min(maxDelayMs, baseDelayMs · 2^n)]. Unlike "equal jitter"
 * (Stripe: half fixed, half random) it spreads a crowd of clients over the
 * whole window, so they do not come back in step.
 */
export function backoffDelayMs(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeilingMs(retry, policy));
}

/** The upper bound of the n-th retry's delay. */
export function backoffCeilingMs(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
}

/**
 * `Retry-After` in milliseconds from now: delay-seconds or an HTTP-date
 * (RFC 9110 §10.2.3); null when absent or unreadable. A date in the past is 0.
 */
export function parseRetryAfterMs(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A random UUIDv4, from Web Crypto (randomUUID needs a secure context in browsers, getRandomValues does not). */
export function randomId(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

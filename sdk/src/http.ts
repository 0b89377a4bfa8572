import { StoaConnectionError, StoaError, StoaTimeoutError, type Problem } from './errors.ts';
import { backoffDelayMs, mayRepeat, parseRetryAfterMs, randomId, retryableAnswer, sleep, type RetryPolicy } from './retry.ts';

/** Options every call takes as its last argument. */
export interface RequestOptions {
  /**
   * The Idempotency-Key. POST gets a fresh one per call unless given (pass
   * your own to make a call idempotent across restarts of your process);
   * `false` sends none (and then the call is never retried). PATCH sends one
   * only when given, and is retried only then.
   */
  idempotencyKey?: string | false;
  /** `If-Match`: the ETag the change is based on; a stale one is 412 PRECONDITION_FAILED. */
  ifMatch?: string;
  /** `If-None-Match`: an unchanged resource answers 304 (the result's `notModified`). */
  ifNoneMatch?: string;
  /** Cancels the whole call, retries and waits included; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Per attempt, from sending to the last byte of the body (overrides the client's). */
  timeoutMs?: number;
  /** Overrides the client's maxRetries for this call. */
  maxRetries?: number;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
}

/** Why an attempt is retried, for `onRetry`. */
export interface RetryInfo {
  method: string;
  url: string;
  /** 1 for the first retry. */
  retry: number;
  /** The wait before it. */
  delayMs: number;
  /** Whether the wait came from the server's Retry-After (else: the jittered backoff). */
  fromRetryAfter: boolean;
  /** The status that caused it, or null for a network error or timeout. */
  status: number | null;
  error: unknown;
  idempotencyKey: string | undefined;
  requestId: string;
}

export interface TransportConfig {
  baseUrl: string;
  fetch: typeof fetch;
  timeoutMs: number;
  retry: RetryPolicy;
  /** The Authorization header value for a call, if any (a function: tokens may be refreshed). */
  authorization: () => string | undefined | Promise<string | undefined>;
  headers: Record<string, string>;
  onRetry?: ((info: RetryInfo) => void) | undefined;
  random?: () => number;
}

/** What every call gives back besides its data. */
export interface ResponseMeta {
  status: number;
  headers: Headers;
  /** The X-Request-ID of the last attempt (the SDK sends a fresh one per attempt unless you pass your own). */
  requestId: string | null;
  /** The ETag, for `ifMatch` on a later update (null when the answer has none). */
  etag: string | null;
  lastModified: string | null;
  /** 1 + the retries it took. */
  attempts: number;
  /** The Idempotency-Key sent (the same on every attempt), if any. */
  idempotencyKey: string | null;
  /** True when the server answered with the recorded outcome of an earlier call under the same key. */
  replayed: boolean;
  /** True on 304 Not Modified (If-None-Match): `data` is then undefined. */
  notModified: boolean;
}

export interface StoaResponse<T> extends ResponseMeta {
  data: T;
}

export interface Call {
  method: string;
  path: string;
  query?: Record<string, unknown> | undefined;
  body?: unknown;
  accept?: string;
  options?: RequestOptions | undefined;
}

/** `/posts/{id}` + `{ id: 'pst_1' }` → `/posts/pst_1` (each value URI-encoded). */
export function expandPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null || value === '') throw new TypeError(`Missing path parameter "${name}" for ${template}`);
    return encodeURIComponent(String(value));
  });
}

export function buildUrl(baseUrl: string, path: string, query: Record<string, unknown> | undefined): string {
  const url = new URL(baseUrl.replace(/\/+$/, '') + path);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    url.searchParams.set(name, Array.isArray(value) ? value.join(',') : String(value));
  }
  return url.toString();
}

const TIMED_OUT = Symbol('timed out');

/**
 * Sends one logical call: attempts, the waits between them, one
 * Idempotency-Key for all of them, a fresh X-Request-ID for each, a timeout
 * per attempt and the caller's signal over everything.
 */
export async function send<T>(config: TransportConfig, call: Call): Promise<StoaResponse<T>> {
  const method = call.method.toUpperCase();
  const options = call.options ?? {};
  const url = buildUrl(config.baseUrl, call.path, call.query);
  const idempotencyKey = keyFor(method, options.idempotencyKey ?? headerOf(options.headers, 'idempotency-key'));
  const maxRetries = options.maxRetries ?? config.retry.maxRetries;
  const timeoutMs = options.timeoutMs ?? config.timeoutMs;
  const repeatable = mayRepeat(method, idempotencyKey);
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const callerRequestId = headerOf(options.headers, 'x-request-id');

  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw options.signal.reason;
    const requestId = callerRequestId ?? randomId();
    const headers = new Headers(config.headers);
    headers.set('accept', call.accept ?? 'application/json');
    const authorization = await config.authorization();
    if (authorization) headers.set('authorization', authorization);
    if (body !== undefined) headers.set('content-type', 'application/json');
    if (options.ifMatch !== undefined) headers.set('if-match', options.ifMatch);
    if (options.ifNoneMatch !== undefined) headers.set('if-none-match', options.ifNoneMatch);
    for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);
    if (idempotencyKey !== undefined) headers.set('idempotency-key', idempotencyKey);
    headers.set('x-request-id', requestId);

    const canRetry = repeatable && attempt <= maxRetries;
    const waitBeforeRetry = async (status: number | null, error: unknown, serverDelayMs: number | null) => {
      const fromRetryAfter = serverDelayMs !== null;
      const delayMs = serverDelayMs ?? backoffDelayMs(attempt - 1, config.retry, config.random);
      config.onRetry?.({ method, url, retry: attempt, delayMs, fromRetryAfter, status, error, idempotencyKey, requestId });
      await sleep(delayMs, options.signal);
    };

    let answer: { response: Response; text: string };
    try {
      answer = await attemptOnce(config.fetch, url, { method, headers, body }, timeoutMs, options.signal);
    } catch (caught) {
      if (options.signal?.aborted) throw options.signal.reason;
      const meta = { requestId, attempts: attempt, cause: caught === TIMED_OUT ? undefined : caught };
      const error = caught === TIMED_OUT ? new StoaTimeoutError(timeoutMs, meta) : new StoaConnectionError(`Request failed: ${method} ${url}: ${describe(caught)}`, meta);
      if (!canRetry) throw error;
      await waitBeforeRetry(null, error, null);
      continue;
    }

    const { response, text } = answer;
    const meta = metaOf(response, requestId, attempt, idempotencyKey);
    if (response.ok || response.status === 304) {
      return { ...meta, data: parseBody(response, text) as T };
    }
    const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'));
    const problem = problemOf(response, text);
    const error = new StoaError({
      status: response.status,
      problem,
      headers: response.headers,
      requestId: meta.requestId,
      attempts: attempt,
      retryAfter: retryAfterMs === null ? null : Math.ceil(retryAfterMs / 1000),
      body: text,
    });
    const waitTooLong = retryAfterMs !== null && retryAfterMs > config.retry.maxRetryAfterMs;
    if (!canRetry || waitTooLong || !retryableAnswer(response.status, problem?.code)) throw error;
    await waitBeforeRetry(response.status, error, retryAfterMs);
  }
}

/** A header of the caller's, whatever its case. */
function headerOf(headers: Record<string, string> | undefined, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === name) return value;
  return undefined;
}

function keyFor(method: string, given: string | false | undefined): string | undefined {
  if (given === false) return undefined;
  if (given !== undefined) return given;
  return method === 'POST' ? randomId() : undefined;
}

/** One fetch and its whole body, under a timer that covers both; the caller's signal aborts it too. */
async function attemptOnce(fetcher: typeof fetch, url: string, init: RequestInit, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ response: Response; text: string }> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const response = await fetcher(url, { ...init, signal: controller.signal });
    const text = await response.text();
    return { response, text };
  } catch (error) {
    throw timedOut ? TIMED_OUT : error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function metaOf(response: Response, requestId: string, attempts: number, idempotencyKey: string | undefined): ResponseMeta {
  const h = response.headers;
  return {
    status: response.status,
    headers: h,
    // The id sent with the last attempt (Stoa keeps and logs it); a replayed answer's header names the first call instead.
    requestId,
    etag: h.get('etag'),
    lastModified: h.get('last-modified'),
    attempts,
    idempotencyKey: idempotencyKey ?? null,
    replayed: h.get('idempotent-replayed') === 'true',
    notModified: response.status === 304,
  };
}

function isJson(response: Response): boolean {
  return /^application\/([\w.+-]+\+)?json\b/i.test(response.headers.get('content-type') ?? '');
}

function parseBody(response: Response, text: string): unknown {
  if (text === '' || response.status === 204 || response.status === 304) return undefined;
  return isJson(response) ? JSON.parse(text) : text;
}

function problemOf(response: Response, text: string): Problem | null {
  if (!isJson(response)) return null;
  try {
    const body = JSON.parse(text) as unknown;
    return body !== null && typeof body === 'object' && typeof (body as Problem).code === 'string' ? (body as Problem) : null;
  } catch {
    return null;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

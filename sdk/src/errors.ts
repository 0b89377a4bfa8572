/** One failing field of a problem (`errors[]` of a 422, 400 or 409). */
export interface FieldError {
  /** Dotted path of the field, snake_case as on the wire (`items.0.quantity`). */
  field: string;
  /** Why it failed: `required`, `too_long`, `invalid_format`, … */
  code: string;
  message: string;
}

/** An RFC 9457 problem document as Stoa sends it (`application/problem+json`). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  request_id: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** Anything the SDK throws itself, apart from the caller's own abort reason. */
export class StoaSdkError extends Error {
  override name = 'StoaSdkError';
  /** The X-Request-ID of the last attempt (the SDK sends one on each attempt, so even a lost response has one). */
  readonly requestId: string | null;
  /** How many attempts were made (1 + retries). */
  readonly attempts: number;

  constructor(message: string, options: { requestId: string | null; attempts: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.requestId = options.requestId;
    this.attempts = options.attempts;
  }
}

/**
 * A non-2xx answer. `code` is the stable registry code (docs/errors.md) to
 * branch on; the rest is the problem document, typed.
 */
export class StoaError extends StoaSdkError {
  override name = 'StoaError';
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  /** The problem type URI; it resolves to the code's documentation. */
  readonly type: string | null;
  readonly instance: string | null;
  /** The failing fields, when the problem lists them; else empty. */
  readonly fields: FieldError[];
  /** Seconds the server asked to wait (`Retry-After`, seconds or HTTP-date), or null. */
  readonly retryAfter: number | null;
  /** The problem document as received (null when the body was not one, e.g. a proxy's HTML page). */
  readonly problem: Problem | null;
  readonly headers: Headers;

  constructor(init: { status: number; problem: Problem | null; headers: Headers; requestId: string | null; attempts: number; retryAfter: number | null; body?: string }) {
    const { status, problem } = init;
    const code = typeof problem?.code === 'string' ? problem.code : `HTTP_${status}`;
    const detail = typeof problem?.detail === 'string' ? problem.detail : (init.body ?? '').slice(0, 500);
    super(`${status} ${code}: ${detail || (problem?.title ?? 'request failed')}`, { requestId: problem?.request_id ?? init.requestId, attempts: init.attempts });
    this.status = status;
    this.code = code;
    this.title = typeof problem?.title === 'string' ? problem.title : `HTTP ${status}`;
    this.detail = detail;
    this.type = typeof problem?.type === 'string' ? problem.type : null;
    this.instance = typeof problem?.instance === 'string' ? problem.instance : null;
    this.fields = Array.isArray(problem?.errors) ? problem.errors : [];
    this.retryAfter = init.retryAfter;
    this.problem = problem;
    this.headers = init.headers;
  }
}

/** No answer came: the connection failed, was reset, or the body could not be read. */
export class StoaConnectionError extends StoaSdkError {
  override name = 'StoaConnectionError';
}

/** An attempt took longer than `timeoutMs` (the last one, when retries ran out). */
export class StoaTimeoutError extends StoaConnectionError {
  override name = 'StoaTimeoutError';
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options: { requestId: string | null; attempts: number; cause?: unknown }) {
    super(`No complete answer within ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

import type { FieldErrorCode } from './validation.ts';

/**
 * The one error registry. Every error Stoa returns has a stable UPPER_SNAKE
 * code listed here, documented in docs/errors.md (a test checks both ways),
 * and mapped to each protocol only at the edge. A code is never reused.
 *
 * `status` is the HTTP status; other transports derive their own status from it.
 */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON body' },
  INVALID_UTF8: { status: 400, title: 'Body is not valid UTF-8' },
  FORBIDDEN_JSON_KEY: { status: 400, title: 'Forbidden key in JSON body' },
  JSON_TOO_DEEP: { status: 400, title: 'JSON body nested too deeply' },
  INVALID_PARAMETER: { status: 400, title: 'Invalid query parameter' },
  UNKNOWN_PARAMETER: { status: 400, title: 'Unknown query parameter' },
  INVALID_HEADER: { status: 400, title: 'Invalid header' },
  INVALID_CURSOR: { status: 400, title: 'Invalid cursor' },
  IDEMPOTENCY_KEY_REQUIRED: { status: 400, title: 'Idempotency-Key required' },
  IDEMPOTENCY_KEY_INVALID: { status: 400, title: 'Invalid Idempotency-Key' },
  WEBHOOK_SIGNATURE_INVALID: { status: 400, title: 'Invalid webhook signature' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  INVALID_CREDENTIALS: { status: 401, title: 'Invalid email or password' },
  INVALID_TOKEN: { status: 401, title: 'Invalid or expired access token' },
  INVALID_REFRESH_TOKEN: { status: 401, title: 'Invalid refresh token' },
  INVALID_API_KEY: { status: 401, title: 'Invalid API key' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  INSUFFICIENT_SCOPE: { status: 403, title: 'API key lacks the required scope' },
  NOT_FOUND: { status: 404, title: 'Resource not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  ACCOUNT_SUSPENDED: { status: 403, title: 'Account suspended' },
  EMAIL_TAKEN: { status: 409, title: 'Email already registered' },
  CONFLICT: { status: 409, title: 'Conflict' },
  API_VERSION_SUNSET: { status: 410, title: 'API version retired' },
  OUT_OF_STOCK: { status: 409, title: 'Out of stock' },
  INVALID_STATE_TRANSITION: { status: 409, title: 'Invalid state transition' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, title: 'Idempotency-Key in use' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  PRECONDITION_REQUIRED: { status: 428, title: 'Precondition required' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  VALIDATION_FAILED: { status: 422, title: 'Validation failed' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency-Key reused' },
  RATE_LIMITED: { status: 429, title: 'Rate limit exceeded' },
  INTERNAL_ERROR: { status: 500, title: 'Internal server error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  OVERLOADED: { status: 503, title: 'Server overloaded' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One failing field of a validation error. `field` is a canonical dotted path (`items.0.product_id`). */
export interface FieldError {
  field: string;
  code: FieldErrorCode;
  message: string;
}

/**
 * The error base class every layer throws. Transports turn it into a
 * problem document, a GraphQL error or a gRPC status.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  /** Extra members added to the problem body (RFC 9457 extensions). */
  readonly extensions: Record<string, unknown> | undefined;
  /** Extra response headers (e.g. Allow, Retry-After). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: {
      errors?: FieldError[];
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(detail ?? ERROR_CODES[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

export function validationError(errors: FieldError[], detail?: string): AppError {
  const names = [...new Set(errors.map((e) => e.field))].join(', ');
  return new AppError('VALIDATION_FAILED', detail ?? `Invalid fields: ${names}`, { errors });
}

export function notFound(what: string): AppError {
  return new AppError('NOT_FOUND', `${what} was not found`);
}

/** 412: an If-Match precondition no longer holds. */
export function preconditionFailed(): AppError {
  return new AppError('PRECONDITION_FAILED', 'The resource has changed since the ETag given in If-Match; fetch it again and retry');
}

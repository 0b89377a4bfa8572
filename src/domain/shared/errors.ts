import type { FieldErrorCode } from './validation.ts';

/** The canonical gRPC status codes (google.rpc.Code) a Stoa error may map to. */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GRPC_STATUS;

/**
 * The one error registry. Every error Stoa returns has a stable UPPER_SNAKE
 * code listed here, documented in docs/errors.md (a test checks both ways).
 * A code is never reused.
 *
 * Each code carries its status on every protocol that has one: `status` is
 * the HTTP status, `grpc` the gRPC status. GraphQL (`extensions.code`) and
 * WebSocket error frames carry the code itself. Transports read these columns
 * at their edge; nothing below them deals in protocol statuses.
 */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Bad request' },
  MALFORMED_JSON: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Malformed JSON body' },
  INVALID_UTF8: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Body is not valid UTF-8' },
  FORBIDDEN_JSON_KEY: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Forbidden key in JSON body' },
  JSON_TOO_DEEP: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'JSON body nested too deeply' },
  INVALID_PARAMETER: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Invalid parameter' },
  UNKNOWN_PARAMETER: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Unknown query parameter' },
  INVALID_HEADER: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Invalid header' },
  INVALID_CURSOR: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Invalid cursor' },
  GRAPHQL_PARSE_FAILED: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'GraphQL document does not parse' },
  GRAPHQL_VALIDATION_FAILED: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'GraphQL document is invalid' },
  QUERY_TOO_DEEP: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'GraphQL query too deep' },
  QUERY_TOO_COMPLEX: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'GraphQL query too complex' },
  PERSISTED_QUERY_NOT_FOUND: { status: 400, grpc: 'NOT_FOUND', title: 'Persisted query not found' },
  PERSISTED_QUERY_HASH_MISMATCH: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Persisted query hash mismatch' },
  PERSISTED_QUERY_REQUIRED: { status: 400, grpc: 'FAILED_PRECONDITION', title: 'Only persisted queries are allowed' },
  IDEMPOTENCY_KEY_REQUIRED: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Idempotency-Key required' },
  IDEMPOTENCY_KEY_INVALID: { status: 400, grpc: 'INVALID_ARGUMENT', title: 'Invalid Idempotency-Key' },
  WEBHOOK_SIGNATURE_INVALID: { status: 401, grpc: 'UNAUTHENTICATED', title: 'Invalid webhook signature' },
  UNAUTHENTICATED: { status: 401, grpc: 'UNAUTHENTICATED', title: 'Authentication required' },
  INVALID_CREDENTIALS: { status: 401, grpc: 'UNAUTHENTICATED', title: 'Invalid email or password' },
  INVALID_TOKEN: { status: 401, grpc: 'UNAUTHENTICATED', title: 'Invalid or expired access token' },
  INVALID_REFRESH_TOKEN: { status: 401, grpc: 'UNAUTHENTICATED', title: 'Invalid refresh token' },
  INVALID_API_KEY: { status: 401, grpc: 'UNAUTHENTICATED', title: 'Invalid API key' },
  ACCOUNT_SUSPENDED: { status: 401, grpc: 'UNAUTHENTICATED', title: 'Account suspended' },
  FORBIDDEN: { status: 403, grpc: 'PERMISSION_DENIED', title: 'Forbidden' },
  INSUFFICIENT_SCOPE: { status: 403, grpc: 'PERMISSION_DENIED', title: 'API key lacks the required scope' },
  NOT_FOUND: { status: 404, grpc: 'NOT_FOUND', title: 'Resource not found' },
  ROUTE_NOT_FOUND: { status: 404, grpc: 'UNIMPLEMENTED', title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, grpc: 'UNIMPLEMENTED', title: 'Method not allowed' },
  NOT_ACCEPTABLE: { status: 406, grpc: 'INVALID_ARGUMENT', title: 'Not acceptable' },
  EMAIL_TAKEN: { status: 409, grpc: 'ALREADY_EXISTS', title: 'Email already registered' },
  CONFLICT: { status: 409, grpc: 'ABORTED', title: 'Conflict' },
  API_VERSION_SUNSET: { status: 410, grpc: 'UNIMPLEMENTED', title: 'API version retired' },
  OUT_OF_STOCK: { status: 409, grpc: 'FAILED_PRECONDITION', title: 'Out of stock' },
  INVALID_STATE_TRANSITION: { status: 409, grpc: 'FAILED_PRECONDITION', title: 'Invalid state transition' },
  JOB_NOT_FINISHED: { status: 409, grpc: 'FAILED_PRECONDITION', title: 'Job not finished' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, grpc: 'ABORTED', title: 'Idempotency-Key in use' },
  PRECONDITION_FAILED: { status: 412, grpc: 'ABORTED', title: 'Precondition failed' },
  PRECONDITION_REQUIRED: { status: 428, grpc: 'FAILED_PRECONDITION', title: 'Precondition required' },
  PAYLOAD_TOO_LARGE: { status: 413, grpc: 'RESOURCE_EXHAUSTED', title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, grpc: 'INVALID_ARGUMENT', title: 'Unsupported media type' },
  VALIDATION_FAILED: { status: 422, grpc: 'INVALID_ARGUMENT', title: 'Validation failed' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, grpc: 'FAILED_PRECONDITION', title: 'Idempotency-Key reused' },
  RATE_LIMITED: { status: 429, grpc: 'RESOURCE_EXHAUSTED', title: 'Rate limit exceeded' },
  TOO_MANY_STREAMS: { status: 429, grpc: 'RESOURCE_EXHAUSTED', title: 'Too many open streams' },
  INTERNAL_ERROR: { status: 500, grpc: 'INTERNAL', title: 'Internal server error' },
  SERVICE_UNAVAILABLE: { status: 503, grpc: 'UNAVAILABLE', title: 'Service unavailable' },
  OVERLOADED: { status: 503, grpc: 'UNAVAILABLE', title: 'Server overloaded' },
  DEADLINE_EXCEEDED: { status: 504, grpc: 'DEADLINE_EXCEEDED', title: 'Deadline exceeded' },
  REQUEST_HEADER_TOO_LARGE: { status: 431, grpc: 'RESOURCE_EXHAUSTED', title: 'Request header fields too large' },
  REQUEST_TIMEOUT: { status: 408, grpc: 'CANCELLED', title: 'Request timeout' },
} as const satisfies Record<string, { status: number; grpc: GrpcStatusName; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One failing field of a validation error. `field` is a canonical dotted path (`items.0.product_id`). */
export interface FieldError {
  field: string;
  code: FieldErrorCode;
  message: string;
}

/**
 * What a caller must do to authenticate, in neutral terms (RFC 6750 §3's
 * error codes). REST renders it as `WWW-Authenticate: Bearer …`; other
 * transports as metadata or an error extension.
 */
export interface AuthChallenge {
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  description?: string;
}

export interface AppErrorOptions {
  errors?: FieldError[];
  extensions?: Record<string, unknown>;
  /** When the caller may retry, in whole seconds (HTTP Retry-After, gRPC retry info). */
  retryAfterSeconds?: number;
  /** How to authenticate, for errors that ask the caller to (every 401). */
  authChallenge?: AuthChallenge;
  cause?: unknown;
}

/**
 * The error base class every layer throws. It carries no protocol detail:
 * transports turn it into a problem document, a GraphQL error or a gRPC
 * status, reading the registry's columns and the neutral fields below.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** The HTTP status from the registry (kept here because most callers want it). */
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  /** Extra members added to the problem body (RFC 9457 extensions). */
  readonly extensions: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly authChallenge: AuthChallenge | undefined;

  constructor(code: ErrorCode, detail?: string, options: AppErrorOptions = {}) {
    super(detail ?? ERROR_CODES[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.extensions = options.extensions;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.authChallenge = options.authChallenge;
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

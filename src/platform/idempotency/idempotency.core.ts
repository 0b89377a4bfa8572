import { createHash } from 'node:crypto';
import { AppError, ERROR_CODES, type ErrorCode, type FieldError } from '../../domain/shared/errors.ts';
import type { Operation } from '../../domain/shared/operation.ts';

/** The longest key accepted (Stripe, draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

export type KeyProblem = 'missing' | 'too_long' | 'not_printable';

/** Checks an idempotency key: 1–255 printable ASCII characters. Returns what is wrong, or null. */
export function checkIdempotencyKey(value: string | undefined): KeyProblem | null {
  if (value === undefined || value.length === 0) return 'missing';
  if (value.length > IDEMPOTENCY_KEY_MAX_LENGTH) return 'too_long';
  if (!PRINTABLE_ASCII.test(value)) return 'not_printable';
  return null;
}

/** How a transport names the key and the call, for the error a bad or missing key gets. */
export interface KeyContext {
  /** The call, as the client wrote it (`POST /v1/orders`, `mutation createOrder`). */
  call: string;
  /** Where the key travels (`idempotency-key` header, `idempotencyKey` argument): the field of a field error. */
  field: string;
  /** What the key is called on this transport, in a sentence (`Idempotency-Key header`, `idempotencyKey argument`). */
  noun: string;
}

/**
 * The error for a call's key, or null when the call may go on: a key the
 * operation requires is missing (IDEMPOTENCY_KEY_REQUIRED), or a key is sent
 * but malformed (IDEMPOTENCY_KEY_INVALID). `undefined` means no key was sent.
 */
export function keyError(operation: Pick<Operation, 'idempotencyKey'>, key: string | undefined, context: KeyContext): AppError | null {
  const problem = checkIdempotencyKey(key);
  if (problem === null) return null;
  if (key === undefined) {
    if (operation.idempotencyKey !== 'required') return null;
    return new AppError('IDEMPOTENCY_KEY_REQUIRED', `${context.call} requires an ${context.noun} (1 to 255 printable ASCII characters, a UUID is a good choice)`);
  }
  const why = problem === 'too_long' ? 'is longer than 255 characters' : problem === 'missing' ? 'is empty' : 'contains characters other than printable ASCII';
  return new AppError('IDEMPOTENCY_KEY_INVALID', `The ${context.noun} ${why}`, {
    errors: [{ field: context.field, code: problem === 'too_long' ? 'too_long' : 'invalid_format', message: 'must be 1 to 255 printable ASCII characters' }],
  });
}

/** JSON with object keys sorted at every depth, so equal inputs give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/**
 * What a key is bound to: SHA-256 of the operation's name and its canonical
 * input. No URL, method or version takes part, so one key means one side
 * effect whichever transport (or API version) carries the call: the input is
 * the operation's own (the domain input, plus the ids of the target), never
 * a transport's wire form.
 */
export function operationFingerprint(operation: string, input: unknown): string {
  return createHash('sha256').update(`${operation}\n${canonicalJson(input)}`).digest('base64url');
}

/** A JSON value, as a record stores it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What an operation did, whatever carried it: its value, or what it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * An outcome as recorded under a key, readable by every transport: the
 * result in the API's field names, or the refusal's registry code.
 */
export type RecordedOutcome = { ok: true; value: Json } | { ok: false; error: { code: ErrorCode; message: string; errors?: FieldError[] } };

/**
 * A key's record: the operation it ran, the transport-neutral outcome, and
 * the rendering the transport that ran it sent (so that transport replays
 * its own answer byte for byte; any other renders the neutral outcome).
 */
export interface IdempotencyRecord {
  operation: string;
  outcome: RecordedOutcome;
  /** The transport that ran the operation (`rest`, `graphql`, …). */
  transport: string;
  /** What that transport answered, in its own shape (REST: status, headers, body). */
  rendering: Json;
}

/** Timing of the key lifecycle. */
export interface IdempotencyTimings {
  /** How long a record lives. */
  ttlMs: number;
  /**
   * The longest one statement of a keyed call's transaction may run or
   * wait, so a stuck call gives its key up (where the store can bound it).
   */
  statementTimeoutMs: number;
}

/**
 * Whether an outcome is kept for replay, or discarded (the key stays free for
 * a retry): successes and refusals (4xx codes) are kept; failures (5xx codes,
 * anything unexpected) are not (PRODUCT.md §6).
 */
export function outcomeDisposition(outcome: RecordedOutcome): 'record' | 'discard' {
  return outcome.ok || ERROR_CODES[outcome.error.code].status < 500 ? 'record' : 'discard';
}

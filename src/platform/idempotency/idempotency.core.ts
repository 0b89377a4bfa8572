import { createHash } from 'node:crypto';

/** The longest key accepted (Stripe, draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

export type KeyProblem = 'missing' | 'too_long' | 'not_printable';

/** Checks an `Idempotency-Key` value: 1–255 printable ASCII characters. Returns what is wrong, or null. */
export function checkIdempotencyKey(value: string | undefined): KeyProblem | null {
  if (value === undefined || value.length === 0) return 'missing';
  if (value.length > IDEMPOTENCY_KEY_MAX_LENGTH) return 'too_long';
  if (!PRINTABLE_ASCII.test(value)) return 'not_printable';
  return null;
}

/** JSON with object keys sorted at every depth, so equal bodies give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** What a key is bound to: SHA-256 of the method, the path (with query) and the canonical body. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`).digest('base64url');
}

/**
 * A response as stored for replay: what the handler sent, before the
 * transport's serialisation, so a replay goes through the same pipeline
 * (version transforms, serializer, compression) and comes out the same.
 */
export interface StoredResponse {
  status: number;
  /** Only the headers that matter to a client (content-type, location, etag, …), lower-case. */
  headers: Record<string, string>;
  /** JSON text of the payload when `json`, else the payload as sent. */
  body: string;
  json: boolean;
}

/** The headers kept with a response and replayed with it. */
export const REPLAYED_HEADERS = ['content-type', 'location', 'etag', 'last-modified', 'retry-after', 'link', 'allow', 'www-authenticate', 'x-request-id'] as const;

/** What a key's record says about a request. */
export type KeyState =
  /** No live record. */
  | { kind: 'free' }
  /** The key was used for a different request. */
  | { kind: 'mismatch' }
  /** Done before: answer with the stored response. */
  | { kind: 'completed'; response: StoredResponse };

/** Timing of the key lifecycle. */
export interface IdempotencyTimings {
  /** How long a record lives. */
  ttlMs: number;
  /**
   * The longest one statement of a keyed request's transaction may run or
   * wait, so a stuck request gives its key up (where the store can bound it).
   */
  statementTimeoutMs: number;
}

/** How the outcome of a request that began executing is treated: kept for replay, or discarded (the key stays free for a retry). */
export function outcomeDisposition(status: number): 'record' | 'discard' {
  return status >= 500 ? 'discard' : 'record';
}

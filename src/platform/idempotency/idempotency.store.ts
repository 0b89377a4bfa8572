import type { ClaimOutcome, IdempotencyTimings, StoredResponse } from './idempotency.core.ts';

/** Identifies one request's hold on a key. */
export interface KeyClaim {
  principal: string;
  key: string;
  /** Random per request: only the holder may complete or release the key. */
  owner: string;
}

/**
 * Where idempotency records live. `claim` commits on its own; `lock` and
 * `complete` run inside the caller's (ambient) transaction, so the record
 * and the business change commit together.
 */
export interface IdempotencyStore {
  /** Inserts an in-flight record, or reports what is already there (taking over a dead holder's claim). */
  claim(claim: KeyClaim, fingerprint: string, now: Date, timings: IdempotencyTimings): Promise<ClaimOutcome>;
  /** Locks the holder's record for the current transaction; false when the claim was taken over. */
  lock(claim: KeyClaim): Promise<boolean>;
  /** Stores the response and marks the record completed; false when the claim is no longer this holder's. */
  complete(claim: KeyClaim, response: StoredResponse, now: Date): Promise<boolean>;
  /** Deletes the holder's in-flight record so the key may be used again. */
  release(claim: KeyClaim): Promise<void>;
  /** Deletes expired records; returns how many. */
  sweep(now: Date): Promise<number>;
}

import type { IdempotencyRecord, IdempotencyTimings } from './idempotency.core.ts';

/** One call's use of a key. */
export interface KeyClaim {
  principal: string;
  key: string;
  /** The operation called (`Operation.name`). */
  operation: string;
  /** What the key is bound to (`operationFingerprint`). */
  fingerprint: string;
  /**
   * The fingerprint a record written before operations existed (migration
   * 0008: operation '') was bound to; REST computes it lazily. Only for
   * records younger than one TTL at the upgrade.
   */
  legacyFingerprint?: () => string;
}

/** A live record as read back, with the fingerprint it was written under. */
export interface StoredRecord extends IdempotencyRecord {
  fingerprint: string;
}

/** Another transaction holds the key: a call with it is running. */
export class KeyInUseError extends Error {
  constructor() {
    super('the idempotency key is held by another request');
    this.name = 'KeyInUseError';
  }
}

/**
 * Where idempotency records live. A key is held by a transaction, never by a
 * row: the hold ends with the transaction (commit, rollback, or the death of
 * its connection), and a record is written once, completed, together with the
 * business change.
 */
export interface IdempotencyStore {
  /**
   * Runs `work` in a new (outermost, ambient) transaction that holds the key.
   * Rejects with KeyInUseError when another transaction holds it, or with
   * `wait`, waits until it is released.
   */
  hold<T>(claim: KeyClaim, timings: IdempotencyTimings, work: () => Promise<T>, options?: { wait?: boolean }): Promise<T>;
  /** Inside `hold`: writes the completed record; false when a live record is already there (the caller must roll back). */
  record(claim: KeyClaim, record: IdempotencyRecord, now: Date, timings: IdempotencyTimings): Promise<boolean>;
  /** Reads the key's live record, if any. */
  read(claim: KeyClaim, now: Date): Promise<StoredRecord | undefined>;
  /** Deletes expired records; returns how many. */
  sweep(now: Date): Promise<number>;
}

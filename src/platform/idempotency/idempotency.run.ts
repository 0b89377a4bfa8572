import type { Clock } from '../../domain/shared/clock.ts';
import { AppError } from '../../domain/shared/errors.ts';
import { outcomeDisposition, type IdempotencyTimings, type Json, type Outcome, type RecordedOutcome } from './idempotency.core.ts';
import { KeyInUseError, type IdempotencyStore, type KeyClaim, type StoredRecord } from './idempotency.store.ts';

/** What `runIdempotent` needs besides the call: where records live, the time, and the key lifecycle. */
export interface IdempotencyContext {
  store: IdempotencyStore;
  clock: Clock;
  timings: IdempotencyTimings;
}

/** This transport's run of the operation, settled: the outcome as every transport reads it, and as this one answers it. */
export interface Settled<R extends Json> {
  outcome: RecordedOutcome;
  rendering: R;
}

/**
 * How a transport takes part in `runIdempotent`. `T` is what its work returns
 * (a domain result, or a captured HTTP response); `R` is its rendering, the
 * JSON it stores and replays (a REST response, a GraphQL payload, …).
 */
export interface IdempotentRenderer<T, R extends Json> {
  /** Names the transport in records (`rest`, `graphql`): a record replays its own rendering only to the transport that wrote it. */
  transport: string;
  /**
   * Settles a run: its value, or what it threw. A value may still be a
   * refusal (a REST handler that answered 409 without throwing), which
   * rolls the run back.
   */
  settle(outcome: Outcome<T>): Settled<R>;
  /** Renders an outcome another transport recorded, without running anything. */
  replay(outcome: RecordedOutcome): R;
}

/** How a keyed call ends, unless `runIdempotent` throws. */
export type IdempotentResult<T, R extends Json> =
  /** This call ran the operation, it succeeded, and its change committed with its record. */
  | { kind: 'done'; value: T; rendering: R }
  /** This call ran the operation and was refused: recorded (a 4xx code), or not (a failure the transport answered itself). */
  | { kind: 'refused'; outcome: RecordedOutcome; rendering: R; recorded: boolean }
  /** An earlier call with the key finished: its answer, rendered for this transport. */
  | { kind: 'replayed'; rendering: R; record: StoredRecord };

/** Carries a refusal out of the transaction, rolling the run back. */
class RolledBack<R extends Json> extends Error {
  constructor(readonly settled: Settled<R>) {
    super('rolled back');
  }
}

/** Rolls back a transaction whose record could not be written: a live record got there first. */
class RaceLost extends Error {
  constructor() {
    super('idempotency race lost');
  }
}

function inUse(): AppError {
  return new AppError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed; retry after Retry-After seconds', {
    retryAfterSeconds: 1,
  });
}

function reused(): AppError {
  return new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request (operation or input); use a new key for a new request');
}

/** Whether a record was written by the same call: same operation and input (or, for a record older than operations, the same legacy fingerprint). */
function sameCall(record: StoredRecord, claim: KeyClaim): boolean {
  if (record.operation === '') return claim.legacyFingerprint !== undefined && record.fingerprint === claim.legacyFingerprint();
  return record.operation === claim.operation && record.fingerprint === claim.fingerprint;
}

/**
 * Runs one keyed call of an operation, for any transport (PRODUCT.md §6):
 * hold the key → run → record → or replay, or release.
 *
 * `work` runs in one transaction that holds the key (`store.hold`); on
 * success its record (neutral outcome + this transport's rendering) is
 * written in that same transaction, so a crash leaves either nothing or the
 * finished result. The record is not looked for first: a retry of a finished
 * call runs `work` again, finds the record in the way of its insert, rolls
 * back and replays it. So `work` may run more than once for one key; what it
 * does outside the database must wait for the commit (`Transactor.afterCommit`).
 *
 * A refusal (4xx code) rolls the work back and is recorded in a transaction
 * of its own; a failure (5xx, anything unexpected) records nothing and the
 * key stays free for a retry — unless a finished call's record is there,
 * which then answers. A record written by another transport is rendered from
 * its neutral outcome by `renderer.replay`.
 *
 * Throws IDEMPOTENCY_KEY_IN_USE (another call holds the key),
 * IDEMPOTENCY_KEY_REUSED (the record is another operation's or input's), or
 * what `work` threw when it failed and nothing answers in its place.
 */
export async function runIdempotent<T, R extends Json>(
  context: IdempotencyContext,
  claim: KeyClaim,
  work: () => Promise<T>,
  renderer: IdempotentRenderer<T, R>,
): Promise<IdempotentResult<T, R>> {
  const { store, clock, timings } = context;

  const replay = (record: StoredRecord): IdempotentResult<T, R> => {
    if (!sameCall(record, claim)) throw reused();
    const rendering = record.transport === renderer.transport ? (record.rendering as R) : renderer.replay(record.outcome);
    return { kind: 'replayed', rendering, record };
  };
  // A live record turned up: it answers — or, should it be gone already, the key is busy: retry.
  const afterRace = async (): Promise<IdempotentResult<T, R>> => {
    const record = await store.read(claim, clock.now());
    if (!record) throw inUse();
    return replay(record);
  };
  const recordOf = (settled: Settled<R>) => ({ operation: claim.operation, outcome: settled.outcome, transport: renderer.transport, rendering: settled.rendering });

  try {
    return await store.hold(claim, timings, async (): Promise<IdempotentResult<T, R>> => {
      const value = await work();
      const settled = renderer.settle({ ok: true, value });
      if (!settled.outcome.ok) throw new RolledBack(settled);
      if (!(await store.record(claim, recordOf(settled), clock.now(), timings))) throw new RaceLost();
      return { kind: 'done', value, rendering: settled.rendering };
    });
  } catch (error) {
    if (error instanceof KeyInUseError) throw inUse();
    if (error instanceof RaceLost) return afterRace();
    const settled = error instanceof RolledBack ? (error.settled as Settled<R>) : renderer.settle({ ok: false, error });

    if (outcomeDisposition(settled.outcome) === 'record') {
      // A call that began executing and was refused: its answer becomes the key's, unless a record is there already.
      try {
        await store.hold(
          claim,
          timings,
          async () => {
            if (!(await store.record(claim, recordOf(settled), clock.now(), timings))) throw new RaceLost();
          },
          { wait: true },
        );
      } catch (recording) {
        if (recording instanceof RaceLost) return afterRace();
        throw recording;
      }
      return { kind: 'refused', outcome: settled.outcome, rendering: settled.rendering, recorded: true };
    }

    // A failure records nothing; but a finished call's record, if any, is still its answer.
    const record = await store.read(claim, clock.now()).catch(() => undefined);
    if (record) return replay(record);
    if (error instanceof RolledBack) return { kind: 'refused', outcome: settled.outcome, rendering: settled.rendering, recorded: false };
    throw error;
  }
}

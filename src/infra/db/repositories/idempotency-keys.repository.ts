import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Transactor } from '../../../domain/shared/transactor.ts';
import { KeyInUseError, type IdempotencyStore, type KeyClaim, type RecordedOutcome, type StoredRecord } from '../../../platform/idempotency/index.ts';
import type { Connection, PreludeTransactor } from '../transactions.ts';

export interface IdempotencyStoreOptions {
  connection: Connection;
  transactor: Transactor;
  /**
   * On a PostgreSQL server, transactions whose BEGIN also takes the key (one
   * round trip); absent on the embedded PGlite, which runs one transaction at
   * a time on its one connection, so no other request can hold a key meanwhile.
   */
  runWithPrelude?: PreludeTransactor;
}

/** The advisory lock that holds a key: 64 bits of a hash of (principal, key), the same in every process. */
function lockId(claim: KeyClaim): bigint {
  return createHash('sha256').update(`${claim.principal}\x1f${claim.key}`).digest().readBigInt64BE(0);
}

/** lock_not_available: the key is held by another transaction. */
function isLockNotAvailable(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '55P03';
}

/**
 * Idempotency records in PostgreSQL (PGlite or a server). A key is held by
 * the transaction that runs its request, as an advisory lock taken by
 * `stoa_hold_idempotency_key` (migration 0005) in the same simple query as
 * BEGIN: a process that dies frees its keys at once, and a request either
 * commits its record with its business change or leaves nothing behind. The
 * record is not read before the request runs: it is inserted after, and a
 * live one already there (a retry of a finished request) makes the insert
 * write nothing, so a keyed request costs one statement more than a plain one.
 */
export function createIdempotencyStore(options: IdempotencyStoreOptions): IdempotencyStore {
  const { connection, transactor, runWithPrelude } = options;

  return {
    async hold(claim, timings, work, { wait = false } = {}) {
      if (!runWithPrelude) return transactor.run(work);
      // Only integers and a boolean are written into the SQL text; the claim's strings never are.
      const prelude = `SELECT stoa_hold_idempotency_key(${lockId(claim)}, ${Math.trunc(timings.statementTimeoutMs)}, ${wait ? 'true' : 'false'})`;
      try {
        return await runWithPrelude(prelude, work);
      } catch (error) {
        throw isLockNotAvailable(error) ? new KeyInUseError() : error;
      }
    },

    async record(claim, record, now, timings) {
      // An expired record makes way; a live one stays and nothing is written.
      const result = await sql`
        INSERT INTO idempotency_keys AS k (principal, key, fingerprint, operation, outcome, transport, rendering, completed_at, expires_at)
        VALUES (${claim.principal}, ${claim.key}, ${claim.fingerprint}, ${record.operation}, ${JSON.stringify(record.outcome)}, ${record.transport}, ${JSON.stringify(record.rendering)}, ${now}, ${new Date(now.getTime() + timings.ttlMs)})
        ON CONFLICT (principal, key) DO UPDATE SET
          fingerprint = excluded.fingerprint, operation = excluded.operation, outcome = excluded.outcome, transport = excluded.transport,
          rendering = excluded.rendering, completed_at = excluded.completed_at, expires_at = excluded.expires_at
        WHERE k.expires_at <= ${now}`.execute(connection());
      return Number(result.numAffectedRows ?? 0n) > 0;
    },

    async read(claim, now): Promise<StoredRecord | undefined> {
      const record = await connection()
        .selectFrom('idempotency_keys')
        .select(['fingerprint', 'operation', 'outcome', 'transport', 'rendering'])
        .where('principal', '=', claim.principal)
        .where('key', '=', claim.key)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (!record) return undefined;
      return { fingerprint: record.fingerprint, operation: record.operation, outcome: record.outcome as RecordedOutcome, transport: record.transport, rendering: record.rendering as StoredRecord['rendering'] };
    },

    async sweep(now) {
      const result = await connection().deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

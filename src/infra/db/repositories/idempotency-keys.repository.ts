import { sql } from 'kysely';
import type { ClaimOutcome, IdempotencyStore } from '../../../platform/idempotency/index.ts';
import type { Connection } from '../transactions.ts';

/**
 * Idempotency records in PostgreSQL (PGlite or a server). A live holder keeps
 * its record row-locked for the whole of its transaction, so a claim can be
 * taken over only from a holder that is gone: one whose lease ran out, or
 * whose process died (no lock) more than a grace period after claiming.
 */
export function createIdempotencyStore(connection: Connection): IdempotencyStore {
  return {
    async claim(claim, fingerprint, now, timings): Promise<ClaimOutcome> {
      const db = connection();
      const leaseEnd = new Date(now.getTime() + timings.leaseMs);
      for (let attempt = 0; attempt < 3; attempt++) {
        const inserted = await db
          .insertInto('idempotency_keys')
          .values({
            principal: claim.principal,
            key: claim.key,
            fingerprint,
            state: 'in_flight',
            owner: claim.owner,
            claimed_at: now,
            locked_until: leaseEnd,
            response_status: null,
            response_headers: null,
            response_body: null,
            response_json: null,
            completed_at: null,
            expires_at: new Date(now.getTime() + timings.ttlMs),
          })
          .onConflict((oc) => oc.columns(['principal', 'key']).doNothing())
          .returning('owner')
          .executeTakeFirst();
        if (inserted) return { kind: 'claimed' };

        const row = await db.selectFrom('idempotency_keys').selectAll().where('principal', '=', claim.principal).where('key', '=', claim.key).executeTakeFirst();
        if (!row) continue; // released or swept in between: try again
        if (row.expires_at <= now) {
          // Expired records count as absent even before the sweeper gets to them.
          await db.deleteFrom('idempotency_keys').where('principal', '=', claim.principal).where('key', '=', claim.key).where('expires_at', '<=', now).execute();
          continue;
        }
        if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
        if (row.state === 'completed') {
          return { kind: 'completed', response: { status: row.response_status ?? 200, headers: row.response_headers ?? {}, body: row.response_body ?? '', json: row.response_json ?? false } };
        }
        const graceEnd = new Date(now.getTime() - timings.graceMs);
        const taken = await sql<{ owner: string }>`
          WITH target AS (
            SELECT principal, key FROM idempotency_keys
            WHERE principal = ${claim.principal} AND key = ${claim.key} AND state = 'in_flight' AND owner = ${row.owner}
              AND (locked_until < ${now} OR claimed_at < ${graceEnd})
            FOR UPDATE SKIP LOCKED
          )
          UPDATE idempotency_keys AS k
          SET owner = ${claim.owner}, claimed_at = ${now}, locked_until = ${leaseEnd}
          FROM target WHERE k.principal = target.principal AND k.key = target.key
          RETURNING k.owner`.execute(db);
        if (taken.rows.length > 0) return { kind: 'claimed' };
        return { kind: 'in_flight', retryAfterSeconds: 1 };
      }
      return { kind: 'in_flight', retryAfterSeconds: 1 };
    },

    async lock(claim) {
      const row = await connection()
        .selectFrom('idempotency_keys')
        .select('owner')
        .where('principal', '=', claim.principal)
        .where('key', '=', claim.key)
        .where('owner', '=', claim.owner)
        .where('state', '=', 'in_flight')
        .forUpdate()
        .executeTakeFirst();
      return row !== undefined;
    },

    async complete(claim, response, now) {
      const result = await connection()
        .updateTable('idempotency_keys')
        .set({
          state: 'completed',
          response_status: response.status,
          response_headers: JSON.stringify(response.headers),
          response_body: response.body,
          response_json: response.json,
          completed_at: now,
          locked_until: now,
        })
        .where('principal', '=', claim.principal)
        .where('key', '=', claim.key)
        .where('owner', '=', claim.owner)
        .where('state', '=', 'in_flight')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async release(claim) {
      await connection()
        .deleteFrom('idempotency_keys')
        .where('principal', '=', claim.principal)
        .where('key', '=', claim.key)
        .where('owner', '=', claim.owner)
        .where('state', '=', 'in_flight')
        .execute();
    },

    async sweep(now) {
      const result = await connection().deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

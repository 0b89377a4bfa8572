import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { QueueStat, WorkItem, WorkQueue, WorkState } from '../../../platform/jobs/index.ts';
import type { Database, WorkItemsTable } from '../schema.ts';
import type { Connection } from '../transactions.ts';

// Arbitrary constant. Claims take this transaction-scoped lock, so that group
// limits (items of one webhook endpoint in flight) hold across workers. A
// claim transaction is a few short statements; the work runs outside it.
const CLAIM_LOCK = 4_202_620;

function toItem(row: Selectable<WorkItemsTable>): WorkItem {
  return {
    id: row.id,
    kind: row.kind,
    uniqueKey: row.unique_key,
    groupKey: row.group_key,
    payload: row.payload,
    attempts: row.attempts,
    runAt: row.run_at,
    createdAt: row.created_at,
  };
}

/**
 * The work queue on PostgreSQL (and PGlite): claim with FOR UPDATE SKIP
 * LOCKED in a short transaction, leases in `locked_until`, settlement fenced
 * by `locked_by` so a worker that lost its lease cannot overwrite the
 * outcome of the worker that took the item over.
 */
export function createWorkQueue(db: Kysely<Database>, connection: Connection): WorkQueue {
  return {
    async enqueue(item, now) {
      await connection()
        .insertInto('work_items')
        .values({
          id: `wrk_${randomUUID()}`,
          kind: item.kind,
          unique_key: item.uniqueKey ?? null,
          group_key: item.groupKey ?? null,
          payload: JSON.stringify(item.payload ?? {}),
          state: 'queued',
          run_at: item.runAt,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('unique_key').doNothing())
        .execute();
    },

    async claim({ workerId, kinds, limit, leaseMs, now, groupLimit }) {
      if (kinds.length === 0 || limit <= 0) return [];
      return db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${CLAIM_LOCK})`.execute(trx);
        // One statement picks the due items (at most as many per group as the group has room for: a saturated group
        // does not block the others), locks them (another claimer — none while the claim lock is held, but a manual
        // change, say — is skipped) and marks them running under this worker's lease.
        const due = sql`(w.state = 'queued' AND w.run_at <= ${now}) OR (w.state = 'running' AND w.locked_until < ${now})`;
        const claimed = await sql<Selectable<WorkItemsTable>>`
          WITH running AS (
            SELECT group_key, count(*)::int AS n FROM work_items
            WHERE state = 'running' AND locked_until >= ${now} AND group_key IS NOT NULL
            GROUP BY group_key
          ), due AS (
            SELECT w.id, w.group_key, w.run_at, row_number() OVER (PARTITION BY w.group_key ORDER BY w.run_at, w.id) AS rn
            FROM work_items w
            WHERE w.kind IN (${sql.join([...kinds])}) AND (${due})
          ), picked AS (
            SELECT due.id FROM due LEFT JOIN running ON running.group_key = due.group_key
            WHERE due.group_key IS NULL OR due.rn + coalesce(running.n, 0) <= ${groupLimit}
            ORDER BY due.run_at, due.id
            LIMIT ${limit}
          ), locked AS (
            SELECT w.id FROM work_items w WHERE w.id IN (SELECT id FROM picked) AND (${due})
            FOR UPDATE SKIP LOCKED
          )
          UPDATE work_items SET state = 'running', locked_by = ${workerId}, locked_until = ${new Date(now.getTime() + leaseMs)},
            attempts = attempts + 1, updated_at = ${now}
          WHERE id IN (SELECT id FROM locked)
          RETURNING *`.execute(trx);
        const rows = claimed.rows;
        return rows.map(toItem).sort((a, b) => a.runAt.getTime() - b.runAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      });
    },

    async renew(workerId, ids, leaseMs, now) {
      if (ids.length === 0) return [];
      const rows = await db
        .updateTable('work_items')
        .set({ locked_until: new Date(now.getTime() + leaseMs), updated_at: now })
        .where('id', 'in', [...ids])
        .where('locked_by', '=', workerId)
        .where('state', '=', 'running')
        .returning('id')
        .execute();
      return rows.map((r) => r.id);
    },

    async settle(workerId, id, outcome, now) {
      const result = await db
        .updateTable('work_items')
        .set({
          state: outcome.state,
          locked_by: null,
          locked_until: null,
          updated_at: now,
          ...(outcome.state === 'queued' ? { run_at: outcome.runAt, last_error: outcome.error ?? null } : {}),
          ...(outcome.state === 'failed' ? { last_error: outcome.error } : {}),
        })
        .where('id', '=', id)
        .where('locked_by', '=', workerId)
        .where('state', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async wake(filter, now) {
      let query = connection().updateTable('work_items').set({ state: 'queued', run_at: now, locked_by: null, locked_until: null, updated_at: now });
      query = 'uniqueKey' in filter ? query.where('unique_key', '=', filter.uniqueKey) : query.where('group_key', '=', filter.groupKey).where('kind', '=', filter.kind).where('state', '=', filter.state);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async stats(now) {
      const rows = await db
        .selectFrom('work_items')
        .select([
          'kind',
          'state',
          sql<number>`count(*)::int`.as('n'),
          sql<Date | null>`min(CASE WHEN state = 'queued' AND run_at <= ${now} THEN run_at WHEN state = 'running' AND locked_until < ${now} THEN locked_until END)`.as('oldest'),
        ])
        .where('state', 'in', ['queued', 'running', 'parked', 'failed'])
        .groupBy(['kind', 'state'])
        .execute();
      return rows.map(
        (r): QueueStat => ({
          kind: r.kind,
          state: r.state as WorkState,
          count: Number(r.n),
          lagSeconds: r.oldest ? Math.max(0, (now.getTime() - new Date(r.oldest).getTime()) / 1000) : 0,
        }),
      );
    },
  };
}

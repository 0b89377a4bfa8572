import type { Selectable } from 'kysely';
import type { Charge, ChargeRepository, ChargeStatus, ProcessorEventStore } from '../../../domain/charges/index.ts';
import { paginate, type SortColumn } from '../keyset.ts';
import type { ChargesTable } from '../schema.ts';
import type { Connection } from '../transactions.ts';

const SORTS: Record<string, SortColumn> = {
  created_at: { column: 'charges.created_at', type: 'timestamptz' },
  amount: { column: 'charges.amount', type: 'bigint' },
};

function toCharge(row: Selectable<ChargesTable>): Charge {
  return {
    id: row.id,
    userId: row.user_id,
    orderId: row.order_id,
    amount: Number(row.amount),
    currency: row.currency,
    source: row.source,
    description: row.description,
    status: row.status,
    failureCode: row.failure_code,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

export function createChargeRepository(connection: Connection): ChargeRepository {
  return {
    async insert(charge) {
      const row = await connection()
        .insertInto('charges')
        .values({
          id: charge.id,
          user_id: charge.userId,
          order_id: charge.orderId,
          amount: charge.amount,
          currency: charge.currency,
          source: charge.source,
          description: charge.description,
          status: charge.status,
          failure_code: charge.failureCode,
          submitted_at: null,
          created_at: charge.createdAt,
          updated_at: charge.updatedAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toCharge(row);
    },

    async findById(id) {
      const row = await connection().selectFrom('charges').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toCharge(row);
    },

    async lockById(id) {
      const row = await connection().selectFrom('charges').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      return row && toCharge(row);
    },

    async settle(id, status, failureCode, now) {
      const row = await connection()
        .updateTable('charges')
        .set((eb) => ({ status, failure_code: failureCode, updated_at: now, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      return row && toCharge(row);
    },

    async list(filter, page) {
      let query = connection().selectFrom('charges').selectAll();
      if (filter.userId !== undefined) query = query.where('charges.user_id', '=', filter.userId);
      if (filter.orderId !== undefined) query = query.where('charges.order_id', '=', filter.orderId);
      if (filter.statuses !== undefined && filter.statuses.length > 0) query = query.where('charges.status', 'in', [...filter.statuses] as ChargeStatus[]);
      return paginate(query, page, SORTS, 'charges.id', toCharge);
    },

    async pendingSubmittedBefore(before, limit) {
      const rows = await connection()
        .selectFrom('charges')
        .selectAll()
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('submitted_at', 'is', null), eb('submitted_at', '<', before)]))
        .orderBy('created_at')
        .limit(limit)
        .execute();
      return rows.map(toCharge);
    },

    async markSubmitted(id, now) {
      await connection().updateTable('charges').set({ submitted_at: now }).where('id', '=', id).execute();
    },
  };
}

export function createProcessorEventStore(connection: Connection): ProcessorEventStore {
  return {
    async recordOnce(event, now) {
      const row = await connection()
        .insertInto('processor_events')
        .values({ webhook_id: event.webhookId, type: event.type, charge_id: event.chargeId, payload: event.raw, received_at: now })
        .onConflict((oc) => oc.column('webhook_id').doNothing())
        .returning('webhook_id')
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}

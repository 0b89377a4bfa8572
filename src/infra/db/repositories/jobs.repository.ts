import { sql, type Selectable } from 'kysely';
import type { Job, JobRepository, SalesState } from '../../../domain/jobs/index.ts';
import type { SecretBox } from '../../../platform/webhooks/index.ts';
import type { JobsTable } from '../schema.ts';
import type { Connection } from '../transactions.ts';

export function createJobRepository(connection: Connection, box: SecretBox): JobRepository {
  const toJob = (row: Selectable<JobsTable>): Job => ({
    id: row.id,
    userId: row.user_id,
    type: row.type,
    status: row.status,
    progress: row.progress,
    params: row.params as Job['params'],
    state: row.state as SalesState,
    result: row.result,
    error: row.error as Job['error'],
    callbackUrl: row.callback_url,
    callbackSecret: row.callback_secret === null ? null : box.open(row.callback_secret, row.id),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  });
  const ordersIn = (userId: string | null, from: Date, to: Date) => {
    let q = connection().selectFrom('orders as o').where('o.status', '!=', 'cancelled').where('o.created_at', '>=', from).where('o.created_at', '<', to);
    if (userId) q = q.where('o.user_id', '=', userId);
    return q;
  };
  return {
    async insert(job) {
      const row = await connection()
        .insertInto('jobs')
        .values({
          id: job.id,
          user_id: job.userId,
          type: job.type,
          status: job.status,
          progress: job.progress,
          params: JSON.stringify(job.params),
          state: JSON.stringify(job.state),
          callback_url: job.callbackUrl,
          callback_secret: job.callbackSecret === null ? null : box.seal(job.callbackSecret, job.id),
          created_at: job.createdAt,
          updated_at: job.createdAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toJob(row);
    },
    async findById(id) {
      const row = await connection().selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toJob(row);
    },
    async update(id, from, c, now) {
      const row = await connection()
        .updateTable('jobs')
        .set({
          updated_at: now,
          ...(c.status !== undefined && { status: c.status }),
          ...(c.progress !== undefined && { progress: c.progress }),
          ...(c.state !== undefined && { state: JSON.stringify(c.state) }),
          ...(c.result !== undefined && { result: c.result === null ? null : JSON.stringify(c.result) }),
          ...(c.error !== undefined && { error: c.error === null ? null : JSON.stringify(c.error) }),
          ...(c.startedAt !== undefined && { started_at: c.startedAt }),
          ...(c.finishedAt !== undefined && { finished_at: c.finishedAt }),
        })
        .where('id', '=', id)
        .where('status', 'in', [...from])
        .returningAll()
        .executeTakeFirst();
      return row && toJob(row);
    },
    async countOrders(userId, from, to) {
      const row = await ordersIn(userId, from, to).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async salesChunk(userId, from, to, afterOrderId, limit) {
      let q = ordersIn(userId, from, to).select(['o.id']).orderBy('o.id').limit(limit);
      if (afterOrderId) q = q.where('o.id', '>', afterOrderId);
      const ids = (await q.execute()).map((r) => r.id);
      if (ids.length === 0) return { orders: 0, lastOrderId: null, byDay: [], byProduct: [] };
      const byDay = await connection()
        .selectFrom('orders as o')
        .select([
          sql<string>`to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`.as('day'),
          'o.currency',
          sql<number>`count(*)::int`.as('orders'),
          sql<string>`sum(o.total)::text`.as('amount'),
        ])
        .where('o.id', 'in', ids)
        .groupBy([sql`1`, 'o.currency'])
        .execute();
      const byProduct = await connection()
        .selectFrom('order_items as i')
        .select(['i.product_id', 'i.currency', sql<string>`sum(i.quantity)::text`.as('quantity'), sql<string>`sum(i.quantity * i.unit_price)::text`.as('amount')])
        .where('i.order_id', 'in', ids)
        .groupBy(['i.product_id', 'i.currency'])
        .execute();
      return {
        orders: ids.length,
        lastOrderId: ids[ids.length - 1]!,
        byDay: byDay.map((r) => ({ day: r.day, currency: r.currency, orders: Number(r.orders), amount: Number(r.amount) })),
        byProduct: byProduct.map((r) => ({ productId: r.product_id, currency: r.currency, quantity: Number(r.quantity), amount: Number(r.amount) })),
      };
    },
  };
}

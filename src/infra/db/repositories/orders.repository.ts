import type { Selectable } from 'kysely';
import type { Order, OrderItem, OrderRepository, OrderStatus } from '../../../domain/orders/index.ts';
import { paginate, type SortColumn } from '../keyset.ts';
import type { OrderItemsTable, OrdersTable } from '../schema.ts';
import type { Connection } from '../transactions.ts';

const ORDER_SORTS: Record<string, SortColumn> = {
  created_at: { column: 'orders.created_at', type: 'timestamptz' },
  total: { column: 'orders.total', type: 'bigint' },
};
const ITEM_SORTS: Record<string, SortColumn> = { created_at: { column: 'order_items.created_at', type: 'timestamptz' } };

function toOrder(row: Selectable<OrdersTable>): Order {
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    total: Number(row.total),
    currency: row.currency,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

function toItem(row: Selectable<OrderItemsTable>): OrderItem {
  return {
    id: row.id,
    orderId: row.order_id,
    productId: row.product_id,
    quantity: row.quantity,
    unitPrice: Number(row.unit_price),
    currency: row.currency,
    createdAt: row.created_at,
  };
}

// Item ids are minted in request order within one millisecond, so id order is placing order.
const byPlacing = (a: OrderItem, b: OrderItem) => (a.orderId === b.orderId ? (a.id < b.id ? -1 : 1) : a.orderId < b.orderId ? -1 : 1);

export function createOrderRepository(connection: Connection): OrderRepository {
  return {
    async insert(order, items) {
      const db = connection();
      const row = await db
        .insertInto('orders')
        .values({
          id: order.id,
          user_id: order.userId,
          status: order.status,
          total: order.total,
          currency: order.currency,
          created_at: order.createdAt,
          updated_at: order.updatedAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const itemRows =
        items.length === 0
          ? []
          : await db
              .insertInto('order_items')
              .values(
                items.map((item) => ({
                  id: item.id,
                  order_id: item.orderId,
                  product_id: item.productId,
                  quantity: item.quantity,
                  unit_price: item.unitPrice,
                  currency: item.currency,
                  created_at: item.createdAt,
                })),
              )
              .returningAll()
              .execute();
      return { ...toOrder(row), items: itemRows.map(toItem).sort(byPlacing) };
    },

    async findById(id) {
      const row = await connection().selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toOrder(row);
    },

    async lockById(id) {
      const row = await connection().selectFrom('orders').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      return row && toOrder(row);
    },

    async setStatus(id, from, to, now) {
      const row = await connection()
        .updateTable('orders')
        .set((eb) => ({ status: to, updated_at: now, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where('status', 'in', [...from] as OrderStatus[])
        .returningAll()
        .executeTakeFirst();
      return row && toOrder(row);
    },

    async list(filter, page) {
      let query = connection().selectFrom('orders').selectAll();
      if (filter.userId !== undefined) query = query.where('orders.user_id', '=', filter.userId);
      if (filter.statuses !== undefined && filter.statuses.length > 0) query = query.where('orders.status', 'in', [...filter.statuses] as OrderStatus[]);
      if (filter.totalMin !== undefined) query = query.where('orders.total', '>=', filter.totalMin);
      if (filter.totalMax !== undefined) query = query.where('orders.total', '<=', filter.totalMax);
      if (filter.createdAfter) query = query.where('orders.created_at', '>', filter.createdAfter);
      if (filter.createdBefore) query = query.where('orders.created_at', '<', filter.createdBefore);
      return paginate(query, page, ORDER_SORTS, 'orders.id', toOrder);
    },

    async itemsOf(orderId) {
      const rows = await connection().selectFrom('order_items').selectAll().where('order_id', '=', orderId).orderBy('created_at').orderBy('id').execute();
      return rows.map(toItem);
    },

    async itemsOfOrders(orderIds, ownerId) {
      if (orderIds.length === 0) return [];
      let query = connection()
        .selectFrom('order_items')
        .innerJoin('orders', 'orders.id', 'order_items.order_id')
        .selectAll('order_items')
        .where('order_items.order_id', 'in', [...orderIds]);
      if (ownerId !== undefined) query = query.where('orders.user_id', '=', ownerId);
      const rows = await query.orderBy('order_items.order_id').orderBy('order_items.created_at').orderBy('order_items.id').execute();
      return rows.map(toItem);
    },

    async listItems(orderId, page) {
      const query = connection().selectFrom('order_items').selectAll().where('order_items.order_id', '=', orderId);
      return paginate(query, page, ITEM_SORTS, 'order_items.id', toItem);
    },

    async findItem(id) {
      const row = await connection()
        .selectFrom('order_items')
        .innerJoin('orders', 'orders.id', 'order_items.order_id')
        .selectAll('order_items')
        .select('orders.user_id as owner_id')
        .where('order_items.id', '=', id)
        .executeTakeFirst();
      if (!row) return undefined;
      const { owner_id: ownerId, ...item } = row;
      return { item: toItem(item), ownerId };
    },
  };
}

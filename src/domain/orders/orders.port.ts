import type { Page, PageRequest } from '../shared/page.ts';
import type { Order, OrderFilter, OrderItem, OrderStatus, OrderWithItems } from './orders.types.ts';

/** What orders need from storage. */
export interface OrderRepository {
  /** Inserts the order and its items (inside the caller's transaction). */
  insert(order: Order, items: readonly OrderItem[]): Promise<OrderWithItems>;
  findById(id: string): Promise<Order | undefined>;
  /** Reads the order and locks its row until the transaction ends (SELECT … FOR UPDATE). */
  lockById(id: string): Promise<Order | undefined>;
  /** Moves the order from one of `from` to `to`, bumping the version; undefined when the row is not in `from`. */
  setStatus(id: string, from: readonly OrderStatus[], to: OrderStatus, now: Date): Promise<Order | undefined>;
  list(filter: OrderFilter, page: PageRequest): Promise<Page<Order>>;
  /** Every item of one order, in the order they were placed. */
  itemsOf(orderId: string): Promise<OrderItem[]>;
  /** The items of several orders in one query; only orders owned by `ownerId` when given. */
  itemsOfOrders(orderIds: readonly string[], ownerId?: string): Promise<OrderItem[]>;
  listItems(orderId: string, page: PageRequest): Promise<Page<OrderItem>>;
  /** One item with the id of the user who owns its order. */
  findItem(id: string): Promise<{ item: OrderItem; ownerId: string } | undefined>;
}

import type { SortFields, SortTerm } from '../shared/page.ts';

export const ORDER_STATUSES = ['pending', 'confirmed', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The states from which an order may still be cancelled (by its owner or an administrator). */
export const CANCELLABLE_STATUSES: readonly OrderStatus[] = ['pending', 'confirmed'];

/** The fulfilment path an administrator moves an order along; cancelling has its own action. */
export const NEXT_STATUS: Readonly<Partial<Record<OrderStatus, OrderStatus>>> = {
  pending: 'confirmed',
  confirmed: 'shipped',
  shipped: 'delivered',
};

export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  /** Minor units of `currency`: the sum of the line totals. */
  total: number;
  currency: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** One line of an order. The price is copied from the product when the order is placed. */
export interface OrderItem {
  id: string;
  orderId: string;
  productId: string;
  quantity: number;
  unitPrice: number;
  currency: string;
  createdAt: Date;
}

export interface OrderWithItems extends Order {
  items: OrderItem[];
}

export interface OrderFilter {
  userId?: string | undefined;
  statuses?: readonly string[] | undefined;
  totalMin?: number | undefined;
  totalMax?: number | undefined;
  createdAfter?: Date | undefined;
  createdBefore?: Date | undefined;
}

export const ORDER_ITEMS_MAX = 50;
export const QUANTITY_MAX = 1_000;

export const ORDER_SORTS: SortFields<Order> = {
  created_at: (o) => o.createdAt,
  total: (o) => o.total,
};
export const ORDER_DEFAULT_SORT: readonly SortTerm[] = [{ field: 'created_at', descending: true }];

export const ORDER_ITEM_SORTS: SortFields<OrderItem> = { created_at: (i) => i.createdAt };
export const ORDER_ITEM_DEFAULT_SORT: readonly SortTerm[] = [{ field: 'created_at', descending: false }];

export function canBeCancelled(status: OrderStatus): boolean {
  return CANCELLABLE_STATUSES.includes(status);
}

export function lineTotal(item: OrderItem): number {
  return item.unitPrice * item.quantity;
}

/** An order item in the API's field names: what every transport and event shows (REST adds links). */
export function presentOrderItem(item: OrderItem) {
  return {
    id: item.id,
    order_id: item.orderId,
    product_id: item.productId,
    quantity: item.quantity,
    unit_price: item.unitPrice,
    total: lineTotal(item),
    currency: item.currency,
    created_at: item.createdAt.toISOString(),
  };
}

/**
 * An order in the API's field names, with its items when they were loaded (a
 * single order always has them): what every transport and event shows (REST adds links).
 */
export function presentOrder(order: Order & { items?: readonly OrderItem[] }) {
  return {
    id: order.id,
    user_id: order.userId,
    status: order.status,
    total: order.total,
    currency: order.currency,
    created_at: order.createdAt.toISOString(),
    updated_at: order.updatedAt.toISOString(),
    ...(order.items !== undefined && { items: order.items.map(presentOrderItem) }),
  };
}

/**
 * Whether an order in `current` can come to be in `next` by the moves the domain allows: a watcher uses it to tell
 * a change it has not shown yet from one its first read already included.
 */
export function comesAfter(next: OrderStatus, current: OrderStatus): boolean {
  if (next === 'cancelled') return canBeCancelled(current);
  for (let status = NEXT_STATUS[current]; status !== undefined; status = NEXT_STATUS[status]) {
    if (status === next) return true;
  }
  return false;
}

/** Whether an order can still change: a delivered or cancelled order never does (a watch of it ends there). */
export function isFinalStatus(status: OrderStatus): boolean {
  return NEXT_STATUS[status] === undefined && !canBeCancelled(status);
}

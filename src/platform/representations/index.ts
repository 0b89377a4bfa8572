import { canBeCancelled, presentOrder as orderData, presentOrderItem as orderItemData, type Order, type OrderItem } from '../../domain/orders/index.ts';
import { presentCharge as chargeData, type Charge } from '../../domain/charges/index.ts';

/**
 * The canonical representation of a resource: the domain's view (snake_case,
 * the latest version) with its links in the current API version. REST sends
 * it as `data`; an idempotency record holds it as the neutral outcome, so a
 * key used on one transport replays on another (REST takes `Location` from
 * `links.self`, GraphQL selects its fields). Kept outside every transport so
 * none imports another's presenters.
 */
export function presentOrderItem(item: OrderItem) {
  return { ...orderItemData(item), links: { self: `/v2/order-items/${item.id}`, order: `/v2/orders/${item.orderId}`, product: `/v2/products/${item.productId}` } };
}

/** An order; with `items` when they were loaded (single orders always, lists on include=items). */
export function presentOrder(order: Order & { items?: readonly OrderItem[] }) {
  const self = `/v2/orders/${order.id}`;
  return {
    ...orderData(order),
    ...(order.items !== undefined && { items: order.items.map(presentOrderItem) }),
    links: {
      self,
      items: `${self}/items`,
      user: `/v2/users/${order.userId}`,
      ...(canBeCancelled(order.status) && { cancel: `${self}/cancel` }),
    },
  };
}

export function presentCharge(charge: Charge) {
  return { ...chargeData(charge), links: { self: `/v2/charges/${charge.id}`, ...(charge.orderId && { order: `/v2/orders/${charge.orderId}` }) } };
}

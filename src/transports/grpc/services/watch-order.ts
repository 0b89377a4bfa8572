import type { MessageInitShape } from '@bufbuild/protobuf';
import type { HandlerContext } from '@connectrpc/connect';
import type { Container } from '../../../container.ts';
import { comesAfter, isFinalStatus, type OrderStatus } from '../../../domain/orders/index.ts';
import type { StoredEvent } from '../../../domain/events/index.ts';
import { principalOf } from '../context.ts';
import { orderMessage } from '../convert.ts';
import type { WatchOrderRequest, WatchOrderResponseSchema } from '../gen/stoa/v1/orders_pb.ts';
import { BoundedQueue } from '../queue.ts';

type Deps = Pick<Container, 'orders' | 'realtime'>;

/**
 * WatchOrder: subscribes to the event hub (the feed SSE and WebSocket read,
 * with the same visibility rule) before reading the order, so no change
 * falls between; then sends the current state and each change, and ends once
 * the order is final. The subscription closes however the call ends.
 */
export function watchOrder(deps: Deps) {
  return async function* (req: WatchOrderRequest, ctx: HandlerContext): AsyncGenerator<MessageInitShape<typeof WatchOrderResponseSchema>> {
    const actor = principalOf(ctx);
    const changes = new BoundedQueue<StoredEvent>(1_000);
    const subscription = await deps.realtime.hub.subscribe({
      principal: actor,
      accepts: (event) => event.resourceType === 'order' && event.resourceId === req.id,
      deliver: (event) => changes.push(event),
    });
    try {
      // Authorization and existence as GetOrder: another user's order is NOT_FOUND.
      let order = await deps.orders.get(actor, req.id);
      yield { order: orderMessage(order) };
      while (!isFinalStatus(order.status)) {
        const event = await changes.take(ctx.signal);
        if (event === undefined) return;
        // Each change as its event recorded it: reading the order again would merge changes that come close together.
        const change = event.data as { status?: OrderStatus; updated_at?: string };
        if (change.status === undefined || !comesAfter(change.status, order.status)) continue;
        order = { ...order, status: change.status, updatedAt: new Date(change.updated_at ?? event.createdAt) };
        yield { order: orderMessage(order) };
      }
    } finally {
      subscription.close();
    }
  };
}

import type { ServiceImpl } from '@connectrpc/connect';
import type { Container } from '../../../container.ts';
import { ORDER_DEFAULT_SORT, ORDER_SORTS } from '../../../domain/orders/index.ts';
import { checkPageSize } from '../../../platform/pagination/index.ts';
import { principalOf } from '../context.ts';
import { orderMessage } from '../convert.ts';
import type { OrderService } from '../gen/stoa/v1/orders_pb.ts';
import { watchOrder } from './watch-order.ts';

type Deps = Pick<Container, 'orders' | 'pagination' | 'realtime'>;

/** OrderService: one domain call per method; ListOrders pages through the pagination core, so its tokens are REST's cursors. */
export function orderService(deps: Deps): Partial<ServiceImpl<typeof OrderService>> {
  const spec = { sorts: ORDER_SORTS, defaultSort: ORDER_DEFAULT_SORT };
  return {
    async getOrder(req, ctx) {
      return { order: orderMessage(await deps.orders.get(principalOf(ctx), req.id)) };
    },
    async listOrders(req, ctx) {
      const actor = principalOf(ctx);
      const limit = checkPageSize('page_size', req.pageSize === 0 ? undefined : req.pageSize);
      const request = deps.pagination.toPageRequest({ limit, cursor: req.pageToken === '' ? undefined : req.pageToken }, spec, { collection: 'orders' });
      const page = await deps.orders.list(actor, {}, request.page);
      return { orders: page.items.map(orderMessage), nextPageToken: deps.pagination.pageCursors(page, request, spec).next ?? '' };
    },
    watchOrder: watchOrder(deps),
  };
}

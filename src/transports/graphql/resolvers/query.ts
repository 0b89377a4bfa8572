import { API_KEY_DEFAULT_SORT, API_KEY_SORTS } from '../../../domain/api-keys/index.ts';
import { CHARGE_DEFAULT_SORT, CHARGE_SORTS } from '../../../domain/charges/index.ts';
import { EVENT_SORTS } from '../../../domain/events/index.ts';
import { ORDER_DEFAULT_SORT, ORDER_SORTS } from '../../../domain/orders/index.ts';
import { POST_DEFAULT_SORT, POST_SORTS } from '../../../domain/posts/index.ts';
import { PRODUCT_DEFAULT_SORT, PRODUCT_SORTS } from '../../../domain/products/index.ts';
import { notFound } from '../../../domain/shared/errors.ts';
import { USER_DEFAULT_SORT, USER_SORTS } from '../../../domain/users/index.ts';
import { WEBHOOK_ENDPOINT_SORTS } from '../../../domain/webhooks/index.ts';
import { connection, type ConnectionArgs } from '../connections.ts';
import { actorOf, type GraphqlContext } from '../context.ts';
import { orderFilterOf, orderScopeFilters } from './objects.ts';
import { dateOf, type Resolvers } from './support.ts';

type Id = { id: string };
type Ctx = GraphqlContext;

/** The type of a node, from its id's prefix (ids are the same prefixed ids as REST). */
export const NODE_TYPES: Record<string, string> = {
  usr: 'User',
  pst: 'Post',
  cmt: 'Comment',
  prd: 'Product',
  ord: 'Order',
  itm: 'OrderItem',
  ch: 'Charge',
  key: 'ApiKey',
  evt: 'Event',
  whe: 'WebhookEndpoint',
};

export function nodeTypeOf(value: { id?: unknown }): string | undefined {
  const prefix = typeof value.id === 'string' ? value.id.split('_')[0]! : '';
  return NODE_TYPES[prefix];
}

/** One lookup by id, for `node(id:)` and each single lookup: the service's `get`, which answers NOT_FOUND for what the caller may not see. */
async function lookup(context: Ctx, id: string): Promise<unknown> {
  const actor = actorOf(context);
  const { deps } = context;
  switch (nodeTypeOf({ id })) {
    case 'User':
      return deps.users.get(actor, id);
    case 'Post':
      return deps.posts.get(actor, id);
    case 'Comment':
      return deps.posts.getComment(actor, id);
    case 'Product':
      return deps.products.get(id);
    case 'Order':
      return deps.orders.get(actor, id);
    case 'OrderItem':
      return deps.orders.getItem(actor, id);
    case 'Charge':
      return deps.charges.get(actor, id);
    case 'ApiKey':
      return deps.apiKeys.get(actor, id);
    case 'Event':
      return deps.events.get(actor, id);
    case 'WebhookEndpoint':
      return deps.webhooks.get(actor, id);
    default:
      throw notFound('Node');
  }
}

type PostArgs = ConnectionArgs & { authorId?: string | null; createdAfter?: string | null; createdBefore?: string | null; q?: string | null };
type ProductArgs = ConnectionArgs & { category?: string[] | null; priceMin?: number | null; priceMax?: number | null; inStock?: boolean | null; q?: string | null };

/** Query fields: each is one service call (a lookup, or a list through `connection`). */
export const queryResolvers: Resolvers = {
  Query: {
    node: (_root: unknown, { id }: Id, context: Ctx) => lookup(context, id),
    me: (_root: unknown, _args: unknown, context: Ctx) => context.deps.users.me(actorOf(context)),
    user: (_root: unknown, { id }: Id, context: Ctx) => context.deps.users.get(actorOf(context), id),
    post: (_root: unknown, { id }: Id, context: Ctx) => context.deps.posts.get(actorOf(context), id),
    comment: (_root: unknown, { id }: Id, context: Ctx) => context.deps.posts.getComment(actorOf(context), id),
    product: (_root: unknown, { id }: Id, context: Ctx) => context.deps.products.get(id),
    order: (_root: unknown, { id }: Id, context: Ctx) => context.deps.orders.get(actorOf(context), id),
    orderItem: (_root: unknown, { id }: Id, context: Ctx) => context.deps.orders.getItem(actorOf(context), id),
    charge: (_root: unknown, { id }: Id, context: Ctx) => context.deps.charges.get(actorOf(context), id),
    apiKey: (_root: unknown, { id }: Id, context: Ctx) => context.deps.apiKeys.get(actorOf(context), id),

    users: (_root: unknown, args: ConnectionArgs & { status?: string[] | null; role?: string[] | null; plan?: string[] | null }, context: Ctx) => {
      const actor = actorOf(context);
      const filter = { status: args.status ?? undefined, role: args.role ?? undefined, plan: args.plan ?? undefined };
      return connection(
        context.deps.pagination,
        args,
        { sorts: USER_SORTS, defaultSort: USER_DEFAULT_SORT },
        { collection: 'users', filters: { status: args.status?.join(','), role: args.role?.join(','), plan: args.plan?.join(',') } },
        (page) => context.deps.users.list(actor, filter, page),
      );
    },
    posts: (_root: unknown, args: PostArgs, context: Ctx) => {
      const actor = actorOf(context);
      const filter = { authorId: args.authorId ?? undefined, createdAfter: dateOf(args.createdAfter), createdBefore: dateOf(args.createdBefore), q: args.q ?? undefined };
      const filters = { author_id: args.authorId ?? undefined, created_after: args.createdAfter ?? undefined, created_before: args.createdBefore ?? undefined, q: args.q ?? undefined };
      return connection(context.deps.pagination, args, { sorts: POST_SORTS, defaultSort: POST_DEFAULT_SORT }, { collection: 'posts', filters }, (page) =>
        context.deps.posts.list(actor, filter, page),
      );
    },
    feed: (_root: unknown, args: ConnectionArgs, context: Ctx) => {
      const actor = actorOf(context);
      return connection(context.deps.pagination, args, { sorts: POST_SORTS, defaultSort: POST_DEFAULT_SORT }, { collection: 'feed' }, (page) => context.deps.posts.feed(actor, page));
    },
    products: (_root: unknown, args: ProductArgs, context: Ctx) => {
      const filter = { categories: args.category ?? undefined, priceMin: args.priceMin ?? undefined, priceMax: args.priceMax ?? undefined, inStock: args.inStock ?? undefined, q: args.q ?? undefined };
      const filters = { category: args.category?.join(','), price_min: args.priceMin ?? undefined, price_max: args.priceMax ?? undefined, in_stock: args.inStock ?? undefined, q: args.q ?? undefined };
      return connection(context.deps.pagination, args, { sorts: PRODUCT_SORTS, defaultSort: PRODUCT_DEFAULT_SORT }, { collection: 'products', filters }, (page) =>
        context.deps.products.list(filter, page),
      );
    },
    orders: (_root: unknown, args: Parameters<typeof orderFilterOf>[0], context: Ctx) => {
      const actor = actorOf(context);
      return connection(context.deps.pagination, args, { sorts: ORDER_SORTS, defaultSort: ORDER_DEFAULT_SORT }, { collection: 'orders', filters: orderScopeFilters(args) }, (page) =>
        context.deps.orders.list(actor, orderFilterOf(args), page),
      );
    },
    charges: (_root: unknown, args: ConnectionArgs & { status?: string[] | null; orderId?: string | null }, context: Ctx) => {
      const actor = actorOf(context);
      const filters = { status: args.status?.join(','), order_id: args.orderId ?? undefined };
      return connection(context.deps.pagination, args, { sorts: CHARGE_SORTS, defaultSort: CHARGE_DEFAULT_SORT }, { collection: 'charges', filters }, (page) =>
        context.deps.charges.list(actor, { statuses: args.status ?? undefined, orderId: args.orderId ?? undefined }, page),
      );
    },
    apiKeys: (_root: unknown, args: ConnectionArgs, context: Ctx) => {
      const actor = actorOf(context);
      return connection(context.deps.pagination, args, { sorts: API_KEY_SORTS, defaultSort: API_KEY_DEFAULT_SORT }, { collection: 'api-keys' }, (page) => context.deps.apiKeys.list(actor, page));
    },
    webhookEndpoint: (_root: unknown, { id }: Id, context: Ctx) => context.deps.webhooks.get(actorOf(context), id),
    webhookEndpoints: (_root: unknown, args: ConnectionArgs, context: Ctx) => {
      const actor = actorOf(context);
      return connection(context.deps.pagination, args, { sorts: WEBHOOK_ENDPOINT_SORTS, defaultSort: [{ field: 'created_at', descending: true }] }, { collection: 'webhook-endpoints' }, (page) =>
        context.deps.webhooks.list(actor, page),
      );
    },
    events: (_root: unknown, args: ConnectionArgs & { types?: string[] | null }, context: Ctx) => {
      const actor = actorOf(context);
      return connection(
        context.deps.pagination,
        args,
        { sorts: EVENT_SORTS, defaultSort: [{ field: 'sequence', descending: false }] },
        { collection: 'events', filters: { type: args.types?.join(',') } },
        (page) => context.deps.events.list(actor, { types: args.types ?? undefined }, page),
      );
    },
  },
};


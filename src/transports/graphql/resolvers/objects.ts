import type { ApiKey } from '../../../domain/api-keys/index.ts';
import type { Charge } from '../../../domain/charges/index.ts';
import type { StoredEvent } from '../../../domain/events/index.ts';
import { FOLLOW_DEFAULT_SORT, FOLLOW_SORTS, type FollowEntry } from '../../../domain/follows/index.ts';
import { lineTotal, ORDER_DEFAULT_SORT, ORDER_SORTS, type Order, type OrderItem } from '../../../domain/orders/index.ts';
import { COMMENT_DEFAULT_SORT, COMMENT_SORTS, POST_DEFAULT_SORT, POST_SORTS, type Comment, type Post } from '../../../domain/posts/index.ts';
import { isInStock, type Product } from '../../../domain/products/index.ts';
import { requireScope } from '../../../domain/shared/principal.ts';
import type { PublicProfile, User } from '../../../domain/users/index.ts';
import { connection, type ConnectionArgs } from '../connections.ts';
import { actorOf, type GraphqlContext } from '../context.ts';
import { dateOf, type Resolvers } from './support.ts';

type AnyUser = User | PublicProfile;
const full = (user: AnyUser): User | null => ('email' in user ? user : null);

/**
 * A user embedded in another resource, through the request's loader. Reading
 * a user is a `users:read` question on every path (REST's GET /users/{id}), so
 * an API key without it gets INSUFFICIENT_SCOPE on this field alone.
 */
export async function loadUser(context: GraphqlContext, id: string | null): Promise<AnyUser | null> {
  if (id === null) return null;
  requireScope(actorOf(context), 'users:read');
  return context.loaders.users.load(id);
}

type PostArgs = ConnectionArgs & { createdAfter?: string | null; createdBefore?: string | null; q?: string | null };
type OrderArgs = ConnectionArgs & { status?: string[] | null; totalMin?: number | null; totalMax?: number | null; createdAfter?: string | null; createdBefore?: string | null };

export function orderFilterOf(args: OrderArgs) {
  return {
    statuses: args.status ?? undefined,
    totalMin: args.totalMin ?? undefined,
    totalMax: args.totalMax ?? undefined,
    createdAfter: dateOf(args.createdAfter),
    createdBefore: dateOf(args.createdBefore),
  };
}

export function orderScopeFilters(args: OrderArgs) {
  return { status: args.status?.join(','), total_min: args.totalMin ?? undefined, total_max: args.totalMax ?? undefined, created_after: args.createdAfter ?? undefined, created_before: args.createdBefore ?? undefined };
}

/** Field resolvers of the object types: names, relations (through the loaders) and nested lists (through the services). */
export const objectResolvers: Resolvers = {
  User: {
    displayName: (user: AnyUser) => user.name,
    email: (user: AnyUser) => full(user)?.email ?? null,
    role: (user: AnyUser) => full(user)?.role ?? null,
    status: (user: AnyUser) => full(user)?.status ?? null,
    plan: (user: AnyUser) => full(user)?.plan ?? null,
    emailVerifiedAt: (user: AnyUser) => full(user)?.emailVerifiedAt ?? null,
    updatedAt: (user: AnyUser) => (full(user) ? user.updatedAt : null),
    posts: (user: AnyUser, args: PostArgs, context: GraphqlContext) => {
      const actor = actorOf(context);
      const filter = { createdAfter: dateOf(args.createdAfter), createdBefore: dateOf(args.createdBefore), q: args.q ?? undefined };
      return connection(
        context.deps.pagination,
        args,
        { sorts: POST_SORTS, defaultSort: POST_DEFAULT_SORT },
        { collection: 'users.posts', parent: user.id, filters: { created_after: args.createdAfter ?? undefined, created_before: args.createdBefore ?? undefined, q: args.q ?? undefined } },
        (page) => context.deps.posts.listByAuthor(actor, user.id, filter, page),
      );
    },
    followers: (user: AnyUser, args: ConnectionArgs, context: GraphqlContext) =>
      connection(context.deps.pagination, args, { sorts: FOLLOW_SORTS, defaultSort: FOLLOW_DEFAULT_SORT }, { collection: 'users.followers', parent: user.id }, (page) =>
        context.deps.follows.list(actorOf(context), user.id, 'followers', page),
      ),
    following: (user: AnyUser, args: ConnectionArgs, context: GraphqlContext) =>
      connection(context.deps.pagination, args, { sorts: FOLLOW_SORTS, defaultSort: FOLLOW_DEFAULT_SORT }, { collection: 'users.following', parent: user.id }, (page) =>
        context.deps.follows.list(actorOf(context), user.id, 'following', page),
      ),
    followerCount: async (user: AnyUser, _args: unknown, context: GraphqlContext) => (await context.deps.follows.counts(actorOf(context), user.id)).followers,
    followingCount: async (user: AnyUser, _args: unknown, context: GraphqlContext) => (await context.deps.follows.counts(actorOf(context), user.id)).following,
    orders: (user: AnyUser, args: OrderArgs, context: GraphqlContext) =>
      connection(context.deps.pagination, args, { sorts: ORDER_SORTS, defaultSort: ORDER_DEFAULT_SORT }, { collection: 'users.orders', parent: user.id, filters: orderScopeFilters(args) }, (page) =>
        context.deps.orders.listForUser(actorOf(context), user.id, orderFilterOf(args), page),
      ),
  },
  Follow: {
    user: (entry: FollowEntry) => entry.user,
  },
  Post: {
    author: (post: Post, _args: unknown, context: GraphqlContext) => loadUser(context, post.authorId),
    commentCount: (post: Post, _args: unknown, context: GraphqlContext) => {
      actorOf(context);
      return context.loaders.commentCounts.load(post.id);
    },
    comments: (post: Post, args: ConnectionArgs, context: GraphqlContext) =>
      connection(context.deps.pagination, args, { sorts: COMMENT_SORTS, defaultSort: COMMENT_DEFAULT_SORT }, { collection: 'posts.comments', parent: post.id }, (page) =>
        context.deps.posts.comments(actorOf(context), post.id, page),
      ),
  },
  Comment: {
    author: (comment: Comment, _args: unknown, context: GraphqlContext) => loadUser(context, comment.authorId),
    post: (comment: Comment, _args: unknown, context: GraphqlContext) => {
      requireScope(actorOf(context), 'posts:read');
      return context.loaders.posts.load(comment.postId);
    },
  },
  Product: {
    inStock: (product: Product) => isInStock(product),
    description: (product: Product) => product.description ?? null,
  },
  Order: {
    user: (order: Order, _args: unknown, context: GraphqlContext) => loadUser(context, order.userId),
    items: (order: Order & { items?: OrderItem[] }, _args: unknown, context: GraphqlContext) => {
      if (order.items !== undefined) return order.items;
      actorOf(context);
      return context.loaders.orderItems.load(order.id);
    },
  },
  OrderItem: {
    total: (item: OrderItem & { total?: number }) => item.total ?? lineTotal(item),
    product: (item: OrderItem, _args: unknown, context: GraphqlContext) => context.loaders.products.load(item.productId),
  },
  Charge: {
    order: (charge: Charge, _args: unknown, context: GraphqlContext) => (charge.orderId === null ? null : context.deps.orders.get(actorOf(context), charge.orderId)),
  },
  ApiKey: {
    scopes: (key: ApiKey) => [...key.scopes],
  },
  Event: {
    data: (event: StoredEvent) => event.data,
  },
};

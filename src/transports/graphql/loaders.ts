import DataLoader from 'dataloader';
import type { OrderItem } from '../../domain/orders/index.ts';
import type { Post } from '../../domain/posts/index.ts';
import type { Product } from '../../domain/products/index.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import type { PublicProfile, User } from '../../domain/users/index.ts';
import type { GraphqlDeps } from './context.ts';

/**
 * One request's batch loaders, one per relation: every `load` made while a
 * level of the query resolves becomes one service call (one SQL query), so
 * a page of 100 posts with their authors and comment counts costs a constant
 * number of queries. Made per request: nothing is cached across callers.
 */
export interface Loaders {
  users: DataLoader<string, User | PublicProfile | null>;
  posts: DataLoader<string, Post | null>;
  commentCounts: DataLoader<string, number>;
  products: DataLoader<string, Product | null>;
  orderItems: DataLoader<string, OrderItem[]>;
}

function byId<T extends { id: string }>(ids: readonly string[], rows: readonly T[]): Array<T | null> {
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => found.get(id) ?? null);
}

export function createLoaders(deps: GraphqlDeps, principal: Principal | null): Loaders {
  return {
    users: new DataLoader(async (ids) => byId(ids, await deps.users.getMany(principal, ids))),
    posts: new DataLoader(async (ids) => byId(ids, await deps.posts.getMany(principal, ids))),
    commentCounts: new DataLoader(async (ids) => {
      const counts = await deps.posts.commentCounts(ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }),
    products: new DataLoader(async (ids) => byId(ids, await deps.products.getMany(ids))),
    orderItems: new DataLoader(async (orderIds) => {
      const items = await deps.orders.itemsOfOrders(principal, orderIds);
      const byOrder = new Map<string, OrderItem[]>();
      for (const item of items) {
        const siblings = byOrder.get(item.orderId);
        if (siblings) siblings.push(item);
        else byOrder.set(item.orderId, [item]);
      }
      return orderIds.map((id) => byOrder.get(id) ?? []);
    }),
  };
}

import type { OrdersService } from '../../domain/orders/index.ts';
import type { ProductsService } from '../../domain/products/index.ts';
import type { UsersService } from '../../domain/users/index.ts';
import type { Relation } from './lists.ts';
import { presentUser } from './routes/users.routes.ts';
import { presentOrderItem } from './schemas/orders.ts';
import { presentProduct } from './schemas/products.ts';

type Json = Record<string, unknown>;

/**
 * Embeds the user named by `key` (`author_id`, `user_id`) as `as` with one
 * query per page: the public profile, or the full record for the caller itself.
 */
export function userRelation(users: UsersService, key: string, as: string): Relation {
  return {
    async attach(parents, actor) {
      const ids = [...new Set(parents.map((p) => p[key]).filter((id): id is string => typeof id === 'string'))];
      const byId = new Map((await users.getMany(actor, ids)).map((u) => [u.id, presentUser(u)]));
      const attached: Json[] = [];
      for (const parent of parents) {
        const user = byId.get(parent[key] as string) ?? null;
        parent[as] = user;
        if (user) attached.push(user);
      }
      return attached;
    },
  };
}

/** The public-profile fields an embedded user may be narrowed to with `fields=author.display_name`. */
export const EMBEDDED_USER_FIELDS = ['id', 'display_name', 'email', 'role', 'status', 'plan', 'created_at', 'updated_at', 'links'] as const;

/**
 * Embeds the product named by `key` as `as` (`product_id` → `product`) with
 * one query per page; a deleted product embeds as null (its item keeps product_id).
 */
export function productRelation(products: ProductsService, key = 'product_id', as = 'product'): Relation {
  return {
    async attach(parents) {
      const ids = [...new Set(parents.map((p) => p[key]).filter((id): id is string => typeof id === 'string'))];
      const byId = new Map((await products.getMany(ids)).map((p) => [p.id, presentProduct(p)]));
      const attached: Json[] = [];
      for (const parent of parents) {
        const product = byId.get(parent[key] as string) ?? null;
        parent[as] = product;
        if (product) attached.push(product);
      }
      return attached;
    },
  };
}

/** Embeds every order's items as `items` with one query per page, only for orders the caller may see. */
export function orderItemsRelation(orders: OrdersService): Relation {
  return {
    async attach(parents, actor) {
      const items = await orders.itemsOfOrders(actor, parents.map((p) => p.id as string));
      const byOrder = new Map<string, Json[]>();
      const attached: Json[] = [];
      for (const item of items) {
        const presented = presentOrderItem(item);
        const siblings = byOrder.get(item.orderId);
        if (siblings) siblings.push(presented);
        else byOrder.set(item.orderId, [presented]);
        attached.push(presented);
      }
      for (const parent of parents) parent.items = byOrder.get(parent.id as string) ?? [];
      return attached;
    },
  };
}

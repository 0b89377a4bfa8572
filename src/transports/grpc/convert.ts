import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Order, OrderItem } from '../../domain/orders/index.ts';
import { lineTotal } from '../../domain/orders/index.ts';
import type { PublicProfile, User } from '../../domain/users/index.ts';
import { OrderItemSchema, OrderSchema, type Order as OrderMessage } from './gen/stoa/v1/orders_pb.ts';
import { UserSchema, type User as UserMessage } from './gen/stoa/v1/users_pb.ts';

/** A user as a message: the full record, or the public profile with the private fields unset (as REST leaves them out). */
export function userMessage(user: User | PublicProfile): UserMessage {
  if (!('email' in user)) return create(UserSchema, { id: user.id, displayName: user.name, createdAt: timestampFromDate(user.createdAt) });
  return create(UserSchema, {
    id: user.id,
    email: user.email,
    displayName: user.name,
    role: user.role,
    status: user.status,
    plan: user.plan,
    emailVerifiedAt: user.emailVerifiedAt ? timestampFromDate(user.emailVerifiedAt) : undefined,
    createdAt: timestampFromDate(user.createdAt),
    updatedAt: timestampFromDate(user.updatedAt),
  });
}

const money = (amount: number, currency: string) => ({ amountMinor: BigInt(amount), currency });

function itemMessage(item: OrderItem) {
  return create(OrderItemSchema, {
    id: item.id,
    orderId: item.orderId,
    productId: item.productId,
    quantity: item.quantity,
    unitPrice: money(item.unitPrice, item.currency),
    total: money(lineTotal(item), item.currency),
    createdAt: timestampFromDate(item.createdAt),
  });
}

/** An order as a message (money in minor units plus currency); items when they were loaded. */
export function orderMessage(order: Order & { items?: readonly OrderItem[] }): OrderMessage {
  return create(OrderSchema, {
    id: order.id,
    userId: order.userId,
    status: order.status,
    total: money(order.total, order.currency),
    items: (order.items ?? []).map(itemMessage),
    createdAt: timestampFromDate(order.createdAt),
    updatedAt: timestampFromDate(order.updatedAt),
  });
}

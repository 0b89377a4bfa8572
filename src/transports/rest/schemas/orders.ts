import { Type } from 'typebox';
import { ORDER_STATUSES } from '../../../domain/orders/index.ts';
import { Timestamp } from './common.ts';
import { EmbeddedProduct } from './products.ts';

const Money = (description: string) => Type.Integer({ minimum: 0, description: `${description}, in minor units of currency.` });
const EmbeddedUser = Type.Object({ id: Type.String(), display_name: Type.String() }, { additionalProperties: true, description: 'The owner, with include=user.' });

export const OrderItemSchema = Type.Object(
  {
    id: Type.String({ examples: ['itm_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
    order_id: Type.String(),
    product_id: Type.String(),
    quantity: Type.Integer({ minimum: 1 }),
    unit_price: Money('The price of one unit when the order was placed'),
    total: Money('quantity × unit_price'),
    currency: Type.String({ examples: ['EUR'] }),
    created_at: Timestamp,
    product: Type.Optional(Type.Union([EmbeddedProduct, Type.Null()])),
    links: Type.Object({ self: Type.String(), order: Type.String(), product: Type.String() }),
  },
  { description: 'One line of an order.' },
);

export const OrderSchema = Type.Object(
  {
    id: Type.String({ examples: ['ord_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
    user_id: Type.String(),
    status: Type.String({ enum: [...ORDER_STATUSES] }),
    total: Money('The sum of the line totals'),
    currency: Type.String({ examples: ['EUR'] }),
    created_at: Timestamp,
    updated_at: Timestamp,
    items: Type.Optional(Type.Array(OrderItemSchema, { description: 'Always on a single order; on lists with include=items.' })),
    user: Type.Optional(Type.Union([EmbeddedUser, Type.Null()])),
    links: Type.Object(
      {
        self: Type.String(),
        items: Type.String(),
        user: Type.String(),
        cancel: Type.Optional(Type.String({ description: 'POST here to cancel; present only while the order is pending or confirmed.' })),
      },
      { description: 'Links to the order and the actions available in its current state.' },
    ),
  },
  { description: 'An order: pending → confirmed → shipped → delivered, or cancelled while pending or confirmed.' },
);

export const ORDER_FIELDS = ['id', 'user_id', 'status', 'total', 'currency', 'created_at', 'updated_at', 'links'] as const;
export const ORDER_ITEM_FIELDS = ['id', 'order_id', 'product_id', 'quantity', 'unit_price', 'total', 'currency', 'created_at', 'links'] as const;

export { presentOrder, presentOrderItem } from '../../../platform/representations/index.ts';

import { Type, type Static } from 'typebox';
import { defineInput } from '../shared/validation.ts';
import { ORDER_ITEMS_MAX, ORDER_STATUSES, QUANTITY_MAX } from './orders.types.ts';

/** An order request: products and quantities; prices are the server's business. */
export const NewOrderInput = defineInput(
  Type.Object(
    {
      items: Type.Array(
        Type.Object(
          {
            product_id: Type.String({ minLength: 1, maxLength: 64, examples: ['prd_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
            quantity: Type.Integer({ minimum: 1, maximum: QUANTITY_MAX }),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: ORDER_ITEMS_MAX, description: 'Products and quantities; the same product twice is merged. Prices come from the catalogue.' },
      ),
    },
    { additionalProperties: false, examples: [{ items: [{ product_id: 'prd_01jd3k9x7m2v8q4r6t0w5y1zab', quantity: 2 }] }] },
  ),
);
export type NewOrder = Static<typeof NewOrderInput.schema>;

/** An administrator moves an order one step along its fulfilment path. */
export const OrderStatusInput = defineInput(
  Type.Object(
    { status: Type.String({ enum: [...ORDER_STATUSES], description: 'The next status: confirmed, shipped or delivered (cancelling is an action of its own).' }) },
    { additionalProperties: false, examples: [{ status: 'confirmed' }] },
  ),
);
export type OrderStatusChange = Static<typeof OrderStatusInput.schema>;

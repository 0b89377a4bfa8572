import { Type } from 'typebox';
import { CHARGE_STATUSES } from '../../../domain/charges/index.ts';
import { Timestamp } from './common.ts';

const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()]);

export const ChargeSchema = Type.Object(
  {
    id: Type.String({ examples: ['ch_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
    user_id: Type.String(),
    order_id: Nullable(Type.String()),
    amount: Type.Integer({ minimum: 1, description: 'In minor units of currency.' }),
    currency: Type.String({ examples: ['EUR'] }),
    source: Type.String({ examples: ['tok_visa'] }),
    description: Nullable(Type.String()),
    status: Type.String({ enum: [...CHARGE_STATUSES] }),
    failure_code: Nullable(Type.String({ description: 'Why a failed charge failed: card_declined, insufficient_funds, …' })),
    created_at: Timestamp,
    updated_at: Timestamp,
    links: Type.Object({ self: Type.String(), order: Type.Optional(Type.String()) }),
  },
  { description: 'A charge: pending until the payment processor reports succeeded or failed.' },
);

export const CHARGE_FIELDS = ['id', 'user_id', 'order_id', 'amount', 'currency', 'source', 'description', 'status', 'failure_code', 'created_at', 'updated_at', 'links'] as const;

export { presentCharge } from '../../../platform/representations/index.ts';

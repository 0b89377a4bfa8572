import { Type, type Static } from 'typebox';
import { CURRENCY_CODES } from '../shared/money.ts';
import { DOCUMENTED, defineInput } from '../shared/validation.ts';
import { AMOUNT_MAX, DESCRIPTION_MAX_LENGTH, SOURCE_MAX_LENGTH } from './charges.types.ts';

/** A pattern matching any of `codes` in any case (`eur`, `Eur`, `EUR`), as the charge service takes them. */
function anyCase(codes: readonly string[]): string {
  return `^(?:${codes.map((c) => [...c].map((ch) => `[${ch}${ch.toLowerCase()}]`).join('')).join('|')})$`;
}

/** A new charge. The currency must be a known ISO 4217 code (any case); `order_id` one of the caller's orders. */
export const NewChargeInput = defineInput(
  Type.Object(
    {
      amount: Type.Integer({ minimum: 1, maximum: AMOUNT_MAX, description: 'In minor units of currency.' }),
      currency: Type.String({ minLength: 3, maxLength: 3, description: 'ISO 4217 code.', examples: ['EUR'], ...(CURRENCY_CODES.length ? { [DOCUMENTED]: { pattern: anyCase(CURRENCY_CODES) } } : {}) }),
      source: Type.String({ minLength: 1, maxLength: SOURCE_MAX_LENGTH, description: 'Card token: tok_visa, tok_declined, tok_insufficient_funds, tok_slow, tok_error.' }),
      order_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'One of your orders; it is confirmed when the charge succeeds.' })),
      description: Type.Optional(Type.String({ maxLength: DESCRIPTION_MAX_LENGTH })),
    },
    { additionalProperties: false, examples: [{ amount: 1999, currency: 'EUR', source: 'tok_visa' }] },
  ),
);
export type NewCharge = Static<typeof NewChargeInput.schema>;

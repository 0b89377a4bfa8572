import { Type } from 'typebox';
import { CURRENCY_CODES, MONEY_MAX } from '../shared/money.ts';
import { DOCUMENTED, defineInput, NonBlankString } from '../shared/validation.ts';
import { CATEGORY_MAX, PRODUCT_DESCRIPTION_MAX, PRODUCT_NAME_MAX, STOCK_MAX } from './products.types.ts';

const Fields = {
  name: NonBlankString({ minLength: 1, maxLength: PRODUCT_NAME_MAX }),
  description: Type.String({ maxLength: PRODUCT_DESCRIPTION_MAX }),
  category: NonBlankString({ minLength: 1, maxLength: CATEGORY_MAX, description: 'No commas (categories are filtered as a comma-separated list).' }, ','),
  price: Type.Integer({ minimum: 0, maximum: MONEY_MAX, description: 'Minor units of currency.' }),
  currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code in upper case.', examples: ['EUR'], ...(CURRENCY_CODES.length ? { [DOCUMENTED]: { enum: CURRENCY_CODES } } : {}) }),
  stock: Type.Integer({ minimum: 0, maximum: STOCK_MAX }),
};

/** A new catalogue entry. Name and category must not be blank; the currency must be a known ISO 4217 code. */
export const NewProductInput = defineInput(
  Type.Object(
    {
      name: Fields.name,
      description: Type.Optional(Fields.description),
      category: Fields.category,
      price: Fields.price,
      currency: Fields.currency,
      stock: Type.Optional(Type.Integer({ minimum: 0, maximum: STOCK_MAX, description: 'Units available (default 0).' })),
    },
    { additionalProperties: false, examples: [{ name: 'Ceramic mug', description: 'Holds 350 ml.', category: 'kitchen', price: 1250, currency: 'EUR', stock: 40 }] },
  ),
);

/** Some fields of a product (a merge patch). */
export const ProductPatchInput = defineInput(
  Type.Object(
    {
      name: Type.Optional(Fields.name),
      description: Type.Optional(Fields.description),
      category: Type.Optional(Fields.category),
      price: Type.Optional(Fields.price),
      currency: Type.Optional(Fields.currency),
      stock: Type.Optional(Fields.stock),
    },
    { additionalProperties: false, minProperties: 1, examples: [{ price: 1100, stock: 25 }] },
  ),
);

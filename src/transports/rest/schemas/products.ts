import { Type } from 'typebox';
import { presentProduct as productData, type Product } from '../../../domain/products/index.ts';
import { Timestamp } from './common.ts';

export const ProductSchema = Type.Object(
  {
    id: Type.String({ examples: ['prd_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
    name: Type.String({ examples: ['Ceramic mug'] }),
    description: Type.String(),
    category: Type.String({ examples: ['kitchen'] }),
    price: Type.Integer({ minimum: 0, description: 'Minor units of currency (cents for EUR).', examples: [1250] }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code.', examples: ['EUR'] }),
    stock: Type.Integer({ minimum: 0 }),
    in_stock: Type.Boolean({ description: 'stock > 0' }),
    created_at: Timestamp,
    updated_at: Timestamp,
    links: Type.Object({ self: Type.String() }),
  },
  { description: 'A product of the public catalogue.' },
);

/** A product embedded with include=product or include=items.product (null once deleted). */
export const EmbeddedProduct = Type.Object({ id: Type.String(), name: Type.String() }, { additionalProperties: true, description: 'The product, with include.' });

export const PRODUCT_FIELDS = ['id', 'name', 'description', 'category', 'price', 'currency', 'stock', 'in_stock', 'created_at', 'updated_at', 'links'] as const;

/** The same for every caller: the catalogue is public and cacheable by shared caches. */
export function presentProduct(product: Product) {
  return { ...productData(product), links: { self: `/v2/products/${product.id}` } };
}

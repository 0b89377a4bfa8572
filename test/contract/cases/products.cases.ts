import { matching, type Case, type Table } from '../case.ts';

const LAMP = { name: 'Lamp', category: 'home', price: 2500, currency: 'EUR', stock: 3 };
const lamp = (fields: Record<string, unknown>) => ({ ...LAMP, ...fields });

/** One field of a valid product changed: [what, fields, field, code]. */
const invalid: Array<[string, Record<string, unknown>, string, string, true?]> = [
  ['a currency that does not exist', { currency: 'ZZZ' }, 'currency', 'invalid_value'],
  ['a lower-case currency', { currency: 'eur' }, 'currency', 'invalid_format'],
  ['a negative price', { price: -1 }, 'price', 'out_of_range'],
  ['a negative stock', { stock: -1 }, 'stock', 'out_of_range'],
  ['a fractional stock', { stock: 1.5 }, 'stock', 'invalid_type'],
  ['an empty name', { name: '' }, 'name', 'too_short'],
  ['a blank name', { name: '   ' }, 'name', 'too_short'],
  ['a category with a comma', { category: 'a,b' }, 'category', 'invalid_format'],
];

const cases: Case[] = [
  {
    name: 'lets an administrator add a product, in stock',
    actor: 'admin',
    operation: 'products.create',
    input: LAMP,
    expect: { ok: { id: matching(/^prd_/), name: 'Lamp', price: 2500, currency: 'EUR', stock: 3, in_stock: true } },
  },
  { name: 'a product without stock is out of stock', actor: 'admin', operation: 'products.create', input: lamp({ stock: 0 }), expect: { ok: { stock: 0, in_stock: false } } },
  { name: 'forbids anyone else to add a product', actor: 'ada', operation: 'products.create', input: LAMP, expect: { error: 'FORBIDDEN' } },
  { name: 'needs a caller to add a product', actor: 'anonymous', operation: 'products.create', input: LAMP, expect: { error: 'UNAUTHENTICATED' } },
  {
    name: 'lists every missing field at once',
    actor: 'admin',
    operation: 'products.create',
    input: {},
    expect: {
      error: 'VALIDATION_FAILED',
      fields: ['name', 'category', 'price', 'currency'].map((field) => ({ field, code: 'required' })),
    },
  },
  ...invalid.map(([what, fields, field, code]): Case => ({
    name: `refuses ${what}`,
    actor: 'admin',
    operation: 'products.create',
    input: lamp(fields),
    expect: { error: 'VALIDATION_FAILED', fields: [{ field, code }] },
  })),
];

export const PRODUCTS: Table = { area: 'products', cases };

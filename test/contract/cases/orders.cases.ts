import { fresh, matching, output, ref, type Case, type Step, type Table } from '../case.ts';

const NOWHERE = 'prd_00000000000000000000000000';
const one = (product: unknown, quantity = 1) => ({ items: [{ product_id: product, quantity }] });
/** Admin moves a fresh order of Ada through these statuses first. */
const movedTo = (...statuses: string[]): Step[] => statuses.map((status) => ({ actor: 'admin', operation: 'orders.update', input: { id: fresh('adaOrder'), status } }));

const placing: Case[] = [
  {
    name: 'places an order: pending, prices and totals computed on the server',
    actor: 'ada',
    operation: 'orders.create',
    input: {
      items: [
        { product_id: ref('pricyProduct'), quantity: 2 },
        { product_id: ref('product'), quantity: 3 },
      ],
    },
    expect: {
      ok: {
        id: matching(/^ord_[0-9a-z]{26}$/),
        user_id: ref('ada.id'),
        status: 'pending',
        currency: 'EUR',
        total: 2 * 1250 + 3 * 500,
        items: [
          { id: matching(/^itm_/), product_id: ref('pricyProduct'), quantity: 2, unit_price: 1250, total: 2500, currency: 'EUR' },
          { id: matching(/^itm_/), product_id: ref('product'), quantity: 3, unit_price: 500, total: 1500, currency: 'EUR' },
        ],
      },
    },
  },
  {
    name: 'merges the same product listed twice into one item',
    actor: 'ada',
    operation: 'orders.create',
    input: {
      items: [
        { product_id: ref('product'), quantity: 1 },
        { product_id: ref('product'), quantity: 2 },
      ],
    },
    expect: { ok: { total: 1500, items: [{ product_id: ref('product'), quantity: 3 }] } },
  },
  {
    name: 'places an order with an API key with orders:write, for its owner',
    actor: 'adaKey',
    operation: 'orders.create',
    input: one(ref('product')),
    expect: { ok: { user_id: ref('ada.id'), total: 500 } },
  },
  {
    name: 'answers OUT_OF_STOCK for more than the stock',
    actor: 'ada',
    operation: 'orders.create',
    input: one(fresh('scarceProduct'), 3),
    expect: { error: 'OUT_OF_STOCK', fields: [{ field: 'items.0.product_id', code: 'out_of_stock' }] },
  },
  {
    name: 'answers OUT_OF_STOCK for a sold-out product, naming only the failing items, and takes nothing',
    actor: 'ada',
    operation: 'orders.create',
    input: {
      items: [
        { product_id: fresh('scarceProduct'), quantity: 2 },
        { product_id: ref('soldOutProduct'), quantity: 1 },
      ],
    },
    expect: { error: 'OUT_OF_STOCK', fields: [{ field: 'items.1.product_id', code: 'out_of_stock' }] },
    // The first item's stock is back: the whole of it can still be ordered.
    then: [{ actor: 'bob', operation: 'orders.create', input: one(fresh('scarceProduct'), 2), expect: { ok: { status: 'pending' } } }],
  },
  {
    name: 'names every index of a merged product that is out of stock',
    actor: 'ada',
    operation: 'orders.create',
    input: {
      items: [
        { product_id: fresh('scarceProduct'), quantity: 1 },
        { product_id: fresh('scarceProduct'), quantity: 2 },
      ],
    },
    expect: {
      error: 'OUT_OF_STOCK',
      fields: [
        { field: 'items.0.product_id', code: 'out_of_stock' },
        { field: 'items.1.product_id', code: 'out_of_stock' },
      ],
    },
  },
  {
    name: 'takes the stock: what one user ordered another cannot',
    actor: 'bob',
    operation: 'orders.create',
    given: [{ actor: 'ada', operation: 'orders.create', input: one(fresh('scarceProduct'), 2) }],
    input: one(fresh('scarceProduct'), 1),
    expect: { error: 'OUT_OF_STOCK', fields: [{ field: 'items.0.product_id', code: 'out_of_stock' }] },
  },
  {
    name: 'cancelling gives the stock back',
    actor: 'bob',
    operation: 'orders.create',
    given: [
      { actor: 'ada', operation: 'orders.create', input: one(fresh('scarceProduct'), 2) },
      { actor: 'ada', operation: 'orders.cancel', input: { id: output(0, 'id') } },
    ],
    input: one(fresh('scarceProduct'), 2),
    expect: { ok: { user_id: ref('bob.id'), total: 1000 } },
  },
  {
    name: 'refuses items priced in different currencies',
    actor: 'ada',
    operation: 'orders.create',
    input: {
      items: [
        { product_id: ref('product'), quantity: 1 },
        { product_id: ref('usdProduct'), quantity: 1 },
      ],
    },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'items.1.product_id', code: 'currency_mismatch' }] },
  },
  {
    name: 'names an unknown, malformed or deleted product',
    actor: 'ada',
    operation: 'orders.create',
    input: {
      items: [
        { product_id: ref('product'), quantity: 1 },
        { product_id: NOWHERE, quantity: 1 },
        { product_id: "prd_x' OR '1'='1", quantity: 1 },
        { product_id: ref('deletedProduct'), quantity: 1 },
      ],
    },
    expect: {
      error: 'VALIDATION_FAILED',
      fields: [
        { field: 'items.1.product_id', code: 'not_found' },
        { field: 'items.2.product_id', code: 'not_found' },
        { field: 'items.3.product_id', code: 'not_found' },
      ],
    },
  },
  { name: 'needs a caller to order', actor: 'anonymous', operation: 'orders.create', input: one(ref('product')), expect: { error: 'UNAUTHENTICATED' } },
  { name: 'needs orders:write for an API key to order', actor: 'adaReadOnlyKey', operation: 'orders.create', input: one(ref('product')), expect: { error: 'INSUFFICIENT_SCOPE', details: { required_scope: 'orders:write' } } },
];

/** Bodies that never reach the stock: [what, items, field errors]. */
const badBodies: Array<[string, unknown, Array<[string, string]>]> = [
  ['no items', [], [['items', 'too_few_items']]],
  ['items that are not an array', 'all of them', [['items', 'invalid_type']]],
  ['more than 50 items', Array.from({ length: 51 }, () => ({ product_id: NOWHERE, quantity: 1 })), [['items', 'too_many_items']]],
  ['a quantity of 0', [{ product_id: NOWHERE, quantity: 0 }], [['items.0.quantity', 'out_of_range']]],
  ['a negative quantity', [{ product_id: NOWHERE, quantity: -1 }], [['items.0.quantity', 'out_of_range']]],
  ['a quantity over 1,000,000', [{ product_id: NOWHERE, quantity: 1_000_001 }], [['items.0.quantity', 'out_of_range']]],
  ['a fractional quantity', [{ product_id: NOWHERE, quantity: 1.5 }], [['items.0.quantity', 'invalid_type']]],
  ['a quantity given as a string', [{ product_id: NOWHERE, quantity: '2' }], [['items.0.quantity', 'invalid_type']]],
  ['a client-supplied price', [{ product_id: NOWHERE, quantity: 1, unit_price: 1 }], [['items.0.unit_price', 'unknown_field']]],
  ['a missing product_id', [{ quantity: 1 }], [['items.0.product_id', 'required']]],
  ['an oversized product_id', [{ product_id: 'p'.repeat(500), quantity: 1 }], [['items.0.product_id', 'too_long']]],
];

const validation: Case[] = badBodies.map(([what, items, fields]) => ({
  name: `refuses ${what}`,
  actor: 'ada',
  operation: 'orders.create',
  input: { items },
  expect: { error: 'VALIDATION_FAILED', fields: fields.map(([field, code]) => ({ field, code })) },
}));

const isolation: Case[] = [
  { name: 'shows the owner its order', actor: 'ada', operation: 'orders.get', input: { id: ref('adaOrder') }, expect: { ok: { id: ref('adaOrder'), user_id: ref('ada.id'), status: 'pending' } } },
  { name: 'lets an administrator read any order', actor: 'admin', operation: 'orders.get', input: { id: ref('adaOrder') }, expect: { ok: { id: ref('adaOrder'), user_id: ref('ada.id') } } },
  { name: "answers NOT_FOUND for another user's order", actor: 'bob', operation: 'orders.get', input: { id: ref('adaOrder') }, expect: { error: 'NOT_FOUND' } },
  { name: 'answers NOT_FOUND for an unknown order', actor: 'bob', operation: 'orders.get', input: { id: 'ord_00000000000000000000000000' }, expect: { error: 'NOT_FOUND' } },
  { name: "lets an API key with orders:read read its owner's order", actor: 'adaReadOnlyKey', operation: 'orders.get', input: { id: ref('adaOrder') }, expect: { ok: { id: ref('adaOrder') } } },
  { name: 'needs a caller to read an order', actor: 'anonymous', operation: 'orders.get', input: { id: ref('adaOrder') }, expect: { error: 'UNAUTHENTICATED' } },
  {
    name: "answers NOT_FOUND for cancelling another user's order, and changes nothing",
    actor: 'bob',
    operation: 'orders.cancel',
    input: { id: ref('adaOrder') },
    expect: { error: 'NOT_FOUND' },
    then: [{ actor: 'ada', operation: 'orders.get', input: { id: ref('adaOrder') }, expect: { ok: { status: 'pending' } } }],
  },
];

const stateMachine: Case[] = [
  {
    name: 'cancels a pending order',
    actor: 'ada',
    operation: 'orders.cancel',
    input: { id: fresh('adaOrder') },
    expect: { ok: { id: fresh('adaOrder'), status: 'cancelled' } },
    then: [{ actor: 'ada', operation: 'orders.get', input: { id: fresh('adaOrder') }, expect: { ok: { status: 'cancelled' } } }],
  },
  {
    name: 'refuses cancelling twice, saying where the order stands',
    actor: 'ada',
    operation: 'orders.cancel',
    given: [{ actor: 'ada', operation: 'orders.cancel', input: { id: fresh('adaOrder') } }],
    input: { id: fresh('adaOrder') },
    expect: { error: 'INVALID_STATE_TRANSITION', details: { current_status: 'cancelled' } },
  },
  { name: 'cancels a confirmed order', actor: 'ada', operation: 'orders.cancel', given: movedTo('confirmed'), input: { id: fresh('adaOrder') }, expect: { ok: { status: 'cancelled' } } },
  {
    name: 'refuses cancelling a shipped order',
    actor: 'ada',
    operation: 'orders.cancel',
    given: movedTo('confirmed', 'shipped'),
    input: { id: fresh('adaOrder') },
    expect: { error: 'INVALID_STATE_TRANSITION', details: { current_status: 'shipped' } },
  },
  {
    name: 'refuses cancelling a delivered order, even for an administrator',
    actor: 'admin',
    operation: 'orders.cancel',
    given: movedTo('confirmed', 'shipped', 'delivered'),
    input: { id: fresh('adaOrder') },
    expect: { error: 'INVALID_STATE_TRANSITION', details: { current_status: 'delivered' } },
  },
  { name: "lets an administrator cancel anyone's order", actor: 'admin', operation: 'orders.cancel', input: { id: fresh('bobOrder') }, expect: { ok: { status: 'cancelled', user_id: ref('bob.id') } } },
  { name: 'needs orders:write for an API key to cancel', actor: 'adaReadOnlyKey', operation: 'orders.cancel', input: { id: fresh('adaOrder') }, expect: { error: 'INSUFFICIENT_SCOPE', details: { required_scope: 'orders:write' } } },
  { name: 'moves pending → confirmed', actor: 'admin', operation: 'orders.update', input: { id: fresh('adaOrder'), status: 'confirmed' }, expect: { ok: { status: 'confirmed' } } },
  { name: 'moves confirmed → shipped', actor: 'admin', operation: 'orders.update', given: movedTo('confirmed'), input: { id: fresh('adaOrder'), status: 'shipped' }, expect: { ok: { status: 'shipped' } } },
  {
    name: 'moves shipped → delivered',
    actor: 'admin',
    operation: 'orders.update',
    given: movedTo('confirmed', 'shipped'),
    input: { id: fresh('adaOrder'), status: 'delivered' },
    expect: { ok: { status: 'delivered' } },
  },
  ...(['shipped', 'delivered', 'pending', 'cancelled'] as const).map(
    (status): Case => ({
      name: `refuses pending → ${status}`,
      actor: 'admin',
      operation: 'orders.update',
      input: { id: fresh('adaOrder'), status },
      expect: { error: 'INVALID_STATE_TRANSITION', details: { current_status: 'pending' } },
    }),
  ),
  {
    name: 'refuses any move from delivered',
    actor: 'admin',
    operation: 'orders.update',
    given: movedTo('confirmed', 'shipped', 'delivered'),
    input: { id: fresh('adaOrder'), status: 'delivered' },
    expect: { error: 'INVALID_STATE_TRANSITION', details: { current_status: 'delivered' } },
  },
  {
    name: 'refuses any move from cancelled',
    actor: 'admin',
    operation: 'orders.update',
    given: [{ actor: 'ada', operation: 'orders.cancel', input: { id: fresh('adaOrder') } }],
    input: { id: fresh('adaOrder'), status: 'confirmed' },
    expect: { error: 'INVALID_STATE_TRANSITION', details: { current_status: 'cancelled' } },
  },
  {
    name: 'refuses a status that does not exist',
    actor: 'admin',
    operation: 'orders.update',
    input: { id: ref('adaOrder'), status: 'lost' },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'status', code: 'invalid_value' }] },
  },
  {
    name: 'forbids the owner to move its own order',
    actor: 'ada',
    operation: 'orders.update',
    input: { id: ref('adaOrder'), status: 'confirmed' },
    expect: { error: 'FORBIDDEN' },
    then: [{ actor: 'ada', operation: 'orders.get', input: { id: ref('adaOrder') }, expect: { ok: { status: 'pending' } } }],
  },
  { name: 'answers NOT_FOUND when moving an unknown order', actor: 'admin', operation: 'orders.update', input: { id: 'ord_00000000000000000000000000', status: 'confirmed' }, expect: { error: 'NOT_FOUND' } },
];

const listing: Case[] = [
  {
    name: "lists only the caller's own orders",
    actor: 'newcomer',
    operation: 'orders.list',
    given: [{ actor: 'newcomer', operation: 'orders.create', input: { items: [{ product_id: ref('product'), quantity: 1 }] } }],
    input: {},
    expect: { ok: [{ id: output(0, 'id'), user_id: ref('newcomer.id'), status: 'pending' }] },
  },
  { name: 'needs a caller to list orders', actor: 'anonymous', operation: 'orders.list', input: {}, expect: { error: 'UNAUTHENTICATED' } },
];

export const ORDERS: Table = { area: 'orders', cases: [...placing, ...validation, ...isolation, ...stateMachine, ...listing] };

import { fresh, matching, output, ref, sameAsGiven, type Case, type Table } from '../case.ts';

const CHARGE = { amount: 1999, currency: 'EUR', source: 'tok_visa' };
const charge = (fields: Record<string, unknown>) => ({ ...CHARGE, ...fields });

const creating: Case[] = [
  {
    name: 'creates a pending charge for the caller',
    actor: 'ada',
    operation: 'charges.create',
    input: charge({ amount: 500, description: 'coffee' }),
    expect: { ok: { id: matching(/^ch_/), user_id: ref('ada.id'), order_id: null, amount: 500, currency: 'EUR', source: 'tok_visa', description: 'coffee', status: 'pending', failure_code: null } },
  },
  { name: "pays the caller's own order", actor: 'ada', operation: 'charges.create', input: charge({ amount: 500, order_id: fresh('adaOrder') }), expect: { ok: { order_id: fresh('adaOrder'), user_id: ref('ada.id') } } },
  { name: 'charges as the owner of a key with charges:write', actor: 'adaKey', operation: 'charges.create', input: CHARGE, expect: { ok: { user_id: ref('ada.id') } } },
  {
    name: 'lists every missing field at once',
    actor: 'ada',
    operation: 'charges.create',
    input: {},
    expect: {
      error: 'VALIDATION_FAILED',
      fields: [
        { field: 'amount', code: 'required' },
        { field: 'currency', code: 'required' },
        { field: 'source', code: 'required' },
      ],
    },
  },
];

/** One field of a valid charge changed: [what, fields, field, code]. */
const invalid: Array<[string, Record<string, unknown>, string, string]> = [
  ['an amount of 0', { amount: 0 }, 'amount', 'out_of_range'],
  ['a negative amount', { amount: -5 }, 'amount', 'out_of_range'],
  ['an amount over the maximum', { amount: 10_000_000_001 }, 'amount', 'out_of_range'],
  ['a fractional amount', { amount: 1.5 }, 'amount', 'invalid_type'],
  ['an amount given as a string', { amount: '5' }, 'amount', 'invalid_type'],
  ['a currency that does not exist', { currency: 'ZZZ' }, 'currency', 'invalid_value'],
  ['a two-letter currency', { currency: 'EU' }, 'currency', 'too_short'],
  ['an empty source', { source: '' }, 'source', 'too_short'],
  ['a source over 255 characters', { source: 't'.repeat(300) }, 'source', 'too_long'],
  ['a description over 1000 characters', { description: 'd'.repeat(1001) }, 'description', 'too_long'],
  ['an unknown field', { tip: 1 }, 'tip', 'unknown_field'],
];

const validation: Case[] = invalid.map(([what, fields, field, code]) => ({
  name: `refuses ${what}`,
  actor: 'ada',
  operation: 'charges.create',
  input: charge(fields),
  expect: { error: 'VALIDATION_FAILED', fields: [{ field, code }] },
}));

const ownership: Case[] = [
  {
    name: "refuses paying another user's order as if it did not exist",
    actor: 'bob',
    operation: 'charges.create',
    input: charge({ order_id: ref('adaOrder') }),
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'order_id', code: 'not_found' }] },
  },
  {
    name: 'refuses paying an unknown order',
    actor: 'ada',
    operation: 'charges.create',
    input: charge({ order_id: 'ord_00000000000000000000000000' }),
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'order_id', code: 'not_found' }] },
  },
  {
    name: 'refuses paying a cancelled order',
    actor: 'ada',
    operation: 'charges.create',
    given: [{ actor: 'ada', operation: 'orders.cancel', input: { id: fresh('adaOrder') } }],
    input: charge({ order_id: fresh('adaOrder') }),
    expect: { error: 'INVALID_STATE_TRANSITION', details: { current_status: 'cancelled' } },
  },
  { name: 'needs a caller to charge', actor: 'anonymous', operation: 'charges.create', input: CHARGE, expect: { error: 'UNAUTHENTICATED' } },
  { name: 'needs charges:write for an API key to charge', actor: 'adaReadOnlyKey', operation: 'charges.create', input: CHARGE, expect: { error: 'INSUFFICIENT_SCOPE', details: { required_scope: 'charges:write' } } },
  { name: 'shows the owner its charge', actor: 'ada', operation: 'charges.get', input: { id: ref('adaCharge') }, expect: { ok: { id: ref('adaCharge'), user_id: ref('ada.id'), amount: 700 } } },
  { name: 'lets an administrator read any charge', actor: 'admin', operation: 'charges.get', input: { id: ref('adaCharge') }, expect: { ok: { id: ref('adaCharge') } } },
  { name: "answers NOT_FOUND for another user's charge", actor: 'bob', operation: 'charges.get', input: { id: ref('adaCharge') }, expect: { error: 'NOT_FOUND' } },
  {
    name: "lists only the caller's own charges",
    actor: 'newcomer',
    operation: 'charges.list',
    given: [{ actor: 'newcomer', operation: 'charges.create', input: CHARGE }],
    expect: { ok: [{ id: output(0, 'id'), user_id: ref('newcomer.id') }] },
  },
];

const idempotency: Case[] = [
  {
    name: 'the same key and request twice make one charge: the second answer is the first',
    actor: 'newcomer',
    operation: 'charges.create',
    given: [{ actor: 'newcomer', operation: 'charges.create', input: CHARGE, idempotencyKey: 'k' }],
    // The same request, its fields in another order.
    input: { source: 'tok_visa', currency: 'EUR', amount: 1999 },
    idempotencyKey: 'k',
    expect: { ok: { id: sameAsGiven(0, 'id'), created_at: sameAsGiven(0, 'created_at'), status: 'pending' } },
    then: [{ actor: 'newcomer', operation: 'charges.list', expect: { ok: [{ id: output(0, 'id') }] } }],
  },
  {
    name: 'the same key with another request is IDEMPOTENCY_KEY_REUSED, and the first charge stands alone',
    actor: 'newcomer',
    operation: 'charges.create',
    given: [{ actor: 'newcomer', operation: 'charges.create', input: CHARGE, idempotencyKey: 'k' }],
    input: charge({ amount: 2000 }),
    idempotencyKey: 'k',
    expect: { error: 'IDEMPOTENCY_KEY_REUSED' },
    then: [{ actor: 'newcomer', operation: 'charges.list', expect: { ok: [{ id: output(0, 'id'), amount: 1999 }] } }],
  },
  {
    name: 'the same key on another operation is IDEMPOTENCY_KEY_REUSED',
    actor: 'newcomer',
    operation: 'orders.create',
    given: [{ actor: 'newcomer', operation: 'charges.create', input: CHARGE, idempotencyKey: 'k' }],
    input: { items: [{ product_id: ref('product'), quantity: 1 }] },
    idempotencyKey: 'k',
    expect: { error: 'IDEMPOTENCY_KEY_REUSED' },
  },
  {
    name: 'keys belong to their principal: two users may use the same key',
    actor: 'newcomer',
    operation: 'charges.create',
    given: [{ actor: 'bob', operation: 'charges.create', input: CHARGE, idempotencyKey: 'k' }],
    input: CHARGE,
    idempotencyKey: 'k',
    expect: { ok: { id: (id, ctx) => typeof id === 'string' && id !== (ctx.given[0] as { id: string }).id, user_id: ref('newcomer.id') } },
  },
  {
    name: 'a request refused by validation leaves its key unused',
    actor: 'newcomer',
    operation: 'charges.create',
    given: [{ actor: 'newcomer', operation: 'charges.create', input: charge({ amount: -5 }), idempotencyKey: 'k', expect: { error: 'VALIDATION_FAILED' } }],
    input: CHARGE,
    idempotencyKey: 'k',
    expect: { ok: { amount: 1999, order_id: null, description: null } },
  },
];

export const CHARGES: Table = { area: 'charges', cases: [...creating, ...validation, ...ownership, ...idempotency] };

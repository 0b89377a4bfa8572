import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PLACE_ORDER, type NewOrder, type OrderWithItems, type OrdersService } from '../src/domain/orders/index.ts';
import { AppError } from '../src/domain/shared/errors.ts';
import type { Principal } from '../src/domain/shared/principal.ts';
import {
  keyError,
  operationFingerprint,
  runIdempotent,
  type IdempotencyContext,
  type IdempotentRenderer,
  type Json,
} from '../src/platform/idempotency/index.ts';
import { presentOrder } from '../src/transports/rest/schemas/orders.ts';
import { createTestApp, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

/** What the double answers, shaped like a GraphQL response. */
type Payload = { data: { createOrder: { id: string; status: string; total: number } } | null; errors?: Array<{ message: string; extensions: { code: string } }> };

/**
 * A second transport, as a test double: the GraphQL `createOrder` mutation as
 * a resolver would write it over the same core — the key from an argument,
 * the operation's domain input, `runIdempotent`, and its own rendering.
 */
function createOrderMutation(deps: { orders: OrdersService; idempotency: IdempotencyContext }) {
  const fromResource = (order: { id: string; status: string; total: number }): Payload => ({ data: { createOrder: { id: order.id, status: order.status, total: order.total } } });
  const fromError = (code: string, message: string): Payload => ({ data: null, errors: [{ message, extensions: { code } }] });
  const renderer: IdempotentRenderer<OrderWithItems, Payload> = {
    transport: 'graphql-double',
    settle(outcome) {
      if (outcome.ok) {
        // Resolvers present a resource with its one presenter (the API's field names), which is what every transport reads back.
        const value = JSON.parse(JSON.stringify(presentOrder(outcome.value))) as Json;
        return { outcome: { ok: true, value }, rendering: fromResource(outcome.value) };
      }
      const error = outcome.error instanceof AppError ? outcome.error : new AppError('INTERNAL_ERROR');
      return { outcome: { ok: false, error: { code: error.code, message: error.message } }, rendering: fromError(error.code, error.message) };
    },
    replay(outcome) {
      if (!outcome.ok) return fromError(outcome.error.code, outcome.error.message);
      return fromResource(outcome.value as { id: string; status: string; total: number });
    },
  };

  return async (principal: Principal, args: { idempotencyKey?: string; input: NewOrder }): Promise<Payload & { replayed: boolean }> => {
    try {
      const invalid = keyError(PLACE_ORDER, args.idempotencyKey, { call: 'mutation createOrder', field: 'idempotencyKey', noun: 'idempotencyKey argument' });
      if (invalid) throw invalid;
      const claim = { principal: principal.userId, key: args.idempotencyKey!, operation: PLACE_ORDER.name, fingerprint: operationFingerprint(PLACE_ORDER.name, args.input) };
      const result = await runIdempotent(deps.idempotency, claim, () => deps.orders.place(principal, args.input), renderer);
      return { ...result.rendering, replayed: result.kind === 'replayed' };
    } catch (error) {
      if (error instanceof AppError) return { ...fromError(error.code, error.message), replayed: false };
      throw error;
    }
  };
}

describe('one Idempotency-Key across transports (REST and a second adapter over the same core)', () => {
  let t: TestApp;
  let admin: SignedUp;
  let createOrder: ReturnType<typeof createOrderMutation>;
  before(async () => {
    t = await createTestApp();
    admin = await signUpAdmin(t);
    createOrder = createOrderMutation({ orders: t.container.orders, idempotency: t.container.idempotency });
  });
  after(() => t.close());

  const principalOf = async (user: SignedUp): Promise<Principal> => (await t.container.authenticator.authenticate({ authorization: user.auth.authorization }))!;
  const createProduct = async (stock: number): Promise<string> => {
    const res = await t.app.inject({ method: 'POST', url: '/v2/products', headers: admin.auth, payload: { name: 'Across', category: 'idem', price: 700, currency: 'EUR', stock } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().data.id;
  };
  const restOrder = (user: SignedUp, key: string, product: string, quantity: number, version = 'v1') =>
    t.app.inject({ method: 'POST', url: `/${version}/orders`, headers: { ...user.auth, 'idempotency-key': key }, payload: { items: [{ product_id: product, quantity }] } });
  const ordersOf = async (userId: string) =>
    Number((await t.container.database.db.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n);
  const stockOf = async (id: string) => (await t.container.database.db.selectFrom('products').select('stock').where('id', '=', id).executeTakeFirstOrThrow()).stock;

  it('a key first used by POST /v1/orders and then by createOrder with the same input creates one order', async () => {
    const user = await signUp(t.app);
    const product = await createProduct(5);
    const key = randomUUID();
    const rest = await restOrder(user, key, product, 2);
    assert.equal(rest.statusCode, 201, rest.body);

    const mutation = await createOrder(await principalOf(user), { idempotencyKey: key, input: { items: [{ product_id: product, quantity: 2 }] } });
    assert.equal(mutation.errors, undefined, JSON.stringify(mutation.errors));
    assert.ok(mutation.replayed);
    assert.equal(mutation.data?.createOrder.id, rest.json().data.id);
    assert.equal(mutation.data?.createOrder.total, 1400);
    assert.equal(await ordersOf(user.id), 1);
    assert.equal(await stockOf(product), 3);
  });

  it('the same key with another input on the second transport answers IDEMPOTENCY_KEY_REUSED and orders nothing', async () => {
    const user = await signUp(t.app);
    const product = await createProduct(5);
    const key = randomUUID();
    assert.equal((await restOrder(user, key, product, 2)).statusCode, 201);

    const mutation = await createOrder(await principalOf(user), { idempotencyKey: key, input: { items: [{ product_id: product, quantity: 3 }] } });
    assert.equal(mutation.data, null);
    assert.equal(mutation.errors?.[0]?.extensions.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(await ordersOf(user.id), 1);
    assert.equal(await stockOf(product), 3);
  });

  it('a key first used by createOrder is replayed by POST /v2/orders as REST renders the order (201, Location, Idempotent-Replayed)', async () => {
    const user = await signUp(t.app);
    const product = await createProduct(5);
    const key = randomUUID();
    const mutation = await createOrder(await principalOf(user), { idempotencyKey: key, input: { items: [{ product_id: product, quantity: 1 }] } });
    assert.ok(mutation.data, JSON.stringify(mutation.errors));
    assert.ok(!mutation.replayed);
    const id = mutation.data.createOrder.id;

    const rest = await restOrder(user, key, product, 1, 'v2');
    assert.equal(rest.statusCode, 201, rest.body);
    assert.equal(rest.headers['idempotent-replayed'], 'true');
    assert.equal(rest.json().data.id, id);
    assert.equal(rest.json().data.status, 'pending');
    assert.equal(rest.headers.location, `/v2/orders/${id}`);
    // A different body on REST is the same refusal.
    const other = await restOrder(user, key, product, 4, 'v2');
    assert.equal(other.statusCode, 422);
    assert.equal(problemOf(other).code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(await ordersOf(user.id), 1);
    assert.equal(await stockOf(product), 4);
  });

  it('a refusal recorded by createOrder (OUT_OF_STOCK) is replayed by REST as its problem, without ordering', async () => {
    const user = await signUp(t.app);
    const product = await createProduct(1);
    const key = randomUUID();
    const mutation = await createOrder(await principalOf(user), { idempotencyKey: key, input: { items: [{ product_id: product, quantity: 5 }] } });
    assert.equal(mutation.errors?.[0]?.extensions.code, 'OUT_OF_STOCK');
    await t.app.inject({ method: 'PATCH', url: `/v2/products/${product}`, headers: admin.auth, payload: { stock: 50 } });

    const rest = await restOrder(user, key, product, 5);
    assert.equal(rest.statusCode, 409, rest.body);
    assert.equal(rest.headers['idempotent-replayed'], 'true');
    assert.equal(problemOf(rest).code, 'OUT_OF_STOCK');
    assert.equal(await ordersOf(user.id), 0);
    assert.equal(await stockOf(product), 50);
  });

  it('the version prefix is not part of the operation: POST /v1/orders then /v2/orders with one key and body is one order', async () => {
    const user = await signUp(t.app);
    const product = await createProduct(5);
    const key = randomUUID();
    const first = await restOrder(user, key, product, 1, 'v1');
    assert.equal(first.statusCode, 201, first.body);
    const second = await restOrder(user, key, product, 1, 'v2');
    assert.equal(second.statusCode, 201, second.body);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(second.json().data.id, first.json().data.id);
    assert.equal(await ordersOf(user.id), 1);
  });

  it('the second transport refuses a call without a key where the operation requires one', async () => {
    const user = await signUp(t.app);
    const product = await createProduct(5);
    const mutation = await createOrder(await principalOf(user), { input: { items: [{ product_id: product, quantity: 1 }] } });
    assert.equal(mutation.errors?.[0]?.extensions.code, 'IDEMPOTENCY_KEY_REQUIRED');
    assert.equal(await ordersOf(user.id), 0);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';
import { world, type ProductFields, type World } from './helpers/world.ts';
import { comesAfter } from '../src/domain/orders/index.ts';

type Json = Record<string, unknown>;
/** POST /v1/orders requires an Idempotency-Key: a fresh one per order. */
const withKey = (headers: Record<string, string>) => ({ ...headers, 'idempotency-key': randomUUID() });
interface ItemJson {
  id: string;
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price: number;
  total: number;
  currency: string;
  product?: Json | null;
  links: Record<string, string>;
}
interface OrderJson {
  id: string;
  user_id: string;
  status: string;
  total: number;
  currency: string;
  items?: ItemJson[];
  user?: Json | null;
  links: Record<string, string>;
}

describe('orders', () => {
  let w: World;
  let t: TestApp;
  let ada: SignedUp;
  let bob: SignedUp;
  let admin: SignedUp;
  before(async () => {
    w = await world();
    ({ t, ada, bob, admin } = w);
  });
  after(() => w.close());

  const createProduct = (fields: ProductFields = {}): Promise<string> => w.product(fields);
  const stockOf = async (id: string): Promise<number> =>
    (await t.container.database.db.selectFrom('products').select('stock').where('id', '=', id).executeTakeFirstOrThrow()).stock;
  const placeRaw = (who: SignedUp | Record<string, string>, items: unknown) =>
    t.app.inject({ method: 'POST', url: '/v1/orders', headers: withKey('auth' in who ? (who as SignedUp).auth : who), payload: { items } });
  const place = async (who: SignedUp, items: Array<{ product_id: string; quantity: number }>): Promise<OrderJson> => {
    const res = await placeRaw(who, items);
    assert.equal(res.statusCode, 201, res.body);
    return res.json().data;
  };
  const get = (who: SignedUp, url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers: { ...who.auth, ...headers } });
  const patch = (who: SignedUp, id: string, status: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'PATCH', url: `/v1/orders/${id}`, headers: { ...who.auth, ...headers }, payload: { status } });
  const cancel = (who: SignedUp, id: string) => t.app.inject({ method: 'POST', url: `/v1/orders/${id}/cancel`, headers: who.auth });
  const fieldsOf = (res: LightMyRequestResponse) => (problemOf(res).errors as Array<{ field: string }>).map((e) => e.field);
  const ordersOfUser = async (userId: string) =>
    (await t.container.database.db.selectFrom('orders').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n;
  const makeKey = (who: SignedUp, scopes: string[]) => w.apiKey(who, scopes);

  describe('POST /v1/orders', () => {
    it('places an order: 201, Location, pending, prices and totals computed on the server, stock taken', async () => {
      const mug = await createProduct({ price: 1250, stock: 5 });
      const pen = await createProduct({ price: 199, stock: 10 });
      const res = await placeRaw(ada, [
        { product_id: mug, quantity: 2 },
        { product_id: pen, quantity: 3 },
      ]);
      assert.equal(res.statusCode, 201, res.body);
      const order = res.json().data as OrderJson;
      assert.match(order.id, /^ord_[0-9a-z]{26}$/);
      assert.equal(res.headers.location, `/v1/orders/${order.id}`);
      assert.match(res.headers.etag as string, /^"\d+"$/);
      assert.equal(order.status, 'pending');
      assert.equal(order.user_id, ada.id);
      assert.equal(order.currency, 'EUR');
      assert.equal(order.total, 2 * 1250 + 3 * 199);
      assert.equal(order.items!.length, 2);
      const [first, second] = order.items!;
      assert.match(first!.id, /^itm_[0-9a-z]{26}$/);
      assert.deepEqual([first!.product_id, first!.quantity, first!.unit_price, first!.total, first!.currency], [mug, 2, 1250, 2500, 'EUR']);
      assert.deepEqual([second!.product_id, second!.quantity, second!.unit_price, second!.total], [pen, 3, 199, 597]);
      assert.equal(first!.links.self, `/v1/order-items/${first!.id}`);
      assert.deepEqual(order.links, { self: `/v1/orders/${order.id}`, items: `/v1/orders/${order.id}/items`, user: `/v1/users/${ada.id}`, cancel: `/v1/orders/${order.id}/cancel` });
      assert.equal(await stockOf(mug), 3);
      assert.equal(await stockOf(pen), 7);
    });

    it('merges the same product listed twice into one item', async () => {
      const id = await createProduct({ price: 100, stock: 5 });
      const order = await place(ada, [
        { product_id: id, quantity: 1 },
        { product_id: id, quantity: 2 },
      ]);
      assert.equal(order.items!.length, 1);
      assert.equal(order.items![0]!.quantity, 3);
      assert.equal(order.total, 300);
      assert.equal(await stockOf(id), 2);
    });

    it('answers 409 OUT_OF_STOCK naming the failing items, and rolls everything back', async () => {
      const plenty = await createProduct({ stock: 10 });
      const scarce = await createProduct({ stock: 1 });
      const alsoScarce = await createProduct({ stock: 0 });
      const orders = await ordersOfUser(bob.id);
      const events = (await get(bob, '/v1/events?type=order.*&limit=100')).json().data.length;
      const res = await placeRaw(bob, [
        { product_id: plenty, quantity: 4 },
        { product_id: scarce, quantity: 2 },
        { product_id: alsoScarce, quantity: 1 },
      ]);
      assert.equal(res.statusCode, 409);
      const problem = problemOf(res);
      assert.equal(problem.code, 'OUT_OF_STOCK');
      assert.deepEqual(fieldsOf(res), ['items.1.product_id', 'items.2.product_id']);
      assert.match((problem.errors as Array<{ message: string }>)[0]!.message, /2 requested, 1 in stock/);
      assert.equal(await stockOf(plenty), 10, 'the stock already taken for the first item is back');
      assert.equal(await stockOf(scarce), 1);
      assert.equal(await ordersOfUser(bob.id), orders, 'no partial order');
      assert.equal(await t.container.database.db.selectFrom('order_items').select('id').where('product_id', '=', plenty).execute().then((r) => r.length), 0);
      assert.equal((await get(bob, '/v1/events?type=order.*&limit=100')).json().data.length, events, 'no event');
    });

    it('names every index of a merged product that is out of stock', async () => {
      const id = await createProduct({ stock: 2 });
      const res = await placeRaw(bob, [
        { product_id: id, quantity: 1 },
        { product_id: id, quantity: 2 },
      ]);
      assert.equal(res.statusCode, 409);
      assert.deepEqual(fieldsOf(res), ['items.0.product_id', 'items.1.product_id']);
    });

    it('never oversells: of 20 concurrent orders for a product with stock 5, exactly 5 succeed', async () => {
      const id = await createProduct({ stock: 5 });
      const buyers = [ada, bob];
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => placeRaw(buyers[i % 2]!, [{ product_id: id, quantity: 1 }])));
      const statuses = results.map((r) => r.statusCode);
      assert.equal(statuses.filter((s) => s === 201).length, 5, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 409).length, 15, statuses.join(','));
      for (const res of results.filter((r) => r.statusCode === 409)) assert.equal(problemOf(res).code, 'OUT_OF_STOCK');
      assert.equal(await stockOf(id), 0);
      const items = await t.container.database.db.selectFrom('order_items').select(['quantity']).where('product_id', '=', id).execute();
      assert.equal(items.length, 5);
    });

    it('concurrent orders over overlapping products in opposite order neither deadlock nor oversell', async () => {
      const a = await createProduct({ stock: 6 });
      const b = await createProduct({ stock: 6 });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          placeRaw(i % 2 ? ada : bob, i % 2 ? [{ product_id: a, quantity: 1 }, { product_id: b, quantity: 1 }] : [{ product_id: b, quantity: 1 }, { product_id: a, quantity: 1 }]),
        ),
      );
      assert.equal(results.filter((r) => r.statusCode === 201).length, 6, results.map((r) => r.statusCode).join(','));
      assert.ok(results.every((r) => r.statusCode === 201 || r.statusCode === 409));
      assert.equal(await stockOf(a), 0);
      assert.equal(await stockOf(b), 0);
    });

    it('answers 422 VALIDATION_FAILED naming an unknown, malformed or deleted product', async () => {
      const gone = await createProduct();
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/products/${gone}`, headers: admin.auth })).statusCode, 204);
      const real = await createProduct({ stock: 3 });
      const res = await placeRaw(ada, [
        { product_id: real, quantity: 1 },
        { product_id: 'prd_00000000000000000000000000', quantity: 1 },
        { product_id: "prd_x' OR '1'='1", quantity: 1 },
        { product_id: gone, quantity: 1 },
      ]);
      assert.equal(res.statusCode, 422);
      assert.equal(problemOf(res).code, 'VALIDATION_FAILED');
      assert.deepEqual(fieldsOf(res), ['items.1.product_id', 'items.2.product_id', 'items.3.product_id']);
      assert.equal(await stockOf(real), 3);
    });

    it('answers 422 when the items are priced in different currencies', async () => {
      const eur = await createProduct({ currency: 'EUR' });
      const usd = await createProduct({ currency: 'USD' });
      const res = await placeRaw(ada, [
        { product_id: eur, quantity: 1 },
        { product_id: usd, quantity: 1 },
      ]);
      assert.equal(res.statusCode, 422);
      assert.deepEqual(fieldsOf(res), ['items.1.product_id']);
      assert.equal(await stockOf(eur), 10);
      assert.equal(await stockOf(usd), 10);
    });

    const badBodies: Array<[string, unknown, string[]]> = [
      ['no items', [], ['items']],
      ['a quantity of 0', [{ product_id: 'prd_00000000000000000000000000', quantity: 0 }], ['items.0.quantity']],
      ['a negative quantity', [{ product_id: 'prd_00000000000000000000000000', quantity: -1 }], ['items.0.quantity']],
      ['a fractional quantity', [{ product_id: 'prd_00000000000000000000000000', quantity: 1.5 }], ['items.0.quantity']],
      ['a quantity given as a string', [{ product_id: 'prd_00000000000000000000000000', quantity: '2' }], ['items.0.quantity']],
      ['a huge quantity', [{ product_id: 'prd_00000000000000000000000000', quantity: 1_000_001 }], ['items.0.quantity']],
      ['a client-supplied price', [{ product_id: 'prd_00000000000000000000000000', quantity: 1, unit_price: 1 }], ['items.0.unit_price']],
      ['a missing product_id', [{ quantity: 1 }], ['items.0.product_id']],
      ['an oversized product_id', [{ product_id: 'p'.repeat(500), quantity: 1 }], ['items.0.product_id']],
      ['items that are not an array', 'all of them', ['items']],
      ['too many items', Array.from({ length: 51 }, () => ({ product_id: 'prd_00000000000000000000000000', quantity: 1 })), ['items']],
    ];
    for (const [name, items, fields] of badBodies) {
      it(`answers 422 for ${name}`, async () => {
        const res = await placeRaw(ada, items);
        assert.equal(res.statusCode, 422, res.body);
        assert.deepEqual([...new Set(fieldsOf(res))], fields);
      });
    }

    it('answers 401 without credentials and 403 INSUFFICIENT_SCOPE for an API key without orders:write', async () => {
      const id = await createProduct({ stock: 5 });
      const anonymous = await t.app.inject({ method: 'POST', url: '/v1/orders', headers: withKey({}), payload: { items: [{ product_id: id, quantity: 1 }] } });
      assert.equal(anonymous.statusCode, 401);
      const readOnly = await placeRaw(await makeKey(ada, ['orders:read']), [{ product_id: id, quantity: 1 }]);
      assert.equal(readOnly.statusCode, 403);
      assert.equal(problemOf(readOnly).code, 'INSUFFICIENT_SCOPE');
      assert.equal(await stockOf(id), 5);
      const writer = await placeRaw(await makeKey(ada, ['orders:write']), [{ product_id: id, quantity: 1 }]);
      assert.equal(writer.statusCode, 201);
      assert.equal(writer.json().data.user_id, ada.id);
    });
  });

  describe('GET /v1/orders/{id}', () => {
    let order: OrderJson;
    before(async () => {
      order = await place(ada, [{ product_id: await createProduct(), quantity: 1 }]);
    });

    it('shows the owner its order with the items', async () => {
      const res = await get(ada, `/v1/orders/${order.id}`);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json().data, order);
      assert.equal(res.headers['cache-control'], 'private, no-cache');
    });

    it("answers 404 NOT_FOUND for another user's order, exactly as for an unknown one", async () => {
      const theirs = await get(bob, `/v1/orders/${order.id}`);
      assert.equal(theirs.statusCode, 404);
      assert.equal(problemOf(theirs).code, 'NOT_FOUND');
      const unknown = await get(bob, '/v1/orders/ord_00000000000000000000000000');
      assert.equal(unknown.statusCode, 404);
      assert.equal(problemOf(theirs).detail, problemOf(unknown).detail);
      for (const path of ['items', 'cancel']) {
        const res = path === 'cancel' ? await cancel(bob, order.id) : await get(bob, `/v1/orders/${order.id}/${path}`);
        assert.equal(res.statusCode, 404, path);
      }
    });

    it('lets an admin read any order', async () => {
      const res = await get(admin, `/v1/orders/${order.id}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().data.user_id, ada.id);
    });

    it('answers 401 without credentials, 404 for malformed or SQL ids and 400 for oversized ones', async () => {
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/orders/${order.id}` })).statusCode, 401);
      for (const id of ['nope', "ord_1' OR '1'='1", order.id.toUpperCase()]) assert.equal((await get(ada, `/v1/orders/${encodeURIComponent(id)}`)).statusCode, 404, id);
      assert.equal((await get(ada, `/v1/orders/${'o'.repeat(65)}`)).statusCode, 400);
    });

    it('carries an ETag and Last-Modified; If-None-Match answers 304', async () => {
      const res = await get(ada, `/v1/orders/${order.id}`);
      assert.equal(res.headers.etag, '"1"');
      assert.ok(res.headers['last-modified']);
      const again = await get(ada, `/v1/orders/${order.id}`, { 'if-none-match': res.headers.etag as string });
      assert.equal(again.statusCode, 304);
      assert.equal(again.body, '');
    });

    it('needs orders:read for an API key', async () => {
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/orders/${order.id}`, headers: await makeKey(ada, ['posts:read']) })).statusCode, 403);
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/orders/${order.id}`, headers: await makeKey(ada, ['orders:read']) })).statusCode, 200);
    });
  });

  describe('GET /v1/orders', () => {
    let carol: SignedUp;
    let dave: SignedUp;
    let carolOrders: OrderJson[];
    let daveOrder: OrderJson;
    before(async () => {
      carol = await signUp(t.app, { name: 'Carol' });
      dave = await signUp(t.app, { name: 'Dave' });
      const cheap = await createProduct({ price: 100, stock: 100 });
      const dear = await createProduct({ price: 10_000, stock: 100 });
      carolOrders = [];
      for (const quantity of [1, 2, 3]) carolOrders.push(await place(carol, [{ product_id: cheap, quantity }]));
      carolOrders.push(await place(carol, [{ product_id: dear, quantity: 1 }, { product_id: cheap, quantity: 1 }]));
      assert.equal((await cancel(carol, carolOrders[0]!.id)).statusCode, 200);
      daveOrder = await place(dave, [{ product_id: cheap, quantity: 5 }]);
    });
    const idsOf = (res: LightMyRequestResponse) => (res.json().data as OrderJson[]).map((o) => o.id);

    it("lists only the caller's own orders, newest first", async () => {
      const res = await get(carol, '/v1/orders');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(idsOf(res), carolOrders.map((o) => o.id).reverse());
      assert.ok(!idsOf(await get(dave, '/v1/orders')).some((id) => carolOrders.some((o) => o.id === id)));
      assert.deepEqual(idsOf(await get(dave, '/v1/orders')), [daveOrder.id]);
    });

    it('lists every order for an admin', async () => {
      const ids = idsOf(await get(admin, '/v1/orders?limit=100'));
      for (const o of [...carolOrders, daveOrder]) assert.ok(ids.includes(o.id));
    });

    it('filters by status (comma list), total range and creation time', async () => {
      assert.deepEqual(idsOf(await get(carol, '/v1/orders?status=cancelled')), [carolOrders[0]!.id]);
      assert.deepEqual(new Set(idsOf(await get(carol, '/v1/orders?status=pending,cancelled'))), new Set(carolOrders.map((o) => o.id)));
      assert.deepEqual(idsOf(await get(carol, '/v1/orders?total_min=200&total_max=300&sort=total')), [carolOrders[1]!.id, carolOrders[2]!.id]);
      assert.deepEqual(idsOf(await get(carol, '/v1/orders?total_min=10000')), [carolOrders[3]!.id]);
      const after = encodeURIComponent(new Date(Date.now() - 60_000).toISOString());
      const before = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
      assert.equal(idsOf(await get(carol, `/v1/orders?created_after=${after}&created_before=${before}`)).length, 4);
      assert.equal(idsOf(await get(carol, `/v1/orders?created_after=${before}`)).length, 0);
    });

    it('sorts by total and -total; walks every order once by cursor', async () => {
      const totals = (await get(carol, '/v1/orders?sort=-total')).json().data.map((o: OrderJson) => o.total);
      assert.deepEqual(totals, [...totals].sort((a, b) => b - a));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: LightMyRequestResponse = await get(carol, `/v1/orders?sort=total&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        seen.push(...idsOf(res));
        cursor = res.json().pagination.next_cursor;
      } while (cursor);
      assert.equal(seen.length, 4);
      assert.equal(new Set(seen).size, 4);
    });

    it("a cursor minted for one user's list shows nothing of it to another user", async () => {
      const cursor = (await get(carol, '/v1/orders?limit=1')).json().pagination.next_cursor as string;
      const res = await get(dave, `/v1/orders?limit=1&cursor=${encodeURIComponent(cursor)}`);
      assert.ok(res.statusCode === 400 || !idsOf(res).some((id) => carolOrders.some((o) => o.id === id)));
    });

    it('refuses tampered cursors with 400 INVALID_CURSOR', async () => {
      const cursor = (await get(carol, '/v1/orders?limit=1')).json().pagination.next_cursor as string;
      const [payload, mac] = cursor.split('.') as [string, string];
      const forged = Buffer.from(JSON.stringify({ d: 'n', v: ['2999-01-01T00:00:00Z'], i: 'ord_zzzz' })).toString('base64url');
      for (const bad of [`${forged}.${mac}`, `${payload}.AAAA${mac.slice(4)}`, 'x', '..']) {
        const res = await get(carol, `/v1/orders?limit=1&cursor=${encodeURIComponent(bad)}`);
        assert.equal(res.statusCode, 400, bad);
        assert.equal(problemOf(res).code, 'INVALID_CURSOR');
      }
    });

    it('answers 400 for unknown statuses, malformed filters and unknown parameters; 422 for inverted ranges', async () => {
      for (const [query, code] of [
        ['status=lost', 'INVALID_PARAMETER'],
        ['status=pending,', 'INVALID_PARAMETER'],
        ["status=pending' OR '1'='1", 'INVALID_PARAMETER'],
        ['total_min=-5', 'INVALID_PARAMETER'],
        ['total_max=lots', 'INVALID_PARAMETER'],
        ['created_after=yesterday', 'INVALID_PARAMETER'],
        ['user_id=x', 'UNKNOWN_PARAMETER'],
        ['sort=status', 'INVALID_PARAMETER'],
        ['include=payments', 'INVALID_PARAMETER'],
        ['include=items.product.owner', 'INVALID_PARAMETER'],
      ] as const) {
        const res = await get(carol, `/v1/orders?${query}`);
        assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
        assert.equal(problemOf(res).code, code, query);
      }
      // Reversed ranges select nothing: an empty page, not a refusal the document could not describe.
      const inverted = await get(carol, '/v1/orders?total_min=500&total_max=100');
      assert.deepEqual([inverted.statusCode, inverted.json().data], [200, []]);
      const times = await get(carol, `/v1/orders?created_after=2030-01-01T00:00:00Z&created_before=2020-01-01T00:00:00Z`);
      assert.deepEqual([times.statusCode, times.json().data], [200, []]);
    });

    it('SQL metacharacters and very long strings in any parameter never cause a 5xx', async () => {
      const nasty = ["'", "'; DROP TABLE orders; --", '\\', '%', '😀', 'x'.repeat(5_000)];
      for (const value of nasty) {
        for (const param of ['status', 'total_min', 'created_after', 'sort', 'fields', 'include', 'cursor']) {
          const res = await get(carol, `/v1/orders?${param}=${encodeURIComponent(value)}`);
          assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${param}=${value.slice(0, 20)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
        }
      }
    });

    it('include=items,items.product embeds the items and their products with one query per relation', async () => {
      const res = await get(carol, '/v1/orders?include=items.product');
      assert.equal(res.statusCode, 200, res.body);
      const orders = res.json().data as OrderJson[];
      const withTwo = orders.find((o) => o.id === carolOrders[3]!.id)!;
      assert.equal(withTwo.items!.length, 2);
      for (const item of withTwo.items!) {
        assert.equal(item.order_id, withTwo.id);
        assert.equal((item.product as { id: string }).id, item.product_id);
        assert.equal((item.product as { price: number }).price, item.unit_price);
      }
      // One query per relation per page, whatever the page size.
      const cost = async (limit: number) => {
        const start = t.queries();
        const page = await get(admin, `/v1/orders?include=items.product,user&limit=${limit}`);
        assert.equal(page.statusCode, 200);
        return t.queries() - start;
      };
      const small = await cost(1);
      const large = await cost(20);
      assert.equal(large, small, `${small} queries for one order, ${large} for twenty`);
      assert.ok(large <= 6, `${large} queries`);
    });

    it('include=user embeds the owner; fields narrow the includes', async () => {
      const res = await get(carol, '/v1/orders?include=user,items&fields=id,user,items.quantity');
      assert.equal(res.statusCode, 200, res.body);
      for (const order of res.json().data as OrderJson[]) {
        assert.deepEqual(Object.keys(order).sort(), ['id', 'items', 'user']);
        assert.equal((order.user as { id: string }).id, carol.id);
        for (const item of order.items!) assert.deepEqual(Object.keys(item), ['quantity']);
      }
    });

    it("never leaks another user's items through includes", async () => {
      const res = await get(dave, '/v1/orders?include=items.product&limit=100');
      const body = res.body;
      for (const o of carolOrders) {
        assert.ok(!body.includes(o.id));
        for (const item of o.items!) assert.ok(!body.includes(item.id));
      }
      assert.equal((res.json().data as OrderJson[])[0]!.items!.length, 1);
    });

    it('Accept: text/csv streams the list as CSV', async () => {
      const res = await get(carol, '/v1/orders?fields=id,status,total&sort=total', { accept: 'text/csv' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      const lines = res.body.trim().split('\r\n');
      assert.equal(lines[0], 'id,status,total');
      assert.equal(lines.length, 5);
      assert.ok(lines.slice(1).every((line) => carolOrders.some((o) => line.startsWith(o.id))));
    });

    it('list pages are private: Cache-Control private and Vary on credentials', async () => {
      const res = await get(carol, '/v1/orders');
      assert.equal(res.headers['cache-control'], 'private, no-cache');
      assert.match(String(res.headers.vary), /authorization/i);
      const again = await get(carol, '/v1/orders', { 'if-none-match': res.headers.etag as string });
      assert.equal(again.statusCode, 304);
    });

    describe('GET /v1/users/{id}/orders', () => {
      it('lists a user its own orders, and an admin anyone’s', async () => {
        assert.deepEqual(idsOf(await get(carol, `/v1/users/${carol.id}/orders`)), carolOrders.map((o) => o.id).reverse());
        assert.deepEqual(idsOf(await get(admin, `/v1/users/${carol.id}/orders`)), carolOrders.map((o) => o.id).reverse());
        assert.deepEqual(idsOf(await get(admin, `/v1/users/${dave.id}/orders?status=pending`)), [daveOrder.id]);
      });

      it("refuses another user's list with 403, and answers 404 for an unknown user", async () => {
        const res = await get(dave, `/v1/users/${carol.id}/orders`);
        assert.equal(res.statusCode, 403);
        assert.equal(problemOf(res).code, 'FORBIDDEN');
        assert.ok(!res.body.includes(carolOrders[0]!.id));
        assert.equal((await get(dave, '/v1/users/usr_00000000000000000000000000/orders')).statusCode, 404);
        assert.equal((await get(admin, '/v1/users/usr_00000000000000000000000000/orders')).statusCode, 404);
        assert.equal((await get(admin, `/v1/users/${encodeURIComponent("' OR 1=1 --")}/orders`)).statusCode, 404);
        assert.equal((await t.app.inject({ method: 'GET', url: `/v1/users/${carol.id}/orders` })).statusCode, 401);
      });
    });
  });

  describe('order items', () => {
    let order: OrderJson;
    let product: string;
    before(async () => {
      product = await createProduct({ name: 'Lamp', price: 2500 });
      const other = await createProduct({ name: 'Bulb', price: 300 });
      order = await place(ada, [
        { product_id: product, quantity: 1 },
        { product_id: other, quantity: 4 },
      ]);
    });

    it('GET /v1/orders/{id}/items lists the items in placing order, with include=product', async () => {
      const res = await get(ada, `/v1/orders/${order.id}/items?include=product`);
      assert.equal(res.statusCode, 200, res.body);
      const items = res.json().data as ItemJson[];
      assert.deepEqual(items.map((i) => i.id), order.items!.map((i) => i.id));
      assert.equal((items[0]!.product as { name: string }).name, 'Lamp');
      assert.equal(items[1]!.total, 1200);
      const page = await get(ada, `/v1/orders/${order.id}/items?limit=1`);
      assert.equal(page.json().data.length, 1);
      assert.equal(page.json().pagination.has_more, true);
    });

    it("GET /v1/order-items/{id} shows the owner and admins the item; anyone else gets 404", async () => {
      const itemId = order.items![0]!.id;
      const mine = await get(ada, `/v1/order-items/${itemId}`);
      assert.equal(mine.statusCode, 200);
      assert.deepEqual(mine.json().data, order.items![0]);
      assert.deepEqual(mine.json().data.links, { self: `/v1/order-items/${itemId}`, order: `/v1/orders/${order.id}`, product: `/v1/products/${product}` });
      assert.equal((await get(admin, `/v1/order-items/${itemId}`)).statusCode, 200);
      const theirs = await get(bob, `/v1/order-items/${itemId}`);
      assert.equal(theirs.statusCode, 404);
      assert.equal(problemOf(theirs).code, 'NOT_FOUND');
      assert.equal((await get(bob, `/v1/orders/${order.id}/items`)).statusCode, 404);
      assert.equal((await get(ada, '/v1/order-items/itm_00000000000000000000000000')).statusCode, 404);
      assert.equal((await get(ada, `/v1/order-items/${encodeURIComponent("'; --")}`)).statusCode, 404);
    });

    it('an order keeps its items after the product is deleted; the include shows the product as null', async () => {
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/products/${product}`, headers: admin.auth })).statusCode, 204);
      const res = await get(ada, `/v1/orders/${order.id}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().data.items.length, 2);
      assert.equal(res.json().data.items[0].unit_price, 2500);
      const items = await get(ada, `/v1/orders/${order.id}/items?include=product`);
      assert.equal(items.json().data[0].product, null);
    });
  });

  describe('POST /v1/orders/{id}/cancel', () => {
    it('cancels a pending order: 200, status cancelled, no cancel link, stock restored', async () => {
      const id = await createProduct({ stock: 4 });
      const order = await place(ada, [{ product_id: id, quantity: 3 }]);
      assert.equal(await stockOf(id), 1);
      const res = await cancel(ada, order.id);
      assert.equal(res.statusCode, 200, res.body);
      const data = res.json().data as OrderJson;
      assert.equal(data.status, 'cancelled');
      assert.equal(data.links.cancel, undefined);
      assert.equal(data.links.self, `/v1/orders/${order.id}`);
      assert.equal(data.items!.length, 1);
      assert.equal(await stockOf(id), 4);
      assert.equal((await get(ada, `/v1/orders/${order.id}`)).json().data.status, 'cancelled');
    });

    it('answers 409 INVALID_STATE_TRANSITION with current_status when already cancelled, and restores stock once', async () => {
      const id = await createProduct({ stock: 4 });
      const order = await place(ada, [{ product_id: id, quantity: 2 }]);
      assert.equal((await cancel(ada, order.id)).statusCode, 200);
      const again = await cancel(ada, order.id);
      assert.equal(again.statusCode, 409);
      const problem = problemOf(again);
      assert.equal(problem.code, 'INVALID_STATE_TRANSITION');
      assert.equal(problem.current_status, 'cancelled');
      assert.equal(await stockOf(id), 4);
    });

    it('of concurrent cancels of one order exactly one succeeds', async () => {
      const id = await createProduct({ stock: 5 });
      const order = await place(ada, [{ product_id: id, quantity: 5 }]);
      const results = await Promise.all(Array.from({ length: 6 }, () => cancel(ada, order.id)));
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 409, 409, 409, 409, 409]);
      assert.equal(await stockOf(id), 5);
    });

    it('cancels a confirmed order; refuses shipped and delivered ones with 409 naming the status', async () => {
      const id = await createProduct({ stock: 10 });
      const confirmed = await place(ada, [{ product_id: id, quantity: 1 }]);
      assert.equal((await patch(admin, confirmed.id, 'confirmed')).statusCode, 200);
      assert.equal((await get(ada, `/v1/orders/${confirmed.id}`)).json().data.links.cancel, `/v1/orders/${confirmed.id}/cancel`);
      assert.equal((await cancel(ada, confirmed.id)).statusCode, 200);

      const shipped = await place(ada, [{ product_id: id, quantity: 1 }]);
      for (const status of ['confirmed', 'shipped']) assert.equal((await patch(admin, shipped.id, status)).statusCode, 200);
      const refused = await cancel(ada, shipped.id);
      assert.equal(refused.statusCode, 409);
      assert.equal(problemOf(refused).current_status, 'shipped');
      assert.equal((await patch(admin, shipped.id, 'delivered')).statusCode, 200);
      const delivered = await cancel(admin, shipped.id);
      assert.equal(delivered.statusCode, 409);
      assert.equal(problemOf(delivered).current_status, 'delivered');
      assert.equal(await stockOf(id), 9);
    });

    it("lets an admin cancel anyone's order; another user gets 404 and changes nothing", async () => {
      const id = await createProduct({ stock: 3 });
      const order = await place(bob, [{ product_id: id, quantity: 1 }]);
      const stranger = await cancel(ada, order.id);
      assert.equal(stranger.statusCode, 404);
      assert.equal((await get(bob, `/v1/orders/${order.id}`)).json().data.status, 'pending');
      const res = await cancel(admin, order.id);
      assert.equal(res.statusCode, 200);
      assert.equal(await stockOf(id), 3);
    });

    it('needs orders:write for an API key', async () => {
      const order = await place(ada, [{ product_id: await createProduct(), quantity: 1 }]);
      const res = await t.app.inject({ method: 'POST', url: `/v1/orders/${order.id}/cancel`, headers: await makeKey(ada, ['orders:read']) });
      assert.equal(res.statusCode, 403);
      assert.equal(problemOf(res).code, 'INSUFFICIENT_SCOPE');
    });
  });

  describe('PATCH /v1/orders/{id}', () => {
    it('lets an admin move an order pending → confirmed → shipped → delivered; cancel is linked only while possible', async () => {
      const order = await place(ada, [{ product_id: await createProduct(), quantity: 1 }]);
      const steps: Array<[string, boolean]> = [
        ['confirmed', true],
        ['shipped', false],
        ['delivered', false],
      ];
      let version = 1;
      for (const [status, cancellable] of steps) {
        const res = await patch(admin, order.id, status);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().data.status, status);
        assert.equal('cancel' in res.json().data.links, cancellable, status);
        version += 1;
        assert.equal(res.headers.etag, `"${version}"`);
      }
    });

    it('answers 409 INVALID_STATE_TRANSITION for skipped, backward, final and cancel transitions', async () => {
      const order = await place(ada, [{ product_id: await createProduct(), quantity: 1 }]);
      for (const status of ['shipped', 'delivered', 'pending', 'cancelled']) {
        const res = await patch(admin, order.id, status);
        assert.equal(res.statusCode, 409, status);
        assert.equal(problemOf(res).code, 'INVALID_STATE_TRANSITION');
        assert.equal(problemOf(res).current_status, 'pending');
      }
      for (const status of ['confirmed', 'shipped', 'delivered']) await patch(admin, order.id, status);
      const final = await patch(admin, order.id, 'delivered');
      assert.equal(final.statusCode, 409);
      assert.equal(problemOf(final).current_status, 'delivered');
      const cancelled = await place(ada, [{ product_id: await createProduct(), quantity: 1 }]);
      await cancel(ada, cancelled.id);
      assert.equal((await patch(admin, cancelled.id, 'confirmed')).statusCode, 409);
    });

    it('answers 422 for a bad status value or extra fields', async () => {
      const order = await place(ada, [{ product_id: await createProduct(), quantity: 1 }]);
      for (const status of ['lost', '', 42, null, "confirmed' --"]) {
        const res = await patch(admin, order.id, status);
        assert.equal(res.statusCode, 422, String(status));
        assert.deepEqual([...new Set(fieldsOf(res))], ['status']);
      }
      const extra = await t.app.inject({ method: 'PATCH', url: `/v1/orders/${order.id}`, headers: admin.auth, payload: { status: 'confirmed', total: 0 } });
      assert.equal(extra.statusCode, 422);
      assert.equal((await get(ada, `/v1/orders/${order.id}`)).json().data.status, 'pending');
    });

    it('answers 403 to the owner and to other users, 401 without credentials', async () => {
      const order = await place(ada, [{ product_id: await createProduct(), quantity: 1 }]);
      for (const who of [ada, bob]) {
        const res = await patch(who, order.id, 'confirmed');
        assert.equal(res.statusCode, 403);
        assert.equal(problemOf(res).code, 'FORBIDDEN');
      }
      assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/orders/${order.id}`, payload: { status: 'confirmed' } })).statusCode, 401);
      assert.equal((await get(ada, `/v1/orders/${order.id}`)).json().data.status, 'pending');
      assert.equal((await patch(admin, 'ord_00000000000000000000000000', 'confirmed')).statusCode, 404);
    });

    it('honours If-Match: a stale ETag is 412 and changes nothing', async () => {
      const order = await place(ada, [{ product_id: await createProduct(), quantity: 1 }]);
      const current = await get(admin, `/v1/orders/${order.id}`);
      const etag = current.headers.etag as string;
      const ok = await patch(admin, order.id, 'confirmed', { 'if-match': etag });
      assert.equal(ok.statusCode, 200);
      const stale = await patch(admin, order.id, 'shipped', { 'if-match': etag });
      assert.equal(stale.statusCode, 412);
      assert.equal(problemOf(stale).code, 'PRECONDITION_FAILED');
      assert.equal((await get(admin, `/v1/orders/${order.id}`)).json().data.status, 'confirmed');
      const results = await Promise.all(Array.from({ length: 4 }, () => patch(admin, order.id, 'shipped', { 'if-match': ok.headers.etag as string })));
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 412, 412, 412]);
    });

    it('with STOA_REQUIRE_IF_MATCH=true, a status change without If-Match is 428', async () => {
      const strict = await createTestApp({ STOA_REQUIRE_IF_MATCH: 'true' });
      try {
        const boss = await signUpAdmin(strict);
        const buyer = await signUp(strict.app);
        const product = await strict.app.inject({ method: 'POST', url: '/v1/products', headers: boss.auth, payload: { name: 'P', category: 'c', price: 1, currency: 'EUR', stock: 1 } });
        const order = await strict.app.inject({ method: 'POST', url: '/v1/orders', headers: withKey(buyer.auth), payload: { items: [{ product_id: product.json().data.id, quantity: 1 }] } });
        const url = `/v1/orders/${order.json().data.id}`;
        const res = await strict.app.inject({ method: 'PATCH', url, headers: boss.auth, payload: { status: 'confirmed' } });
        assert.equal(res.statusCode, 428);
        assert.equal(problemOf(res).code, 'PRECONDITION_REQUIRED');
        const ok = await strict.app.inject({ method: 'PATCH', url, headers: { ...boss.auth, 'if-match': order.headers.etag as string }, payload: { status: 'confirmed' } });
        assert.equal(ok.statusCode, 200);
      } finally {
        await strict.close();
      }
    });
  });

  describe('events', () => {
    it('records order.created, order.status_changed and order.cancelled for the owner (and admins) only', async () => {
      const erin = await signUp(t.app, { name: 'Erin' });
      const order = await place(erin, [{ product_id: await createProduct({ price: 700 }), quantity: 2 }]);
      assert.equal((await patch(admin, order.id, 'confirmed')).statusCode, 200);
      assert.equal((await cancel(erin, order.id)).statusCode, 200);

      const mine = await get(erin, '/v1/events?type=order.*&limit=100');
      assert.equal(mine.statusCode, 200);
      const events = (mine.json().data as Array<{ type: string; resource_id: string; data: Json }>).filter((e) => e.resource_id === order.id);
      assert.deepEqual(events.map((e) => e.type), ['order.created', 'order.status_changed', 'order.confirmed', 'order.cancelled']);
      const [created, changed, confirmed, cancelled] = events as [(typeof events)[0], (typeof events)[0], (typeof events)[0], (typeof events)[0]];
      assert.deepEqual(confirmed.data, changed.data, 'order.confirmed carries the order as order.status_changed does');
      assert.equal(created.data.id, order.id);
      assert.equal(created.data.user_id, erin.id);
      assert.equal(created.data.status, 'pending');
      assert.equal(created.data.total, 1400);
      assert.equal(created.data.currency, 'EUR');
      assert.equal(changed.data.status, 'confirmed');
      assert.equal(cancelled.data.status, 'cancelled');
      // The data is the order as GET shows it (test/event-data.test.ts), items included.
      assert.equal((cancelled.data.items as unknown[]).length, 1);

      const others = await get(bob, '/v1/events?type=order.*&limit=100');
      assert.ok(!others.body.includes(order.id), 'another user never sees them');
      const key = await makeKey(erin, ['posts:read']);
      const scoped = await t.app.inject({ method: 'GET', url: '/v1/events?limit=100', headers: key });
      assert.ok(!scoped.body.includes(order.id), 'an API key without orders:read does not see them');
      const all = await get(admin, '/v1/events?type=order.*&limit=100');
      assert.ok(all.body.includes(order.id));
    });

    it('a refused change records no event', async () => {
      const order = await place(ada, [{ product_id: await createProduct(), quantity: 1 }]);
      const count = async () => (await get(ada, '/v1/events?type=order.*&limit=100')).json().data.filter((e: { resource_id: string }) => e.resource_id === order.id).length;
      assert.equal(await count(), 1);
      await patch(admin, order.id, 'delivered');
      await patch(bob, order.id, 'confirmed');
      await cancel(bob, order.id);
      assert.equal(await count(), 1);
    });
  });

  describe('OpenAPI', () => {
    it('documents every order operation under the orders tag', async () => {
      const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const ops = ['listOrders', 'listUserOrders', 'createOrder', 'getOrder', 'updateOrderStatus', 'cancelOrder', 'listOrderItems', 'getOrderItem'];
      const found = Object.values(doc.paths as Record<string, Record<string, { operationId?: string; tags?: string[] }>>)
        .flatMap((p) => Object.values(p))
        .filter((op) => ops.includes(op.operationId ?? ''));
      assert.equal(found.length, ops.length);
      for (const op of found) assert.deepEqual(op.tags, ['orders']);
    });
  });
});

describe('comesAfter: which status an order can still reach (what a watcher has not shown yet)', () => {
  it('follows the fulfilment path forward only, and cancellation only from a cancellable status', () => {
    assert.equal(comesAfter('confirmed', 'pending'), true);
    assert.equal(comesAfter('delivered', 'pending'), true);
    assert.equal(comesAfter('shipped', 'shipped'), false);
    assert.equal(comesAfter('confirmed', 'shipped'), false);
    assert.equal(comesAfter('cancelled', 'confirmed'), true);
    assert.equal(comesAfter('cancelled', 'shipped'), false);
    assert.equal(comesAfter('delivered', 'cancelled'), false);
  });
});

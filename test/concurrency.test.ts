import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { collectionOf, fill, makeFixtures, servedDocuments, type Fixtures } from './helpers/api-walk.ts';
import { problemOf } from './helpers/app.ts';
import { world, type World } from './helpers/world.ts';

/** A change each conditional PATCH can make, by collection; the value names the request that made it. */
const CHANGES: Record<string, (n: number) => Record<string, unknown>> = {
  posts: (n) => ({ title: `racer ${n}` }),
  comments: (n) => ({ content: `racer ${n}` }),
  products: (n) => ({ name: `racer ${n}` }),
  users: (n) => ({ display_name: `racer ${n}` }),
  orders: () => ({ status: 'confirmed' }),
};

describe('concurrent conditional updates (one process)', () => {
  let w: World;
  let ids: Fixtures;
  before(async () => {
    w = await world({ env: { STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    ids = await makeFixtures(w);
  });
  after(() => w.close());

  it('every PATCH that takes If-Match: of concurrent requests with the same ETag exactly one is 200, the rest 412', async () => {
    const v2 = (await servedDocuments(w.app))[1]!;
    const conditional = v2.operations().filter((op) => op.method === 'PATCH' && (op.operation.parameters ?? []).some((p) => p.in === 'header' && p.name === 'if-match'));
    assert.ok(conditional.length >= 5, `found ${conditional.length}`);
    for (const op of conditional) {
      const collection = collectionOf(op.path);
      const change = CHANGES[collection];
      assert.ok(change, `a change for ${op.path}`);
      const url = fill(op.path, ids[collection]!);
      // Orders change status only by an administrator; the rest by their owner (products: the administrator).
      const who = collection === 'orders' || collection === 'products' ? w.admin : w.ada;
      const current = await w.app.inject({ method: 'GET', url, headers: who.auth });
      assert.equal(current.statusCode, 200, `${url}: ${current.body}`);
      const etag = String(current.headers.etag);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, n) => w.app.inject({ method: 'PATCH', url, headers: { ...who.auth, 'if-match': etag }, payload: change(n) })),
      );
      const statuses = results.map((r) => r.statusCode);
      assert.equal(statuses.filter((s) => s === 200).length, 1, `${op.path}: ${statuses.join(',')}`);
      assert.equal(statuses.filter((s) => s === 412).length, 7, `${op.path}: ${statuses.join(',')}`);
      for (const res of results.filter((r) => r.statusCode === 412)) assert.equal(problemOf(res).code, 'PRECONDITION_FAILED');
      const winner = results.find((r) => r.statusCode === 200)!;
      const after = await w.app.inject({ method: 'GET', url, headers: who.auth });
      assert.equal(after.headers.etag, winner.headers.etag, `${op.path}: the winner's change is the one stored`);
      assert.notEqual(after.headers.etag, etag);
    }
  });
});

describe('concurrent orders on the last units (one process)', () => {
  let w: World;
  before(async () => {
    w = await world();
  });
  after(() => w.close());

  it('orders of mixed quantities by many buyers never take more than the stock, and the stock accounts for every unit sold', async () => {
    const buyers = [w.ada, w.bob, await w.newUser('Carol'), await w.newUser('Dan')];
    const stock = 7;
    const product = await w.product({ stock });
    const quantities = Array.from({ length: 24 }, (_, i) => 1 + (i % 3));
    const results = await Promise.all(
      quantities.map((quantity, i) =>
        w.app.inject({
          method: 'POST',
          url: '/v2/orders',
          headers: { ...buyers[i % buyers.length]!.auth, 'idempotency-key': randomUUID() },
          payload: { items: [{ product_id: product, quantity }] },
        }),
      ),
    );
    let sold = 0;
    const refused: number[] = [];
    results.forEach((res, i) => {
      if (res.statusCode === 201) sold += quantities[i]!;
      else {
        assert.equal(res.statusCode, 409, res.body);
        assert.equal(problemOf(res).code, 'OUT_OF_STOCK');
        refused.push(quantities[i]!);
      }
    });
    assert.ok(sold <= stock, `sold ${sold} of ${stock}`);
    const left = (await w.app.inject({ method: 'GET', url: `/v2/products/${product}` })).json().data.stock as number;
    assert.equal(left, stock - sold, 'the stock accounts for every unit sold');
    // Stock only goes down: an order refused for want of q units means fewer than q were left at the end.
    assert.ok(left < Math.min(...refused), `${left} left, yet an order for ${Math.min(...refused)} was refused`);
  });
});

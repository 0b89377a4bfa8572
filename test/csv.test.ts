import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { toCsv } from '../src/transports/rest/csv.ts';
import { createTestApp, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

const linesOf = (csv: string) => csv.split('\r\n').slice(0, -1);

describe('toCsv', () => {
  it('writes nested objects as dotted columns, never as JSON text', () => {
    const csv = toCsv([
      { id: 'a', links: { self: '/v2/a', author: '/v2/u' }, author: { id: 'u', display_name: 'Ada' } },
      { id: 'b', links: { self: '/v2/b', author: '/v2/u' }, author: null },
    ]);
    assert.deepEqual(linesOf(csv), ['id,links.self,links.author,author.id,author.display_name', 'a,/v2/a,/v2/u,u,Ada', 'b,/v2/b,/v2/u,,']);
    assert.ok(!csv.includes('{'));
  });

  it('keeps a key first seen in a later row beside its siblings, and nests to any depth', () => {
    const csv = toCsv([
      { id: 'a', links: { self: '/a' }, total: 1 },
      { id: 'b', links: { self: '/b', cancel: '/b/cancel' }, total: 2, data: { product: { id: 'p' } } },
    ]);
    assert.deepEqual(linesOf(csv), ['id,links.self,links.cancel,total,data.product.id', 'a,/a,,1,', 'b,/b,/b/cancel,2,p']);
  });

  it('writes a list of scalars as one space-separated cell and leaves lists of objects out', () => {
    const csv = toCsv([{ id: 'k', scopes: ['posts:read', 'users:read'], items: [{ id: 'i1' }, { id: 'i2' }], tags: [] }]);
    assert.deepEqual(linesOf(csv), ['id,scopes,tags', 'k,posts:read users:read,']);
  });

  it('quotes and defuses cells (RFC 4180, CSV injection) at every depth', () => {
    const csv = toCsv([{ title: 'a,"b"', nested: { formula: '=1+1' }, n: -3 }]);
    assert.deepEqual(linesOf(csv), ['title,nested.formula,n', `"a,""b""",'=1+1,-3`]);
  });

  it('names the requested fields on an empty page', () => {
    assert.deepEqual(linesOf(toCsv([], ['id', 'title'])), ['id,title']);
  });
});

describe('Accept: text/csv on lists', () => {
  let t: TestApp;
  let ada: SignedUp;
  before(async () => {
    t = await createTestApp();
    ada = await signUp(t.app, { name: 'Ada' });
  });
  after(() => t.close());

  const csvOf = async (url: string, who = ada) => {
    const res = await t.app.inject({ method: 'GET', url, headers: { ...who.auth, accept: 'text/csv' } });
    assert.equal(res.statusCode, 200, res.body);
    return linesOf(res.body).map((line) => line.split(','));
  };

  it('has flat columns: links and included resources become dotted columns', async () => {
    const post = (await t.app.inject({ method: 'POST', url: '/v2/posts', headers: ada.auth, payload: { title: 'CSV', content: 'flat' } })).json().data;
    const [header, row] = await csvOf(`/v2/users/${ada.id}/posts?include=author`);
    assert.ok(header && row);
    assert.ok(!header.includes('links') && !header.includes('author'), header.join());
    const at = (column: string) => row[header.indexOf(column)];
    assert.equal(at('links.self'), `/v2/posts/${post.id}`);
    assert.equal(at('links.comments'), `/v2/posts/${post.id}/comments`);
    assert.equal(at('author.display_name'), 'Ada');
  });

  it("leaves an order's items out of the order list and keeps them on the items list", async () => {
    const admin = await signUpAdmin(t);
    const product = (await t.app.inject({ method: 'POST', url: '/v2/products', headers: admin.auth, payload: { name: 'Mug', description: 'd', category: 'c', price: 100, currency: 'EUR', stock: 5 } })).json().data;
    const order = (await t.app.inject({ method: 'POST', url: '/v2/orders', headers: { ...ada.auth, 'idempotency-key': randomUUID() }, payload: { items: [{ product_id: product.id, quantity: 1 }] } })).json().data;
    const [header, row] = await csvOf('/v2/orders?include=items');
    assert.ok(header && row);
    assert.ok(!header.some((c) => c.startsWith('items')), header.join());
    assert.equal(row[header.indexOf('links.cancel')], `/v2/orders/${order.id}/cancel`);
    const [itemHeader, item] = await csvOf(`/v2/orders/${order.id}/items`);
    assert.equal(item?.[itemHeader!.indexOf('product_id')], product.id);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestApp, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

type Json = Record<string, unknown>;

describe('products', () => {
  let t: TestApp;
  let ada: SignedUp;
  let admin: SignedUp;
  before(async () => {
    t = await createTestApp();
    ada = await signUp(t.app, { name: 'Ada' });
    admin = await signUpAdmin(t);
  });
  after(() => t.close());

  const uniqueCategory = () => `cat-${randomBytes(4).toString('hex')}`;
  const createProduct = async (fields: Json = {}) => {
    const payload = { name: 'Ceramic mug', description: 'Holds 350 ml of coffee.', category: 'kitchen', price: 1250, currency: 'EUR', stock: 10, ...fields };
    const res = await t.app.inject({ method: 'POST', url: '/v1/products', headers: admin.auth, payload });
    assert.equal(res.statusCode, 201, res.body);
    return res;
  };
  const fieldsOf = (res: { json(): unknown } & Parameters<typeof problemOf>[0]) =>
    [...new Set((problemOf(res).errors as Array<{ field: string }>).map((e) => e.field))].sort();
  const countEvents = async (type: string) =>
    (await t.container.database.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('type', '=', type).executeTakeFirstOrThrow()).n;

  describe('POST /v1/products', () => {
    it('lets an admin create a product: 201, Location, ETag, a prd_ id and in_stock derived from stock', async () => {
      const res = await createProduct({ stock: 3 });
      const data = res.json().data;
      assert.match(data.id, /^prd_[0-9a-z]{26}$/);
      assert.equal(res.headers.location, `/v1/products/${data.id}`);
      assert.match(res.headers.etag as string, /^"\d+"$/);
      assert.deepEqual(
        Object.keys(data).sort(),
        ['category', 'created_at', 'currency', 'description', 'id', 'in_stock', 'links', 'name', 'price', 'stock', 'updated_at'].sort(),
      );
      assert.equal(data.price, 1250);
      assert.equal(data.currency, 'EUR');
      assert.equal(data.stock, 3);
      assert.equal(data.in_stock, true);
      assert.deepEqual(data.links, { self: res.headers.location });
      const sold = (await createProduct({ stock: 0 })).json().data;
      assert.equal(sold.in_stock, false);
    });

    it('defaults description to empty and stock to 0', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/products', headers: admin.auth, payload: { name: 'Bare', category: 'misc', price: 0, currency: 'USD' } });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().data.description, '');
      assert.equal(res.json().data.stock, 0);
      assert.equal(res.json().data.in_stock, false);
    });

    it('answers 403 FORBIDDEN to a user who is not an admin, 401 without credentials, and creates nothing', async () => {
      const category = uniqueCategory();
      const payload = { name: 'Sneaky', category, price: 1, currency: 'EUR' };
      const forbidden = await t.app.inject({ method: 'POST', url: '/v1/products', headers: ada.auth, payload });
      assert.equal(forbidden.statusCode, 403);
      assert.equal(problemOf(forbidden).code, 'FORBIDDEN');
      const anonymous = await t.app.inject({ method: 'POST', url: '/v1/products', payload });
      assert.equal(anonymous.statusCode, 401);
      assert.equal(problemOf(anonymous).code, 'UNAUTHENTICATED');
      assert.ok(anonymous.headers['www-authenticate']);
      const list = await t.app.inject({ method: 'GET', url: `/v1/products?category=${category}` });
      assert.deepEqual(list.json().data, []);
    });

    it('answers 422 naming every failing field at once', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/products',
        headers: admin.auth,
        payload: { name: '', category: 'x'.repeat(65), price: -1, currency: 'eur', stock: 1.5, colour: 'red' },
      });
      assert.equal(res.statusCode, 422);
      assert.equal(problemOf(res).code, 'VALIDATION_FAILED');
      assert.deepEqual(fieldsOf(res), ['category', 'colour', 'currency', 'name', 'price', 'stock']);
    });

    const invalid: Array<[string, Json, string]> = [
      ['a blank name', { name: '   ' }, 'name'],
      ['a price that is not an integer', { price: 12.5 }, 'price'],
      ['a price given as a string', { price: '1250' }, 'price'],
      ['a price beyond the money bound', { price: 10_000_000_001 }, 'price'],
      ['a currency that is not ISO 4217', { currency: 'ABC' }, 'currency'],
      ['a currency of four letters', { currency: 'EURO' }, 'currency'],
      ['a negative stock', { stock: -1 }, 'stock'],
      ['a category with a comma', { category: 'a,b' }, 'category'],
      ['a missing price', { price: undefined }, 'price'],
      ['a null description', { description: null }, 'description'],
    ];
    for (const [name, patch, field] of invalid) {
      it(`refuses ${name} with 422 naming ${field}`, async () => {
        const payload = { name: 'Valid', category: 'valid', price: 100, currency: 'EUR', ...patch };
        const res = await t.app.inject({ method: 'POST', url: '/v1/products', headers: admin.auth, payload });
        assert.equal(res.statusCode, 422, res.body);
        assert.deepEqual(fieldsOf(res), [field]);
      });
    }
  });

  describe('GET /v1/products/{id}', () => {
    it('is public: no credentials needed, Cache-Control public, max-age=60, Vary on Accept but not on credentials', async () => {
      const product = (await createProduct()).json().data;
      const res = await t.app.inject({ method: 'GET', url: `/v1/products/${product.id}` });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'public, max-age=60');
      const vary = String(res.headers.vary).toLowerCase();
      assert.match(vary, /\baccept\b/);
      assert.doesNotMatch(vary, /authorization|x-api-key/);
      assert.deepEqual(res.json().data, product);
    });

    it('answers every caller with the same representation and headers', async () => {
      const product = (await createProduct()).json().data;
      const url = `/v1/products/${product.id}`;
      const [anonymous, user, administrator] = await Promise.all([
        t.app.inject({ method: 'GET', url }),
        t.app.inject({ method: 'GET', url, headers: ada.auth }),
        t.app.inject({ method: 'GET', url, headers: admin.auth }),
      ]);
      for (const res of [user, administrator]) {
        assert.equal(res.statusCode, 200);
        assert.equal(res.body, anonymous.body);
        assert.equal(res.headers.etag, anonymous.headers.etag);
        assert.equal(res.headers['cache-control'], 'public, max-age=60');
      }
    });

    it('carries an ETag from the version and Last-Modified; If-None-Match and If-Modified-Since answer 304 with the cache headers', async () => {
      const product = (await createProduct()).json().data;
      const url = `/v1/products/${product.id}`;
      const res = await t.app.inject({ method: 'GET', url });
      const etag = res.headers.etag as string;
      assert.equal(etag, '"1"');
      assert.ok(res.headers['last-modified']);
      const again = await t.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } });
      assert.equal(again.statusCode, 304);
      assert.equal(again.body, '');
      assert.equal(again.headers.etag, etag);
      assert.equal(again.headers['cache-control'], 'public, max-age=60');
      assert.match(String(again.headers.vary), /accept/i);
      const since = await t.app.inject({ method: 'GET', url, headers: { 'if-modified-since': res.headers['last-modified'] as string } });
      assert.equal(since.statusCode, 304);
      const stale = await t.app.inject({ method: 'GET', url, headers: { 'if-none-match': '"0"' } });
      assert.equal(stale.statusCode, 200);
    });

    it('answers 404 for unknown ids, ids full of SQL, and 400 for oversized ids, never a 5xx', async () => {
      for (const id of ['prd_00000000000000000000000000', 'nope', "1' OR '1'='1", 'prd_x; DROP TABLE products; --']) {
        const res = await t.app.inject({ method: 'GET', url: `/v1/products/${encodeURIComponent(id)}` });
        assert.equal(res.statusCode, 404, id);
        assert.equal(problemOf(res).code, 'NOT_FOUND');
        assert.notEqual(res.headers['cache-control'], 'public, max-age=60', 'errors are not cached publicly');
      }
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/products/${'x'.repeat(65)}` })).statusCode, 400);
    });

    it('refuses a bad credential with 401 even though credentials are optional', async () => {
      const product = (await createProduct()).json().data;
      const res = await t.app.inject({ method: 'GET', url: `/v1/products/${product.id}`, headers: { authorization: 'Bearer not-a-token' } });
      assert.equal(res.statusCode, 401);
    });
  });

  describe('PATCH /v1/products/{id}', () => {
    it('lets an admin change fields; the version, ETag and in_stock follow', async () => {
      const created = await createProduct({ stock: 2 });
      const id = created.json().data.id;
      const res = await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: { ...admin.auth, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ price: 999, stock: 0 }) });
      assert.equal(res.statusCode, 200, res.body);
      const data = res.json().data;
      assert.equal(data.price, 999);
      assert.equal(data.stock, 0);
      assert.equal(data.in_stock, false);
      assert.equal(data.name, 'Ceramic mug', 'untouched fields stay');
      assert.equal(res.headers.etag, '"2"');
      assert.ok(data.updated_at >= created.json().data.updated_at);
    });

    it('appends product.updated (visible to every signed-in user) in the same transaction', async () => {
      const id = (await createProduct()).json().data.id;
      const before = await countEvents('product.updated');
      const res = await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: admin.auth, payload: { name: 'Renamed mug' } });
      assert.equal(res.statusCode, 200);
      assert.equal(await countEvents('product.updated'), before + 1);
      const events = await t.app.inject({ method: 'GET', url: '/v1/events?type=product.updated&limit=100', headers: ada.auth });
      assert.equal(events.statusCode, 200);
      const event = (events.json().data as Array<{ resource_id: string; data: Json }>).find((e) => e.resource_id === id);
      assert.ok(event, 'a regular user sees catalogue events');
      assert.equal(event.data.name, 'Renamed mug');
      assert.equal(event.data.id, id);
    });

    it('answers 403 to a non-admin and 401 without credentials, and changes nothing', async () => {
      const id = (await createProduct()).json().data.id;
      const before = await countEvents('product.updated');
      const forbidden = await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: ada.auth, payload: { price: 1 } });
      assert.equal(forbidden.statusCode, 403);
      assert.equal(problemOf(forbidden).code, 'FORBIDDEN');
      assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, payload: { price: 1 } })).statusCode, 401);
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/products/${id}` })).json().data.price, 1250);
      assert.equal(await countEvents('product.updated'), before);
    });

    it('honours If-Match: a stale ETag is 412 and changes nothing; the current one wins', async () => {
      const created = await createProduct();
      const id = created.json().data.id;
      const etag = created.headers.etag as string;
      const first = await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: { ...admin.auth, 'if-match': etag }, payload: { price: 2000 } });
      assert.equal(first.statusCode, 200);
      const before = await countEvents('product.updated');
      const stale = await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: { ...admin.auth, 'if-match': etag }, payload: { price: 1 } });
      assert.equal(stale.statusCode, 412);
      assert.equal(problemOf(stale).code, 'PRECONDITION_FAILED');
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/products/${id}` })).json().data.price, 2000);
      assert.equal(await countEvents('product.updated'), before, 'no event for a refused change');
    });

    it('answers 422 for bad values and an empty patch, 404 for an unknown product', async () => {
      const id = (await createProduct()).json().data.id;
      const bad = await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: admin.auth, payload: { price: -5, currency: 'eur', stock: 'many' } });
      assert.equal(bad.statusCode, 422);
      assert.deepEqual(fieldsOf(bad), ['currency', 'price', 'stock']);
      const empty = await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: admin.auth, payload: {} });
      assert.equal(empty.statusCode, 422);
      const unknown = await t.app.inject({ method: 'PATCH', url: '/v1/products/prd_00000000000000000000000000', headers: admin.auth, payload: { price: 1 } });
      assert.equal(unknown.statusCode, 404);
    });
  });

  describe('DELETE /v1/products/{id}', () => {
    it('soft-deletes: 204, then 404 and gone from the list, while the row stays for old orders', async () => {
      const category = uniqueCategory();
      const id = (await createProduct({ category })).json().data.id;
      const res = await t.app.inject({ method: 'DELETE', url: `/v1/products/${id}`, headers: admin.auth });
      assert.equal(res.statusCode, 204);
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/products/${id}` })).statusCode, 404);
      assert.deepEqual((await t.app.inject({ method: 'GET', url: `/v1/products?category=${category}` })).json().data, []);
      const row = await t.container.database.db.selectFrom('products').select(['id', 'deleted_at']).where('id', '=', id).executeTakeFirstOrThrow();
      assert.ok(row.deleted_at instanceof Date);
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/products/${id}`, headers: admin.auth })).statusCode, 404, 'a second delete is 404');
      assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: admin.auth, payload: { price: 1 } })).statusCode, 404);
    });

    it('answers 403 to a non-admin and 412 on a stale If-Match, deleting nothing', async () => {
      const created = await createProduct();
      const id = created.json().data.id;
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/products/${id}`, headers: ada.auth })).statusCode, 403);
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/products/${id}` })).statusCode, 401);
      await t.app.inject({ method: 'PATCH', url: `/v1/products/${id}`, headers: admin.auth, payload: { stock: 4 } });
      const stale = await t.app.inject({ method: 'DELETE', url: `/v1/products/${id}`, headers: { ...admin.auth, 'if-match': created.headers.etag as string } });
      assert.equal(stale.statusCode, 412);
      assert.equal((await t.app.inject({ method: 'GET', url: `/v1/products/${id}` })).statusCode, 200);
      const current = await t.app.inject({ method: 'DELETE', url: `/v1/products/${id}`, headers: { ...admin.auth, 'if-match': '"2"' } });
      assert.equal(current.statusCode, 204);
    });
  });

  describe('GET /v1/products', () => {
    let category: string;
    let ids: Record<string, string>;
    before(async () => {
      category = uniqueCategory();
      const specs: Array<[string, Json]> = [
        ['kettle', { name: 'Steel kettle', description: 'Boils water quickly', price: 4500, stock: 5 }],
        ['teapot', { name: 'Porcelain teapot', description: 'For loose leaf tea', price: 3000, stock: 0 }],
        ['cup', { name: 'Espresso cup', description: 'A small cup for strong coffee', price: 800, stock: 12 }],
        ['grinder', { name: 'Coffee grinder', description: 'Burr grinder for beans', price: 9900, stock: 1 }],
        ['spoon', { name: 'Tea spoon', description: 'Stirs tea and coffee', price: 300, stock: 0 }],
      ];
      ids = {};
      for (const [key, spec] of specs) ids[key] = (await createProduct({ ...spec, category })).json().data.id;
    });
    const list = (query: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url: `/v1/products?category=${category}&${query}`, headers });
    const idsOf = (res: { json(): { data: Array<{ id: string }> } }) => res.json().data.map((p) => p.id);

    it('is public and cacheable: no credentials needed, the same page for everyone, Vary on Accept only', async () => {
      const anonymous = await list('');
      assert.equal(anonymous.statusCode, 200);
      assert.equal(anonymous.headers['cache-control'], 'public, max-age=60');
      const vary = String(anonymous.headers.vary).toLowerCase();
      assert.match(vary, /\baccept\b/);
      assert.doesNotMatch(vary, /authorization|x-api-key/);
      const user = await list('', ada.auth);
      assert.equal(user.body, anonymous.body);
      assert.equal(user.headers.etag, anonymous.headers.etag);
      assert.equal(user.headers['cache-control'], 'public, max-age=60');
      assert.equal(anonymous.json().data.length, 5);
      assert.deepEqual(idsOf(anonymous), Object.values(ids).reverse(), 'newest first by default');
    });

    it('answers 304 to If-None-Match with the page ETag, with the cache headers', async () => {
      const first = await list('');
      const again = await list('', { 'if-none-match': first.headers.etag as string });
      assert.equal(again.statusCode, 304);
      assert.equal(again.headers['cache-control'], 'public, max-age=60');
    });

    it('filters by price range, in_stock and several categories', async () => {
      assert.deepEqual(new Set(idsOf(await list('price_min=800&price_max=4500'))), new Set([ids.kettle, ids.teapot, ids.cup]));
      assert.deepEqual(new Set(idsOf(await list('price_min=4501'))), new Set([ids.grinder]));
      assert.deepEqual(new Set(idsOf(await list('in_stock=true'))), new Set([ids.kettle, ids.cup, ids.grinder]));
      assert.deepEqual(new Set(idsOf(await list('in_stock=false'))), new Set([ids.teapot, ids.spoon]));
      for (const p of (await list('in_stock=false')).json().data) assert.equal(p.in_stock, false);
      const other = uniqueCategory();
      const extra = (await createProduct({ category: other })).json().data.id;
      const both = await t.app.inject({ method: 'GET', url: `/v1/products?category=${category},${other}&limit=100` });
      assert.equal(both.json().data.length, 6);
      assert.ok(idsOf(both).includes(extra));
    });

    it('q= searches name and description with full-text search (stemmed)', async () => {
      assert.deepEqual(new Set(idsOf(await list('q=coffee'))), new Set([ids.cup, ids.grinder, ids.spoon]));
      assert.deepEqual(idsOf(await list('q=boiling')), [ids.kettle], 'stemming: boiling matches Boils');
      assert.deepEqual(new Set(idsOf(await list(`q=${encodeURIComponent('tea -coffee')}`))), new Set([ids.teapot]));
      assert.deepEqual(idsOf(await list('q=zzzunknownword')), []);
    });

    it('sorts by price, -price and name; an unknown sort field is 400', async () => {
      const byPrice = (await list('sort=price')).json().data.map((p: { price: number }) => p.price);
      assert.deepEqual(byPrice, [300, 800, 3000, 4500, 9900]);
      const byPriceDesc = (await list('sort=-price')).json().data.map((p: { price: number }) => p.price);
      assert.deepEqual(byPriceDesc, [9900, 4500, 3000, 800, 300]);
      const byName = (await list('sort=name')).json().data.map((p: { name: string }) => p.name);
      assert.deepEqual(byName, [...byName].sort((a, b) => a.localeCompare(b)));
      const bad = await list('sort=stock');
      assert.equal(bad.statusCode, 400);
      assert.equal(problemOf(bad).code, 'INVALID_PARAMETER');
    });

    it('walks every product exactly once by cursor, sorted by price', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await list(`sort=price&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(res.statusCode, 200, res.body);
        seen.push(...idsOf(res));
        cursor = res.json().pagination.next_cursor;
      } while (cursor);
      assert.deepEqual(seen, [ids.spoon, ids.cup, ids.teapot, ids.kettle, ids.grinder]);
    });

    it('refuses tampered cursors and cursors from another query with 400 INVALID_CURSOR', async () => {
      const cursor = (await list('sort=price&limit=2')).json().pagination.next_cursor as string;
      const [payload, mac] = cursor.split('.') as [string, string];
      const forged = Buffer.from(JSON.stringify({ d: 'n', v: ["0' OR 1=1 --"], i: 'prd_x' })).toString('base64url');
      for (const bad of [`${payload}x.${mac}`, `${forged}.${mac}`, 'garbage', `${payload}.`, cursor.slice(0, -2)]) {
        const res = await list(`sort=price&limit=2&cursor=${encodeURIComponent(bad)}`);
        assert.equal(res.statusCode, 400, bad);
        assert.equal(problemOf(res).code, 'INVALID_CURSOR');
      }
      const otherQuery = await list(`sort=price&limit=2&in_stock=true&cursor=${encodeURIComponent(cursor)}`);
      assert.equal(otherQuery.statusCode, 400);
      const otherSort = await list(`sort=-price&limit=2&cursor=${encodeURIComponent(cursor)}`);
      assert.equal(otherSort.statusCode, 400);
    });

    // The document cannot say that price_min must not exceed price_max, so the pair is answered: nothing lies in it.
    it('answers an empty page when price_min is greater than price_max', async () => {
      const res = await list('price_min=5000&price_max=100');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json().data, []);
    });

    it('answers 400 naming the parameter for malformed filters', async () => {
      for (const [query, field] of [
        ['in_stock=maybe', 'in_stock'],
        ['price_min=-1', 'price_min'],
        ['price_max=1.5', 'price_max'],
        ['price_min=abc', 'price_min'],
        ['colour=red', 'colour'],
      ] as const) {
        const res = await list(query);
        assert.equal(res.statusCode, 400, query);
        assert.ok(fieldsOf(res).includes(field), `${query}: ${res.body}`);
      }
    });

    it('SQL metacharacters and very long strings in any parameter never cause a 5xx', async () => {
      const nasty = ["'", "' OR 1=1 --", '"; DROP TABLE products; --', '\\', '%', '_', '<>&|!:*()', '$1', '😀', 'x'.repeat(5_000)];
      for (const value of nasty) {
        for (const param of ['q', 'category', 'sort', 'fields', 'price_min', 'in_stock', 'cursor', 'include']) {
          const res = await t.app.inject({ method: 'GET', url: `/v1/products?${param}=${encodeURIComponent(value)}` });
          assert.ok(res.statusCode < 500, `${param}=${value.slice(0, 20)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
          assert.ok([200, 400, 422].includes(res.statusCode), `${param}=${value.slice(0, 20)} → ${res.statusCode}`);
        }
      }
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/products/x' })).statusCode, 404);
      const count = await t.container.database.db.selectFrom('products').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.ok(count.n > 0, 'the table is still there');
    });

    it('offset pagination answers total and total_pages', async () => {
      const res = await list('page=2&per_page=2');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json().pagination, { page: 2, per_page: 2, total: 5, total_pages: 3, has_more: true });
    });

    it('fields= narrows the representation', async () => {
      const res = await list('fields=id,price,in_stock');
      for (const p of res.json().data) assert.deepEqual(Object.keys(p).sort(), ['id', 'in_stock', 'price']);
    });

    it('Accept: text/csv streams the same list as CSV, still public and cacheable', async () => {
      const res = await list('sort=price&fields=id,name,price', { accept: 'text/csv' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      assert.equal(res.headers['cache-control'], 'public, max-age=60');
      const lines = res.body.trim().split('\r\n');
      assert.equal(lines[0], 'id,name,price');
      assert.equal(lines.length, 6);
      assert.equal(lines[1], `${ids.spoon},Tea spoon,300`);
    });

    it('answers 406 to an Accept it cannot serve', async () => {
      assert.equal((await list('', { accept: 'application/xml' })).statusCode, 406);
    });
  });

  describe('OpenAPI', () => {
    it('documents every catalogue operation under the catalogue tag', async () => {
      const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const ops = ['listProducts', 'createProduct', 'getProduct', 'updateProduct', 'deleteProduct'];
      const found = Object.values(doc.paths as Record<string, Record<string, { operationId?: string; tags?: string[] }>>)
        .flatMap((p) => Object.values(p))
        .filter((op) => ops.includes(op.operationId ?? ''));
      assert.equal(found.length, ops.length);
      for (const op of found) assert.deepEqual(op.tags, ['catalogue']);
    });
  });
});

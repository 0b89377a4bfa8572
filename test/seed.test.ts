import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { planScale, seedDemo, seedScale, type ScaleProgress, type ScaleResult } from '../src/infra/db/seed.ts';
import { createTestApp, login, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

const TABLES = ['users', 'follows', 'posts', 'products', 'orders', 'order_items', 'events'] as const;
type Table = (typeof TABLES)[number];

async function counts(t: TestApp): Promise<Record<Table, number>> {
  const out = {} as Record<Table, number>;
  for (const table of TABLES) {
    const row = await t.container.database.db.selectFrom(table).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    out[table] = row.n;
  }
  return out;
}

/** Orders whose total is not Σ unit_price × quantity, or whose items disagree with the order or the catalogue. */
async function inconsistentOrders(t: TestApp): Promise<unknown[]> {
  const { rows } = await sql`
    select o.id from orders o
    left join order_items i on i.order_id = o.id
    left join products p on p.id = i.product_id
    group by o.id, o.total, o.currency
    having count(i.id) = 0
        or o.total <> sum(i.unit_price * i.quantity)
        or bool_or(i.currency <> o.currency or p.currency <> o.currency or i.unit_price <> p.price)`.execute(t.container.database.db);
  return rows;
}

describe('stoa seed', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  describe('seedDemo', () => {
    it('makes an admin with a working key, users who follow each other, posts, products and one consistent order', async () => {
      const demo = await seedDemo(t.container);
      const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-api-key': demo.apiKey } });
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json().data.email, demo.adminEmail);
      await login(t.app, 'ada@example.com', demo.userPassword);
      const n = await counts(t);
      assert.deepEqual([n.users, n.follows, n.posts, n.products, n.orders, n.order_items], [4, 4, 6, 4, 1, 2]);
      assert.deepEqual(await inconsistentOrders(t), []);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from posts where created_at > now()`.execute(t.container.database.db);
      assert.equal(rows[0]!.n, 0, 'demo rows lie in the past');
    });
  });

  describe('seedScale', () => {
    const POSTS = 500;
    let initial: Record<Table, number>;
    let seededCounts: Record<Table, number>;
    let seeded: ScaleResult;
    const reports: ScaleProgress[] = [];
    let admin: SignedUp;

    before(async () => {
      initial = await counts(t);
      seeded = await seedScale(t.container, POSTS, (p) => reports.push(p));
      seededCounts = await counts(t);
      admin = await signUpAdmin(t);
    });

    it('writes the planned rows: N posts by max(10, N/100) users, max(20, N/1000) products, orders with items', async () => {
      const plan = planScale(POSTS);
      assert.deepEqual({ users: plan.users, posts: plan.posts, products: plan.products, orders: plan.orders }, { users: 10, posts: 500, products: 20, orders: 5 });
      assert.ok(plan.follows >= plan.users && plan.follows <= plan.users * (plan.users - 1));
      assert.ok(plan.orderItems >= plan.orders && plan.orderItems <= 3 * plan.orders);
      const { password: _password, ...written } = seeded;
      assert.deepEqual(written, plan);
      const delta = (table: Table) => seededCounts[table] - initial[table];
      assert.deepEqual(
        { users: delta('users'), follows: delta('follows'), posts: delta('posts'), products: delta('products'), orders: delta('orders'), orderItems: delta('order_items') },
        { users: plan.users, follows: plan.follows, posts: plan.posts, products: plan.products, orders: plan.orders, orderItems: plan.orderItems },
      );
    });

    it('appends no events for seeded rows', async () => {
      assert.equal(seededCounts.events, initial.events);
    });

    it('keeps every order total equal to Σ unit_price × quantity, in one currency, pending, with stock left', async () => {
      assert.deepEqual(await inconsistentOrders(t), []);
      const db = t.container.database.db;
      const statuses = await db.selectFrom('orders').select('status').distinct().execute();
      assert.deepEqual(statuses, [{ status: 'pending' }]);
      const stocked = await db.selectFrom('products').select(sql<number>`count(*)::int`.as('n')).where('stock', '>=', 1_000_000).executeTakeFirstOrThrow();
      assert.equal(stocked.n, planScale(POSTS).products);
    });

    it('uses typed ids and distinct, past created_at milliseconds for posts', async () => {
      const { rows } = await sql<{ total: number; distinct_at: number; future: number; bad_ids: number }>`
        select count(*)::int as total, count(distinct created_at)::int as distinct_at,
               count(*) filter (where created_at > now())::int as future,
               count(*) filter (where id !~ '^pst_[0-9a-z]{26}$')::int as bad_ids
        from posts`.execute(t.container.database.db);
      const total = seededCounts.posts;
      assert.deepEqual(rows[0], { total, distinct_at: total, future: 0, bad_ids: 0 });
      for (const [table, prefix] of [
        ['users', 'usr'],
        ['products', 'prd'],
        ['orders', 'ord'],
        ['order_items', 'itm'],
      ] as const) {
        const bad = await t.container.database.db.selectFrom(table).select('id').where('id', 'not like', `${prefix}\\_%`).execute();
        assert.deepEqual(bad, [], table);
      }
    });

    it('reports progress up to the total, table by table', () => {
      const last = reports.at(-1)!;
      const plan = planScale(POSTS);
      assert.equal(last.done, plan.users + plan.follows + plan.products + plan.posts + plan.orders + plan.orderItems);
      assert.equal(last.total, last.done);
      for (let i = 1; i < reports.length; i++) assert.ok(reports[i]!.done >= reports[i - 1]!.done);
      assert.deepEqual([...new Set(reports.map((r) => r.phase))], ['users', 'follows', 'products', 'posts', 'orders', 'analyze']);
    });

    it('gives every seeded user the shared password', async () => {
      const user = await t.container.database.db.selectFrom('users').select('email').where('email', 'like', 'user7.%').executeTakeFirstOrThrow();
      await login(t.app, user.email, seeded.password);
    });

    it('walks in cursor mode through every post once, newest first, matching offset mode', async () => {
      const seen: Array<{ id: string; created_at: string }> = [];
      let cursor: string | undefined;
      do {
        const res = await t.app.inject({ method: 'GET', url: `/v1/posts?limit=100${cursor ? `&cursor=${cursor}` : ''}`, headers: admin.auth });
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json();
        seen.push(...body.data);
        cursor = body.pagination.next_cursor ?? undefined;
      } while (cursor);
      assert.equal(seen.length, seededCounts.posts);
      assert.equal(new Set(seen.map((p) => p.id)).size, seen.length);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]!.created_at > seen[i]!.created_at, `order at ${i}`);
      const page = await t.app.inject({ method: 'GET', url: '/v1/posts?page=13&per_page=20', headers: admin.auth });
      assert.deepEqual(
        page.json().data.map((p: { id: string }) => p.id),
        seen.slice(240, 260).map((p) => p.id),
      );
    });
  });
});

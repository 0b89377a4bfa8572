import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createStoa, StoaError, type Stoa } from '../sdk/src/index.ts';
import { PASSWORD, uniqueEmail } from './helpers/app.ts';
import { startFaultyProxy, type FaultyProxy } from './helpers/faulty-proxy.ts';
import { world, type World } from './helpers/world.ts';

/**
 * The SDK against a real, listening Stoa (embedded store, or PostgreSQL +
 * Redis when DATABASE_URL / REDIS_URL are set): namespaces, pagination,
 * conditional updates, problem errors, version pinning and the event stream.
 */
describe('sdk: against a listening Stoa', () => {
  let w: World;
  let baseUrl: string;
  let ada: Stoa;
  let bob: Stoa;
  let admin: Stoa;

  before(async () => {
    w = await world();
    await w.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(w.app.server.address() as AddressInfo).port}`;
    ada = createStoa({ baseUrl, accessToken: w.ada.accessToken });
    bob = createStoa({ baseUrl, accessToken: w.bob.accessToken });
    admin = createStoa({ baseUrl, accessToken: w.admin.accessToken });
  });
  after(() => w.close());

  it('signs up and in, then acts with the token through withOptions', async () => {
    const anonymous = createStoa({ baseUrl });
    const email = uniqueEmail('sdk');
    const created = await anonymous.users.create({ email, display_name: 'Sdk User', password: PASSWORD });
    assert.equal(created.status, 201);
    assert.equal(created.data.display_name, 'Sdk User');
    assert.match(created.requestId ?? '', /.+/);
    const login = await anonymous.auth.login({ email, password: PASSWORD });
    const me = await anonymous.withOptions({ accessToken: login.data.access_token }).users.me();
    assert.equal(me.data.id, created.data.id);
    assert.equal(me.data.email, email);
  });

  it('creates, reads, updates and deletes a post through the posts namespace', async () => {
    const created = await ada.posts.create({ title: 'From the SDK', content: 'Hello' });
    assert.equal(created.status, 201);
    assert.equal(created.data.title, 'From the SDK');
    const got = await ada.posts.get(created.data.id);
    assert.equal(got.data.content, 'Hello');
    assert.ok(got.etag, 'get exposes the ETag');
    const updated = await ada.posts.update(created.data.id, { title: 'Edited' }, { ifMatch: got.etag! });
    assert.equal(updated.data.title, 'Edited');
    assert.notEqual(updated.etag, got.etag, 'the ETag moves with the change');
    const again = await ada.posts.get(created.data.id, { ifNoneMatch: updated.etag! });
    assert.equal(again.status, 304);
    assert.equal(again.notModified, true);
    const removed = await ada.posts.delete(created.data.id);
    assert.equal(removed.status, 204);
    assert.equal(removed.data, undefined);
    await assert.rejects(ada.posts.get(created.data.id), (error: unknown) => error instanceof StoaError && error.status === 404 && error.code === 'NOT_FOUND');
  });

  it('answers a stale If-Match with a StoaError 412 PRECONDITION_FAILED and leaves the resource alone', async () => {
    const post = await ada.posts.create({ title: 'Versioned', content: 'v1' });
    const first = await ada.posts.get(post.data.id);
    await ada.posts.update(post.data.id, { content: 'v2' }, { ifMatch: first.etag! });
    const error = await ada.posts.update(post.data.id, { content: 'v3' }, { ifMatch: first.etag! }).catch((e: unknown) => e);
    assert.ok(error instanceof StoaError, String(error));
    assert.equal(error.status, 412);
    assert.equal(error.code, 'PRECONDITION_FAILED');
    assert.equal((await ada.posts.get(post.data.id)).data.content, 'v2');
  });

  it('maps every problem onto StoaError with the registry code, fields, request id and the raw problem', async () => {
    const invalid = await ada.posts.create({ title: '', content: 'x' }).catch((e: unknown) => e);
    assert.ok(invalid instanceof StoaError);
    assert.equal(invalid.status, 422);
    assert.equal(invalid.code, 'VALIDATION_FAILED');
    assert.equal(invalid.title, 'Validation failed');
    assert.ok(invalid.fields.some((f) => f.field === 'title'), JSON.stringify(invalid.fields));
    assert.equal(invalid.requestId, invalid.headers.get('x-request-id'));
    assert.equal(invalid.problem?.request_id, invalid.requestId);
    assert.match(invalid.type ?? '', /\/problems\/validation-failed$/);
    assert.equal(invalid.instance, '/v2/posts');
    assert.equal(invalid.attempts, 1, 'a 422 is not retried');

    const anonymous = createStoa({ baseUrl });
    const unauthenticated = await anonymous.orders.list().then(() => null, (e: unknown) => e);
    assert.ok(unauthenticated instanceof StoaError);
    assert.equal(unauthenticated.code, 'UNAUTHENTICATED');
    assert.equal(unauthenticated.status, 401);

    const badKey = await createStoa({ baseUrl, apiKey: 'stoa_not_a_real_key' }).orders.list().then(() => null, (e: unknown) => e);
    assert.ok(badKey instanceof StoaError);
    assert.equal(badKey.status, 401);
    assert.match(badKey.code, /^INVALID_(API_KEY|TOKEN)$/);

    const forbidden = await bob.products.create({ name: 'Nope', category: 'x', price: 1, currency: 'EUR' }).catch((e: unknown) => e);
    assert.ok(forbidden instanceof StoaError);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.code, 'FORBIDDEN');

    const product = await admin.products.create({ name: 'Scarce', category: 'sdk', price: 100, currency: 'EUR', stock: 1 });
    const outOfStock = await ada.orders.create({ items: [{ product_id: product.data.id, quantity: 5 }] }).catch((e: unknown) => e);
    assert.ok(outOfStock instanceof StoaError);
    assert.equal(outOfStock.code, 'OUT_OF_STOCK');
    assert.equal(outOfStock.status, 409);

    const unknownParameter = await ada.request('GET', '/v2/posts', { query: { nope: 1 } as never }).catch((e: unknown) => e);
    assert.ok(unknownParameter instanceof StoaError);
    assert.equal(unknownParameter.code, 'UNKNOWN_PARAMETER');
    assert.equal(unknownParameter.status, 400);

    const badCursor = await ada.posts.list({ cursor: 'garbage' }).then(() => null, (e: unknown) => e);
    assert.ok(badCursor instanceof StoaError);
    assert.equal(badCursor.code, 'INVALID_CURSOR');

    const keyReused = await (async () => {
      const key = `reuse-${Date.now()}`;
      await ada.posts.create({ title: 'one', content: 'a' }, { idempotencyKey: key });
      return ada.posts.create({ title: 'two', content: 'b' }, { idempotencyKey: key }).catch((e: unknown) => e);
    })();
    assert.ok(keyReused instanceof StoaError);
    assert.equal(keyReused.code, 'IDEMPOTENCY_KEY_REUSED');

    const badKeyHeader = await ada.posts.create({ title: 'x', content: 'y' }, { idempotencyKey: 'é'.repeat(3) }).catch((e: unknown) => e);
    assert.ok(badKeyHeader instanceof StoaError);
    assert.equal(badKeyHeader.code, 'IDEMPOTENCY_KEY_INVALID');
    assert.equal(badKeyHeader.fields[0]?.field, 'idempotency-key');
  });

  it('refuses bad options and bad arguments before sending anything', async () => {
    assert.throws(() => createStoa({ baseUrl: 'not a url' }), /baseUrl/);
    assert.throws(() => createStoa({ baseUrl, apiVersion: '9' as never }), /apiVersion/);
    assert.throws(() => createStoa({ baseUrl, maxRetries: -1 }), /maxRetries/);
    assert.throws(() => createStoa({ baseUrl, timeoutMs: 0 }), /timeoutMs/);
    assert.throws(() => createStoa({ baseUrl, apiKey: 'a', accessToken: 'b' }), /not both/);
    await assert.rejects(ada.posts.get(''), /Missing path parameter "id"/);
    await assert.rejects(ada.posts.list().toArray({} as never), /max/);
  });

  it('pages: list gives one page with its cursors, for await walks every item of every page exactly once', async () => {
    const category = `sdk-pages-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await admin.products.create({ name: `P${i}`, category, price: 100 + i, currency: 'EUR', stock: 3 })).data.id);

    const first = await ada.products.list({ category, limit: 3, sort: 'price' });
    assert.equal(first.data.length, 3);
    assert.equal(first.hasMore, true);
    assert.ok(first.nextCursor);
    const second = await ada.products.list({ category, limit: 3, sort: 'price', cursor: first.nextCursor! });
    assert.deepEqual(second.data.map((p) => p.id), ids.slice(3, 6));
    assert.deepEqual((await first.nextPage())!.data.map((p) => p.id), ids.slice(3, 6));

    const walked: string[] = [];
    for await (const product of ada.products.list({ category, limit: 3, sort: 'price' })) walked.push(product.id);
    assert.deepEqual(walked, ids, 'every item once, in order, across three pages');

    let pages = 0;
    for await (const page of ada.products.list({ category, limit: 3, sort: 'price' }).pages()) {
      pages += 1;
      assert.ok(page.requestId);
    }
    assert.equal(pages, 3);
    assert.deepEqual((await ada.products.list({ category, limit: 2, sort: 'price' }).toArray({ max: 5 })).map((p) => p.id), ids.slice(0, 5));
  });

  it('pins the API version: v1 speaks v1 (name, offset pages for users), v2 speaks v2', async () => {
    const v1 = createStoa({ baseUrl, accessToken: w.ada.accessToken, apiVersion: '1' });
    const me1 = await v1.users.me();
    assert.equal(me1.data.name, 'Ada');
    assert.equal(me1.headers.get('stoa-version'), '1');
    const me2 = await ada.users.me();
    assert.equal(me2.data.display_name, 'Ada');
    assert.equal(me2.headers.get('stoa-version'), '2');
    const users = await v1.users.list({ per_page: 1 });
    assert.equal(users.pagination.page, 1);
    const walked = await v1.users.list({ per_page: 1 }).toArray({ max: 3 });
    assert.equal(new Set(walked.map((u) => u.id)).size, walked.length, 'offset pages followed without repeats');
    assert.ok(walked.length >= 3);
  });

  it('runs a whole order: place, pay, follow up, through orders and charges; and the low-level request is typed the same', async () => {
    const product = await admin.products.create({ name: 'Lamp', category: 'sdk-order', price: 1500, currency: 'EUR', stock: 4 });
    const order = await ada.orders.create({ items: [{ product_id: product.data.id, quantity: 2 }] });
    assert.equal(order.data.total, 3000);
    assert.match(order.idempotencyKey ?? '', /^[0-9a-f-]{36}$/, 'a POST carries a generated key');
    const charge = await ada.charges.create({ amount: order.data.total, currency: 'EUR', source: 'tok_visa', order_id: order.data.id });
    assert.equal(charge.status, 201);
    const items = await ada.orders.items(order.data.id);
    assert.equal(items.data[0]?.quantity, 2);
    const raw = await ada.request('GET', '/v2/orders/{id}', { params: { id: order.data.id } });
    assert.equal(raw.data.data.id, order.data.id);
    const second = await ada.orders.create({ items: [{ product_id: product.data.id, quantity: 1 }] });
    const cancelled = await ada.orders.cancel(second.data.id);
    assert.equal(cancelled.data.status, 'cancelled');
    const mine = await ada.users.orders(w.ada.id).toArray({ max: 50 });
    assert.ok(mine.some((o) => o.id === order.data.id));
  });

  it('streams events: resumes after dropped connections with Last-Event-ID, each event exactly once', async () => {
    const proxy: FaultyProxy = await startFaultyProxy(baseUrl);
    const stream = createStoa({ baseUrl: proxy.url, accessToken: w.ada.accessToken }).events.stream({ types: ['post.created'], reconnect: { baseDelayMs: 50, maxDelayMs: 200 } });
    try {
      const received: number[] = [];
      const titles: string[] = [];
      const expected: string[] = [];
      const reading = (async () => {
        for await (const event of stream) {
          received.push(event.sequence);
          titles.push(String((event.data as { title?: unknown }).title));
          if (titles.length === 9) break;
        }
      })();
      await waitUntil(() => proxy.seen.some((r) => r.url.startsWith('/v2/events')));
      await new Promise((r) => setTimeout(r, 100));
      for (let round = 0; round < 3; round++) {
        // Written directly (not through the proxy) while the stream may be down: the resume must bring them.
        for (let i = 0; i < 3; i++) {
          const title = `stream ${round}.${i}`;
          expected.push(title);
          await ada.posts.create({ title, content: 'x' });
        }
        await waitUntil(() => titles.length > round * 3);
        proxy.dropConnections();
      }
      await within(reading, 15_000, 'nine events');
      assert.deepEqual(titles, expected, 'no loss, no duplicate, in order');
      assert.deepEqual([...received].sort((a, b) => a - b), received);
      const connections = proxy.seen.filter((r) => r.url.startsWith('/v2/events'));
      assert.ok(connections.length >= 2, `reconnected (${connections.length} connections)`);
      assert.ok(connections.slice(1).every((c) => /^\d+$/.test(String(c.headers['last-event-id']))), 'every reconnection sends Last-Event-ID');
      assert.equal(stream.lastEventId, received.at(-1));
    } finally {
      stream.close();
      await proxy.close();
    }
  });

  it('streams: a drop before the first event loses nothing (the stream starts from the newest visible event)', async () => {
    const proxy = await startFaultyProxy(baseUrl);
    let streams = 0;
    proxy.plan = (request) => {
      if (!String(request.headers.accept).includes('text/event-stream')) return { kind: 'pass' };
      // The reconnection reaches the server late: whatever happens meanwhile must come from the resume, not the live feed.
      return streams++ === 0 ? { kind: 'pass' } : { kind: 'delay', ms: 400 };
    };
    const stream = createStoa({ baseUrl: proxy.url, accessToken: w.ada.accessToken }).events.stream({ types: ['post.created'], reconnect: { baseDelayMs: 10, maxDelayMs: 20 } });
    try {
      const iterator = stream[Symbol.asyncIterator]();
      const first = iterator.next();
      await waitUntil(() => streams === 1);
      await new Promise((r) => setTimeout(r, 150));
      proxy.dropConnections();
      const post = await ada.posts.create({ title: 'during the gap', content: 'x' });
      const event = await within(first, 10_000, 'the event written during the gap');
      assert.equal(event.done, false);
      assert.equal(event.value!.resource_id, post.data.id);
      assert.equal(streams, 2);
      const resumed = proxy.seen.filter((r) => String(r.headers.accept).includes('text/event-stream'));
      assert.match(String(resumed[0]!.headers['last-event-id']), /^\d+$/, 'even the first connection names its starting point');
      await iterator.return?.();
    } finally {
      stream.close();
      await proxy.close();
    }
  });

  it('streams from a stored point with after, through a ticket, and ends on a refusal it cannot fix', async () => {
    const before = await ada.posts.create({ title: 'before the stream', content: 'x' });
    const events = await ada.events.list({ type: 'post.created', limit: 100 }).toArray({ max: 1000 });
    const mark = events.find((e) => e.resource_id === before.data.id)!.sequence;
    const later = await ada.posts.create({ title: 'after the mark', content: 'x' });
    const stream = ada.events.stream({ types: ['post.created'], after: mark - 1, useTicket: true });
    const seen: string[] = [];
    try {
      await within(
        (async () => {
          for await (const event of stream) {
            seen.push(event.resource_id);
            if (event.resource_id === later.data.id) break;
          }
        })(),
        10_000,
        'the stream from a stored point',
      );
    } finally {
      stream.close();
    }
    assert.equal(seen[0], before.data.id, 'starts right after the stored sequence');
    assert.ok(seen.includes(later.data.id));

    const refused = createStoa({ baseUrl, apiKey: 'stoa_wrong' }).events.stream();
    const error = await (async () => {
      for await (const _ of refused) return null;
      return null;
    })().catch((e: unknown) => e);
    assert.ok(error instanceof StoaError);
    assert.equal(error.status, 401);
  });
});

/** `promise`, or a rejection naming `what` after `ms`: a lost event fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Compile-time checks, run by `npm run typecheck`: the generated types pin
 * what each call accepts and returns. Never called; a line whose
 * `@ts-expect-error` stops being an error fails the typecheck.
 */
export function typeChecks(v2: Stoa, v1: Stoa<'1'>): void {
  // @ts-expect-error: a post needs content
  void v2.posts.create({ title: 'no content' });
  // @ts-expect-error: unknown field
  void v2.products.update('id', { colour: 'red' });
  // @ts-expect-error: an order status outside the enum
  void v2.orders.update('id', { status: 'lost' });
  // @ts-expect-error: not a query parameter of the products list
  void v2.products.list({ colour: 'red' });
  void v2.users.me().then((me) => {
    const name: string = me.data.display_name;
    // @ts-expect-error: v2 has no `name` on a user
    void me.data.name;
    return name;
  });
  void v1.users.me().then((me) => {
    const name: string = me.data.name;
    // @ts-expect-error: v1 has no `display_name`
    void me.data.display_name;
    return name;
  });
  // @ts-expect-error: the low-level request knows the document's paths
  void v2.request('GET', '/v2/nowhere');
  // @ts-expect-error: a path parameter is required
  void v2.request('GET', '/v2/orders/{id}');
  // @ts-expect-error: v1's paths on a v2 client
  void v2.request('GET', '/v1/orders');
  void v2.request('POST', '/v2/posts', { body: { title: 't', content: 'c' } }).then((r) => r.data.data.id satisfies string);
}

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createTestApp, problemOf, signUp, type TestApp } from './helpers/app.ts';
import { collect, failure, grpcOf, type GrpcClient } from './helpers/grpc.ts';
import { world, WRITE_SCOPES, type World } from './helpers/world.ts';
import { OrderService } from '../src/transports/grpc/gen/stoa/v1/orders_pb.ts';
import { UserService } from '../src/transports/grpc/gen/stoa/v1/users_pb.ts';

const U = UserService.method;
const O = OrderService.method;

describe('gRPC over the network (@grpc/grpc-js client)', () => {
  let w: World;
  let g: Awaited<ReturnType<typeof grpcOf>>;
  let client: GrpcClient;
  before(async () => {
    w = await world();
    g = await grpcOf(w.t);
    client = g.client;
  });
  after(async () => {
    await g?.close();
    await w?.close();
  });

  describe('UserService', () => {
    it('GetUser answers the full record to its owner and the public profile to others', async () => {
      const own = (await client.unary(U.getUser, { id: w.ada.id }, w.ada.auth)).message.user!;
      assert.equal(own.id, w.ada.id);
      assert.equal(own.email, w.ada.email);
      assert.equal(own.displayName, 'Ada');
      assert.equal(own.role, 'user');
      assert.ok(own.createdAt && own.createdAt.seconds > 0n);
      const rest = (await w.app.inject({ method: 'GET', url: `/v2/users/${w.ada.id}`, headers: w.ada.auth })).json().data;
      assert.equal(new Date(Number(own.createdAt!.seconds) * 1000 + own.createdAt!.nanos / 1e6).toISOString(), rest.created_at);

      const other = (await client.unary(U.getUser, { id: w.ada.id }, w.bob.auth)).message.user!;
      assert.equal(other.displayName, 'Ada');
      assert.equal(other.email, undefined);
      assert.equal(other.role, undefined);
      assert.equal(other.updatedAt, undefined);
    });

    it('echoes x-request-id, or makes one, in the response metadata (errors included)', async () => {
      const given = (await client.unary(U.getUser, { id: w.ada.id }, { ...w.ada.auth, 'x-request-id': 'trace-42' })).headers.get('x-request-id');
      assert.deepEqual(given, ['trace-42']);
      const made = (await client.unary(U.getUser, { id: w.ada.id }, w.ada.auth)).headers.get('x-request-id')[0];
      assert.match(String(made), /^[0-9a-f-]{36}$/);
      const refused = await failure(client.unary(U.getUser, { id: 'usr_missing' }, { ...w.ada.auth, 'x-request-id': 'trace-43' }));
      assert.deepEqual(refused.metadata.get('x-request-id'), ['trace-43']);
    });

    it('GetUser of an unknown id is NOT_FOUND with ErrorInfo(reason NOT_FOUND, domain stoa)', async () => {
      const f = await failure(client.unary(U.getUser, { id: 'usr_nobody' }, w.ada.auth));
      assert.equal(f.code, status.NOT_FOUND);
      assert.equal(f.errorInfo?.reason, 'NOT_FOUND');
      assert.equal(f.errorInfo?.domain, 'stoa');
    });

    it('refuses a call without credentials (UNAUTHENTICATED) and a bad credential (UNAUTHENTICATED, its own reason)', async () => {
      const none = await failure(client.unary(U.getUser, { id: w.ada.id }));
      assert.equal(none.code, status.UNAUTHENTICATED);
      assert.equal(none.errorInfo?.reason, 'UNAUTHENTICATED');
      const badToken = await failure(client.unary(U.getUser, { id: w.ada.id }, { authorization: 'Bearer not-a-token' }));
      assert.equal(badToken.code, status.UNAUTHENTICATED);
      assert.equal(badToken.errorInfo?.reason, 'INVALID_TOKEN');
      const badKey = await failure(client.unary(U.getUser, { id: w.ada.id }, { 'x-api-key': 'stoa_live_nope' }));
      assert.equal(badKey.code, status.UNAUTHENTICATED);
      assert.equal(badKey.errorInfo?.reason, 'INVALID_API_KEY');
    });

    it('takes API keys from x-api-key and from authorization, with the same scopes as REST', async () => {
      const full = await w.apiKey(w.ada, WRITE_SCOPES);
      assert.equal((await client.unary(U.getUser, { id: w.ada.id }, full)).message.user?.email, w.ada.email);
      assert.equal((await client.unary(U.getUser, { id: w.ada.id }, { authorization: `Bearer ${full['x-api-key']}` })).message.user?.id, w.ada.id);
      const ordersOnly = await w.apiKey(w.ada, ['orders:read']);
      const f = await failure(client.unary(U.getUser, { id: w.ada.id }, ordersOnly));
      assert.equal(f.code, status.PERMISSION_DENIED);
      assert.equal(f.errorInfo?.reason, 'INSUFFICIENT_SCOPE');
      const rest = await w.app.inject({ method: 'GET', url: `/v2/users/${w.ada.id}`, headers: ordersOnly });
      assert.equal(problemOf(rest).code, 'INSUFFICIENT_SCOPE');
    });

    it('CreateUser signs up without a credential', async () => {
      const email = `grpc.${randomBytes(4).toString('hex')}@example.com`;
      const user = (await client.unary(U.createUser, { email, displayName: 'Grace', password: 'correct horse battery staple' })).message.user!;
      assert.match(user.id, /^usr_/);
      assert.equal(user.email, email);
      const login = await w.app.inject({ method: 'POST', url: '/v2/auth/login', payload: { email, password: 'correct horse battery staple' } });
      assert.equal(login.statusCode, 200);
    });

    it('CreateUser with bad input is INVALID_ARGUMENT with one BadRequest violation per field, the same field codes as REST', async () => {
      const cases: Array<Record<string, string>> = [
        { email: 'not-an-email', display_name: 'Grace', password: 'short' },
        { email: `${'x'.repeat(250)}@example.com`, display_name: 'x'.repeat(101), password: 'correct horse battery staple' },
        {},
        { email: 'a@example.com', display_name: '   ', password: 'correct horse battery staple' },
      ];
      for (const input of cases) {
        const f = await failure(client.unary(U.createUser, { email: input.email, displayName: input.display_name, password: input.password }));
        assert.equal(f.code, status.INVALID_ARGUMENT, JSON.stringify(input));
        assert.equal(f.errorInfo?.reason, 'VALIDATION_FAILED');
        const rest = problemOf(await w.app.inject({ method: 'POST', url: '/v2/users', payload: input }));
        const restFields = (rest.errors as Array<{ field: string; code: string }>).map((e) => `${e.field}:${e.code}`).sort();
        const grpcFields = f.badRequest!.fieldViolations.map((v) => `${v.field}:${v.reason}`).sort();
        assert.deepEqual(grpcFields, restFields, JSON.stringify(input));
        assert.ok(grpcFields.length >= 1);
        assert.ok(f.badRequest!.fieldViolations.every((v) => v.description.length > 0));
      }
    });

    it('CreateUser with a taken email is ALREADY_EXISTS (EMAIL_TAKEN)', async () => {
      const f = await failure(client.unary(U.createUser, { email: w.ada.email, displayName: 'Copy', password: 'correct horse battery staple' }));
      assert.equal(f.code, status.ALREADY_EXISTS);
      assert.equal(f.errorInfo?.reason, 'EMAIL_TAKEN');
    });

    it("DeleteUser refuses someone else's account (PERMISSION_DENIED) and deletes one's own", async () => {
      const victim = await w.newUser('Victim');
      const f = await failure(client.unary(U.deleteUser, { id: victim.id }, w.bob.auth));
      assert.equal(f.code, status.PERMISSION_DENIED);
      assert.equal(f.errorInfo?.reason, 'FORBIDDEN');
      const done = await client.unary(U.deleteUser, { id: victim.id }, victim.auth);
      assert.equal(done.message.deletedId, victim.id);
      const gone = await failure(client.unary(U.getUser, { id: victim.id }, w.ada.auth));
      assert.equal(gone.code, status.NOT_FOUND);
      const again = await failure(client.unary(U.deleteUser, { id: 'usr_unknown' }, w.admin.auth));
      assert.equal(again.code, status.NOT_FOUND);
    });

    it('ListUsers streams every user REST lists, whatever the page_size hint', async () => {
      const rest: string[] = [];
      let url: string | null = '/v2/users?limit=100';
      while (url) {
        const res = await w.app.inject({ method: 'GET', url, headers: w.admin.auth });
        const body = res.json() as { data: Array<{ id: string }>; next_cursor?: string | null };
        rest.push(...body.data.map((u) => u.id));
        url = body.next_cursor ? `/v2/users?limit=100&cursor=${encodeURIComponent(body.next_cursor)}` : null;
      }
      for (const pageSize of [0, 1, 2, 100]) {
        const streamed = await collect(client.serverStream(U.listUsers, { pageSize }, w.admin.auth));
        assert.deepEqual(streamed.map((m) => m.user!.id), rest, `page_size ${pageSize}`);
      }
      const asBob = await collect(client.serverStream(U.listUsers, { pageSize: 5 }, w.bob.auth));
      assert.equal(asBob.find((m) => m.user!.id === w.ada.id)?.user?.email, undefined, 'others are public profiles');
    });

    it('ListUsers refuses a page_size over 100 (INVALID_ARGUMENT naming page_size) and a caller without users:read', async () => {
      const f = await failure(collect(client.serverStream(U.listUsers, { pageSize: 101 }, w.ada.auth)));
      assert.equal(f.code, status.INVALID_ARGUMENT);
      assert.equal(f.errorInfo?.reason, 'INVALID_PARAMETER');
      assert.deepEqual(f.badRequest?.fieldViolations.map((v) => [v.field, v.reason]), [['page_size', 'invalid_value']]);
      const negative = await failure(collect(client.serverStream(U.listUsers, { pageSize: -1 }, w.ada.auth)));
      assert.equal(negative.code, status.INVALID_ARGUMENT);
      const key = await w.apiKey(w.ada, ['orders:read']);
      const scoped = await failure(collect(client.serverStream(U.listUsers, {}, key)));
      assert.equal(scoped.code, status.PERMISSION_DENIED);
    });

    it('ListUsers cancelled by the client stops reading the database', async () => {
      for (let i = 0; i < 6; i++) await w.newUser(`Many ${i}`);
      const stream = client.serverStream(U.listUsers, { pageSize: 1 }, w.admin.auth);
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      stream.cancel();
      const ended = await new Promise<number>((resolve) => stream.on('error', (e: { code: number }) => resolve(e.code)));
      assert.equal(ended, status.CANCELLED);
      await new Promise((r) => setTimeout(r, 200));
      const before = w.t.queries();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(w.t.queries(), before, 'no page is read after the cancel');
    });
  });

  describe('OrderService', () => {
    let orders: string[];
    before(async () => {
      const product = await w.product({ price: 250, currency: 'EUR', stock: 100 });
      orders = [];
      for (let i = 0; i < 3; i++) orders.push((await w.order(w.ada, [{ product_id: product, quantity: i + 1 }])).id);
    });

    it('GetOrder answers the order with its items, money as minor units plus currency', async () => {
      const order = (await client.unary(O.getOrder, { id: orders[2]! }, w.ada.auth)).message.order!;
      assert.equal(order.id, orders[2]);
      assert.equal(order.userId, w.ada.id);
      assert.equal(order.status, 'pending');
      assert.deepEqual([order.total?.amountMinor, order.total?.currency], [750n, 'EUR']);
      assert.equal(order.items.length, 1);
      assert.deepEqual([order.items[0]!.quantity, order.items[0]!.unitPrice?.amountMinor, order.items[0]!.total?.amountMinor], [3, 250n, 750n]);
    });

    it("GetOrder of someone else's order is NOT_FOUND, as on REST", async () => {
      const f = await failure(client.unary(O.getOrder, { id: orders[0]! }, w.bob.auth));
      assert.equal(f.code, status.NOT_FOUND);
      assert.equal((await w.app.inject({ method: 'GET', url: `/v2/orders/${orders[0]}`, headers: w.bob.auth })).statusCode, 404);
    });

    it('ListOrders pages with page_size and page_token → next_page_token, newest first, each order once', async () => {
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = (await client.unary(O.listOrders, { pageSize: 1, pageToken: token }, w.ada.auth)).message;
        seen.push(...page.orders.map((o) => o.id));
        token = page.nextPageToken;
        pages++;
      } while (token !== '' && pages < 10);
      assert.deepEqual(seen, [...orders].reverse());
      const all = (await client.unary(O.listOrders, {}, w.ada.auth)).message;
      assert.deepEqual(all.orders.map((o) => o.id), [...orders].reverse());
      assert.equal(all.nextPageToken, '');
      assert.deepEqual((await client.unary(O.listOrders, {}, w.bob.auth)).message.orders, []);
    });

    it('ListOrders refuses a bad page_token and page_size, naming the field', async () => {
      const f = await failure(client.unary(O.listOrders, { pageToken: 'garbage' }, w.ada.auth));
      assert.equal(f.code, status.INVALID_ARGUMENT);
      assert.equal(f.errorInfo?.reason, 'INVALID_CURSOR');
      const size = await failure(client.unary(O.listOrders, { pageSize: 1000 }, w.ada.auth));
      assert.equal(size.code, status.INVALID_ARGUMENT);
      assert.deepEqual(size.badRequest?.fieldViolations.map((v) => v.field), ['page_size']);
      const unauthenticated = await failure(client.unary(O.listOrders, {}));
      assert.equal(unauthenticated.code, status.UNAUTHENTICATED);
    });
  });

  it('counts calls per method and status in the same /metrics', async () => {
    await client.unary(U.getUser, { id: w.ada.id }, w.ada.auth);
    await failure(client.unary(U.getUser, { id: 'usr_none' }, w.ada.auth));
    const text = (await w.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(text, /grpc_server_handled_total\{grpc_type="unary",grpc_service="stoa.v1.UserService",grpc_method="GetUser",grpc_code="OK"\} [1-9]/);
    assert.match(text, /grpc_server_handled_total\{[^}]*grpc_method="GetUser",grpc_code="NOT_FOUND"\} [1-9]/);
    assert.match(text, /grpc_server_handling_seconds_bucket\{[^}]*grpc_method="GetUser"/);
    assert.match(text, /http_requests_total/);
  });
});

describe('gRPC rate limiting (the same limiter and policies as REST)', () => {
  let t: TestApp;
  let g: Awaited<ReturnType<typeof grpcOf>>;
  before(async () => {
    t = await createTestApp({ STOA_RATE_LIMIT: 'on', STOA_RATE_LIMIT_PREFIX: `test:grpc:${randomBytes(4).toString('hex')}:`, STOA_RATE_LIMIT_FREE: '3/1m' });
    g = await grpcOf(t);
  });
  after(async () => {
    await g?.close();
    await t?.close();
  });

  it('answers RESOURCE_EXHAUSTED with RetryInfo once the plan policy is spent, counting REST and gRPC together', async () => {
    const ada = await signUp(t.app, { name: 'Ada' });
    const rest = await t.app.inject({ method: 'GET', url: `/v2/users/${ada.id}`, headers: ada.auth });
    assert.equal(rest.statusCode, 200);
    const first = await g.client.unary(U.getUser, { id: ada.id }, ada.auth);
    assert.equal(first.headers.get('ratelimit-policy').length, 1, 'the decision travels in the metadata');
    await g.client.unary(U.getUser, { id: ada.id }, ada.auth);
    const f = await failure(g.client.unary(U.getUser, { id: ada.id }, ada.auth));
    assert.equal(f.code, status.RESOURCE_EXHAUSTED);
    assert.equal(f.errorInfo?.reason, 'RATE_LIMITED');
    const delay = f.retryInfo?.retryDelay;
    assert.ok(delay && delay.seconds >= 1n && delay.seconds <= 60n, `retry delay ${delay?.seconds}`);
    assert.equal((await t.app.inject({ method: 'GET', url: `/v2/users/${ada.id}`, headers: ada.auth })).statusCode, 429);
  });
});

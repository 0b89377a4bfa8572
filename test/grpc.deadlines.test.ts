import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { sql } from 'kysely';
import pg from 'pg';
import { onPostgres } from './helpers/app.ts';
import { failure, grpcOf } from './helpers/grpc.ts';
import { world, type World } from './helpers/world.ts';
import { requestTimeoutMs } from '../src/transports/grpc/interceptors.ts';
import { OrderService } from '../src/transports/grpc/gen/stoa/v1/orders_pb.ts';
import { UserService } from '../src/transports/grpc/gen/stoa/v1/users_pb.ts';

const deadline = (ms: number) => ({ deadline: new Date(Date.now() + ms) });

describe('gRPC deadlines', () => {
  let w: World;
  let g: Awaited<ReturnType<typeof grpcOf>>;
  let orderId: string;
  before(async () => {
    w = await world();
    g = await grpcOf(w.t);
    orderId = (await w.order(w.ada, [{ product_id: await w.product(), quantity: 1 }])).id;
  });
  after(async () => {
    await g?.close();
    await w?.close();
  });

  it('reads the deadline of every protocol: grpc-timeout units and connect-timeout-ms', () => {
    const h = (entries: Record<string, string>) => new Headers(entries);
    assert.equal(requestTimeoutMs(h({ 'grpc-timeout': '250m' })), 250);
    assert.equal(requestTimeoutMs(h({ 'grpc-timeout': '2S' })), 2_000);
    assert.equal(requestTimeoutMs(h({ 'grpc-timeout': '1M' })), 60_000);
    assert.equal(requestTimeoutMs(h({ 'grpc-timeout': '5000u' })), 5);
    assert.equal(requestTimeoutMs(h({ 'connect-timeout-ms': '1500' })), 1_500);
    assert.equal(requestTimeoutMs(h({ 'grpc-timeout': 'soon' })), undefined);
    assert.equal(requestTimeoutMs(h({})), undefined);
  });

  it('a call within a deadline shorter than the server maximum answers as usual (its statements run bounded)', async () => {
    const order = (await g.client.unary(OrderService.method.getOrder, { id: orderId }, w.ada.auth, deadline(5_000))).message.order!;
    assert.equal(order.id, orderId);
    const user = (await g.client.unary(UserService.method.getUser, { id: w.ada.id }, w.ada.auth, deadline(5_000))).message.user!;
    assert.equal(user.id, w.ada.id);
    // Longer than the server's maximum (30 s): accepted, the server's own bound applies.
    assert.equal((await g.client.unary(OrderService.method.getOrder, { id: orderId }, w.ada.auth, deadline(120_000))).message.order?.id, orderId);
  });

  it('a domain error under a deadline is still the domain error', async () => {
    const f = await failure(g.client.unary(OrderService.method.getOrder, { id: 'ord_missing' }, w.ada.auth, deadline(5_000)));
    assert.equal(f.code, status.NOT_FOUND);
  });

  it(
    'a deadline that passes while a statement waits cancels the statement on the server and answers DEADLINE_EXCEEDED',
    { skip: !onPostgres && 'PGlite runs each statement to its end inside the event loop; nothing can interrupt it (docs/grpc.md)' },
    async () => {
      const schema = (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(w.t.container.database.db)).rows[0]!.schema;
      // Another session holds the orders table: the call's SELECT waits on the lock until something ends it.
      const locker = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE "${schema}".orders IN ACCESS EXCLUSIVE MODE`);
        const started = Date.now();
        const f = await failure(g.client.unary(OrderService.method.getOrder, { id: orderId }, w.ada.auth, deadline(400)));
        assert.equal(f.code, status.DEADLINE_EXCEEDED);
        assert.ok(Date.now() - started < 3_000);
        // The server's statement is gone while the lock is still held: it was cancelled, not left waiting.
        let waiting = -1;
        for (let i = 0; i < 40 && waiting !== 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          const { rows } = await locker.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query ILIKE '%orders%'`,
          );
          waiting = Number(rows[0]!.n);
        }
        assert.equal(waiting, 0, 'no statement of the call is still waiting for the lock');
        const metrics = (await w.app.inject({ method: 'GET', url: '/metrics' })).body;
        assert.match(metrics, /grpc_server_handled_total\{[^}]*grpc_method="GetOrder",grpc_code="DEADLINE_EXCEEDED"\} [1-9]/);
      } finally {
        await locker.query('ROLLBACK').catch(() => {});
        await locker.end();
      }
      // The connection went back to the pool in a usable state.
      assert.equal((await g.client.unary(OrderService.method.getOrder, { id: orderId }, w.ada.auth, deadline(5_000))).message.order?.id, orderId);
    },
  );
});

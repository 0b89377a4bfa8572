import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { sql } from 'kysely';
import pg from 'pg';
import { onPostgres } from './helpers/app.ts';
import { GrpcClient } from './helpers/grpc.ts';
import { world, type World } from './helpers/world.ts';
import { loadConfig } from '../src/config.ts';
import { listenGrpc } from '../src/transports/grpc/listener.ts';
import { createRpc } from '../src/transports/grpc/rpc.ts';
import pino from 'pino';
import { OrderService } from '../src/transports/grpc/gen/stoa/v1/orders_pb.ts';
import { UserService } from '../src/transports/grpc/gen/stoa/v1/users_pb.ts';

describe('the gRPC listener', () => {
  let w: World;
  let dir: string;
  before(async () => {
    w = await world();
    dir = mkdtempSync(path.join(tmpdir(), 'stoa-grpc-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await w?.close();
  });

  it('speaks TLS when STOA_GRPC_TLS_CERT and STOA_GRPC_TLS_KEY are set, and refuses plaintext then', async () => {
    const config = loadConfig({ STOA_DATA_DIR: 'memory', STOA_GRPC_TLS_CERT: path.join(dir, 'cert.pem'), STOA_GRPC_TLS_KEY: path.join(dir, 'key.pem') });
    const listener = await listenGrpc(w.app.rpc, { port: 0, host: '127.0.0.1', config: config.grpc });
    const secure = new GrpcClient(`localhost:${listener.port}`, grpc.credentials.createSsl(readFileSync(path.join(dir, 'cert.pem'))));
    const plain = new GrpcClient(`127.0.0.1:${listener.port}`);
    try {
      const { message } = await secure.unary(UserService.method.getUser, { id: w.ada.id }, w.ada.auth);
      assert.equal(message.user?.id, w.ada.id);
      await assert.rejects(plain.unary(UserService.method.getUser, { id: w.ada.id }, w.ada.auth, { deadline: new Date(Date.now() + 2_000) }), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED);
    } finally {
      secure.close();
      plain.close();
      await listener.close(500);
    }
  });

  it('logs one line per call with its request id, method, status and caller', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const listener = await listenGrpc(createRpc(w.t.container, logger), { port: 0, host: '127.0.0.1', config: w.t.config.grpc });
    const client = new GrpcClient(`127.0.0.1:${listener.port}`);
    try {
      await client.unary(UserService.method.getUser, { id: w.ada.id }, { ...w.ada.auth, 'x-request-id': 'log-1' });
      await assert.rejects(client.unary(UserService.method.getUser, { id: 'usr_none' }, { ...w.ada.auth, 'x-request-id': 'log-2' }));
      const ok = lines.find((l) => l.request_id === 'log-1');
      assert.deepEqual([ok?.rpc, ok?.grpc_code, ok?.principal], ['stoa.v1.UserService/GetUser', 'OK', w.ada.id]);
      assert.equal(lines.find((l) => l.request_id === 'log-2')?.grpc_code, 'NOT_FOUND');
      assert.ok(lines.every((l) => typeof l.request_id === 'string'), 'every line names its request');
      assert.ok(!JSON.stringify(lines).includes(w.ada.accessToken), 'no credential in the logs');
    } finally {
      client.close();
      await listener.close(500);
    }
  });

  it('refuses half a TLS configuration with one line naming the missing variable', () => {
    assert.throws(() => loadConfig({ STOA_DATA_DIR: 'memory', STOA_GRPC_TLS_CERT: '/tmp/cert.pem' }), /STOA_GRPC_TLS_KEY must be set together with STOA_GRPC_TLS_CERT/);
  });

  it('on shutdown lets a unary call in flight finish and refuses new connections', { skip: !onPostgres && 'needs a statement that waits (a lock held by another PostgreSQL session)' }, async () => {
    const listener = await listenGrpc(w.app.rpc, { port: 0, host: '127.0.0.1', config: w.t.config.grpc });
    const client = new GrpcClient(`127.0.0.1:${listener.port}`);
    const order = await w.order(w.ada, [{ product_id: await w.product(), quantity: 1 }]);
    const schema = (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(w.t.container.database.db)).rows[0]!.schema;
    const locker = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".orders IN ACCESS EXCLUSIVE MODE`);
      const inFlight = client.unary(OrderService.method.getOrder, { id: order.id }, w.ada.auth);
      await new Promise((r) => setTimeout(r, 300));
      const closed = listener.close(10_000);
      await new Promise((r) => setTimeout(r, 200));
      const late = new GrpcClient(`127.0.0.1:${listener.port}`);
      await assert.rejects(late.unary(UserService.method.getUser, { id: w.ada.id }, w.ada.auth, { deadline: new Date(Date.now() + 1_000) }));
      late.close();
      await locker.query('ROLLBACK');
      assert.equal((await inFlight).message.order?.id, order.id, 'the call in flight finished');
      await closed;
    } finally {
      await locker.end().catch(() => {});
      client.close();
    }
  });
});

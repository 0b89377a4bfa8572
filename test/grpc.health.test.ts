import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { HealthCheckResponse_ServingStatus as Serving, Health } from '../src/transports/grpc/gen/grpc/health/v1/health_pb.ts';
import { listenGrpc, type GrpcListener } from '../src/transports/grpc/listener.ts';
import { createRpc } from '../src/transports/grpc/rpc.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { GrpcClient } from './helpers/grpc.ts';
import { cuttableProxy, type CuttableProxy } from './helpers/tcp-proxy.ts';

describe('gRPC health against a database that really goes down', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL: the embedded database cannot be taken down' }, () => {
  let t: TestApp;
  let proxy: CuttableProxy;
  let listener: GrpcListener;
  let client: GrpcClient;
  before(async () => {
    proxy = await cuttableProxy(new URL(process.env.DATABASE_URL!));
    t = await createTestApp({ DATABASE_URL: proxy.url });
    listener = await listenGrpc(createRpc(t.container, pino({ level: 'silent' })), { port: 0, host: '127.0.0.1', config: t.config.grpc });
    client = new GrpcClient(`127.0.0.1:${listener.port}`);
  });
  after(async () => {
    client?.close();
    await listener?.close(500);
    proxy?.restore();
    await t?.close();
    await proxy?.close();
  });

  const check = async (service: string) => (await client.unary(Health.method.check, { service })).message.status;

  it('Check answers NOT_SERVING overall and for stoa.v1.UserService while PostgreSQL is unreachable, Watch streams each change, SERVING again once it is back', async () => {
    const watch = client.serverStream(Health.method.watch, { service: 'stoa.v1.UserService' });
    watch.on('error', () => {});
    const seen: Serving[] = [];
    let wake: (() => void) | undefined;
    watch.on('data', (m: { status: Serving }) => (seen.push(m.status), wake?.()));
    const statusCount = (n: number) => new Promise<void>((resolve) => (seen.length >= n ? resolve() : (wake = () => seen.length >= n && resolve())));
    try {
      await statusCount(1);
      assert.deepEqual([await check(''), await check('stoa.v1.UserService'), seen[0]], [Serving.SERVING, Serving.SERVING, Serving.SERVING]);

      proxy.cut();
      assert.deepEqual([await check(''), await check('stoa.v1.UserService')], [Serving.NOT_SERVING, Serving.NOT_SERVING]);
      await statusCount(2);
      assert.equal(seen[1], Serving.NOT_SERVING, 'Watch sends the change');

      proxy.restore();
      await statusCount(3);
      assert.deepEqual(seen, [Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING], 'Watch sends each change once');
      assert.deepEqual([await check(''), await check('stoa.v1.UserService')], [Serving.SERVING, Serving.SERVING]);
    } finally {
      watch.cancel();
    }
  });
});

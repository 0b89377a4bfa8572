import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import pino from 'pino';
import type { Container } from '../src/container.ts';
import { createReadiness } from '../src/platform/health/index.ts';
import { HealthCheckResponse_ServingStatus as Serving, Health } from '../src/transports/grpc/gen/grpc/health/v1/health_pb.ts';
import { ErrorInfoSchema } from '../src/transports/grpc/gen/google/rpc/error_details_pb.ts';
import { listenGrpc } from '../src/transports/grpc/listener.ts';
import { createRpc } from '../src/transports/grpc/rpc.ts';
import { GrpcClient } from './helpers/grpc.ts';
import { world, type World } from './helpers/world.ts';

const run = promisify(execFile);
const BUF = path.resolve(import.meta.dirname, '../node_modules/.bin/buf');
const PROTO = path.resolve(import.meta.dirname, '../proto');

/** `buf curl` (the @bufbuild/buf npm binary): an off-the-shelf client that needs no .proto file when it uses reflection. */
async function bufCurl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(BUF, ['curl', ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('gRPC tooling: reflection, health, browser protocols', () => {
  let w: World;
  let grpcUrl: string;
  let httpUrl: string;
  let close: () => Promise<void>;
  before(async () => {
    w = await world();
    const listener = await listenGrpc(w.app.rpc, { port: 0, host: '127.0.0.1', config: w.t.config.grpc });
    grpcUrl = `http://127.0.0.1:${listener.port}`;
    httpUrl = await w.app.listen({ port: 0, host: '127.0.0.1' });
    close = () => listener.close(1_000);
  });
  after(async () => {
    await close?.();
    await w?.close();
  });

  const grpc = ['--protocol', 'grpc', '--http2-prior-knowledge'];

  for (const reflect of ['grpc-v1', 'grpc-v1alpha']) {
    it(`buf curl lists every service and method through reflection (${reflect}), without the .proto files`, async () => {
      const services = await bufCurl([...grpc, '--reflect-protocol', reflect, '--list-services', grpcUrl]);
      assert.equal(services.code, 0, services.stderr);
      for (const name of ['stoa.v1.UserService', 'stoa.v1.OrderService', 'stoa.v1.ChatService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection']) {
        assert.ok(services.stdout.split('\n').includes(name), `${name} in ${services.stdout}`);
      }
      const methods = await bufCurl([...grpc, '--reflect-protocol', reflect, '--list-methods', grpcUrl]);
      assert.equal(methods.code, 0, methods.stderr);
      for (const m of ['stoa.v1.UserService/GetUser', 'stoa.v1.UserService/ListUsers', 'stoa.v1.UserService/UploadAvatar', 'stoa.v1.OrderService/WatchOrder', 'stoa.v1.ChatService/Chat']) {
        assert.ok(methods.stdout.includes(m), `${m} in ${methods.stdout}`);
      }
    });

    it(`buf curl calls GetUser by reflection (${reflect}): JSON in snake_case, Timestamp as RFC 3339`, async () => {
      const res = await bufCurl([...grpc, '--reflect-protocol', reflect, '-H', `authorization: ${w.ada.auth.authorization}`, '-d', JSON.stringify({ id: w.ada.id }), `${grpcUrl}/stoa.v1.UserService/GetUser`]);
      assert.equal(res.code, 0, res.stderr);
      const body = JSON.parse(res.stdout) as { user: Record<string, unknown> };
      assert.equal(body.user.id, w.ada.id);
      assert.equal(body.user.email, w.ada.email);
      assert.match(String(body.user.createdAt ?? body.user.created_at), /^\d{4}-\d\d-\d\dT/);
    });
  }

  it('buf curl reports a refusal with its status and ErrorInfo', async () => {
    const res = await bufCurl([...grpc, '-d', JSON.stringify({ id: w.ada.id }), `${grpcUrl}/stoa.v1.UserService/GetUser`]);
    assert.notEqual(res.code, 0);
    const error = JSON.parse(res.stderr) as { code: string; details: Array<{ type: string; value: string }> };
    assert.equal(error.code, 'unauthenticated');
    const info = error.details.find((d) => d.type === 'google.rpc.ErrorInfo')!;
    const decoded = fromBinary(ErrorInfoSchema, Buffer.from(info.value, 'base64'));
    assert.deepEqual([decoded.reason, decoded.domain], ['UNAUTHENTICATED', 'stoa']);
  });

  it('grpc.health.v1 Check answers SERVING overall and per service, NOT_FOUND for an unknown name (buf curl)', async () => {
    for (const service of ['', 'stoa.v1.UserService', 'stoa.v1.OrderService', 'stoa.v1.ChatService']) {
      const res = await bufCurl([...grpc, '-d', JSON.stringify({ service }), `${grpcUrl}/grpc.health.v1.Health/Check`]);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(JSON.parse(res.stdout), { status: 'SERVING' }, service);
    }
    const unknown = await bufCurl([...grpc, '-d', JSON.stringify({ service: 'stoa.v1.Nope' }), `${grpcUrl}/grpc.health.v1.Health/Check`]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /not_found/i);
  });

  it('health is NOT_SERVING while the database probe fails, and Watch reports each change', async () => {
    let down = false;
    const readiness = createReadiness({ database: () => (down ? Promise.reject(new Error('connection refused')) : Promise.resolve()) });
    const rpc = createRpc({ ...w.t.container, readiness } as Container, pino({ level: 'silent' }));
    const listener = await listenGrpc(rpc, { port: 0, host: '127.0.0.1', config: w.t.config.grpc });
    const client = new GrpcClient(`127.0.0.1:${listener.port}`);
    try {
      const seen: Serving[] = [];
      const stream = client.serverStream(Health.method.watch, { service: 'stoa.v1.UserService' });
      const next = () => new Promise<Serving>((resolve) => stream.once('data', (m: { status: Serving }) => resolve(m.status)));
      seen.push(await next());
      down = true;
      assert.equal((await client.unary(Health.method.check, { service: '' })).message.status, Serving.NOT_SERVING);
      seen.push(await next());
      down = false;
      seen.push(await next());
      assert.deepEqual(seen, [Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING]);
      stream.on('error', () => {});
      stream.cancel();
      const unknown = client.serverStream(Health.method.watch, { service: 'nope' });
      unknown.on('error', () => {});
      assert.equal(await new Promise<Serving>((resolve) => unknown.once('data', (m: { status: Serving }) => resolve(m.status))), Serving.SERVICE_UNKNOWN);
      unknown.cancel();
    } finally {
      client.close();
      await listener.close(500);
    }
  });

  it('the shutdown ends open streams with UNAVAILABLE', async () => {
    const rpc = createRpc(w.t.container, pino({ level: 'silent' }));
    const listener = await listenGrpc(rpc, { port: 0, host: '127.0.0.1', config: w.t.config.grpc });
    const client = new GrpcClient(`127.0.0.1:${listener.port}`);
    try {
      const stream = client.serverStream(Health.method.watch, { service: '' });
      await new Promise((resolve) => stream.once('data', resolve));
      const ended = new Promise<number>((resolve) => stream.on('error', (e: { code: number }) => resolve(e.code)));
      await listener.close(2_000);
      assert.equal(await ended, status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  describe('under /rpc on the HTTP port', () => {
    it('answers the Connect protocol: POST JSON with the same auth headers', async () => {
      const res = await fetch(`${httpUrl}/rpc/stoa.v1.UserService/GetUser`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...w.ada.auth, 'x-request-id': 'connect-1' },
        body: JSON.stringify({ id: w.ada.id }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-request-id'), 'connect-1');
      const body = (await res.json()) as { user: { id: string; email: string; displayName: string } };
      assert.deepEqual([body.user.id, body.user.email, body.user.displayName], [w.ada.id, w.ada.email, 'Ada']);
    });

    it('answers Connect errors with the HTTP status of the code and ErrorInfo in details', async () => {
      const res = await fetch(`${httpUrl}/rpc/stoa.v1.UserService/GetUser`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: w.ada.id }) });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { code: string; details: Array<{ type: string; value: string }> };
      assert.equal(body.code, 'unauthenticated');
      const info = body.details.find((d) => d.type === 'google.rpc.ErrorInfo')!;
      assert.deepEqual(fromBinary(ErrorInfoSchema, Buffer.from(info.value, 'base64')).reason, 'UNAUTHENTICATED');

      const bad = await fetch(`${httpUrl}/rpc/stoa.v1.UserService/CreateUser`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nope' }) });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { code: string }).code, 'invalid_argument');
    });

    it('answers gRPC-Web and Connect from buf curl with the .proto files, over HTTP/1.1', async () => {
      for (const protocol of ['grpcweb', 'connect']) {
        const res = await bufCurl(['--schema', PROTO, '--protocol', protocol, '-H', `x-api-key: ${(await w.apiKey(w.ada, ['users:read']))['x-api-key']}`, '-d', JSON.stringify({ id: w.bob.id }), `${httpUrl}/rpc/stoa.v1.UserService/GetUser`]);
        assert.equal(res.code, 0, `${protocol}: ${res.stderr}`);
        assert.equal((JSON.parse(res.stdout) as { user: { id: string } }).user.id, w.bob.id);
      }
      const stream = await bufCurl(['--schema', PROTO, '--protocol', 'grpcweb', '-H', `authorization: ${w.admin.auth.authorization}`, '-d', '{"page_size": 2}', `${httpUrl}/rpc/stoa.v1.UserService/ListUsers`]);
      assert.equal(stream.code, 0, stream.stderr);
      assert.ok(stream.stdout.includes(w.ada.id) && stream.stdout.includes(w.bob.id), 'server streaming over gRPC-Web');
    });

    it('leaves REST as it was: an unknown /rpc method is not found', async () => {
      const res = await fetch(`${httpUrl}/rpc/stoa.v1.UserService/Nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 404);
    });
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import { collect, failure, failureOf, grpcOf, GrpcClient } from './helpers/grpc.ts';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { openWs } from './helpers/realtime.ts';
import { world, type World } from './helpers/world.ts';
import { ChatService, type ChatResponse } from '../src/transports/grpc/gen/stoa/v1/chat_pb.ts';
import { OrderService } from '../src/transports/grpc/gen/stoa/v1/orders_pb.ts';
import { createScratchSchema, type ScratchSchema } from './helpers/pg-schema.ts';

const O = OrderService.method;

/** Waits for the first message of a duplex stream that matches. */
function nextMessage<I, T>(stream: ClientDuplexStream<I, T>, match: (m: T) => boolean, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching chat message in time')), timeoutMs);
    const onData = (m: T) => {
      if (!match(m)) return;
      clearTimeout(timer);
      stream.off('data', onData);
      resolve(m);
    };
    stream.on('data', onData);
  });
}

describe('gRPC streams in one process', () => {
  let w: World;
  let g: Awaited<ReturnType<typeof grpcOf>>;
  let product: string;
  before(async () => {
    w = await world();
    g = await grpcOf(w.t);
    product = await w.product({ stock: 100 });
  });
  after(async () => {
    await g?.close();
    await w?.close();
  });

  const setStatus = async (id: string, to: string) => {
    const res = await w.app.inject({ method: 'PATCH', url: `/v2/orders/${id}`, headers: { ...w.admin.auth, 'content-type': 'application/merge-patch+json' }, payload: { status: to } });
    assert.equal(res.statusCode, 200, res.body);
  };

  it('WatchOrder sends the current state, each change from the event feed, and ends when the order is final', async () => {
    const order = await w.order(w.ada, [{ product_id: product, quantity: 1 }]);
    const stream = g.client.serverStream(O.watchOrder, { id: order.id }, w.ada.auth);
    const statuses: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: { order: { status: string } }) => statuses.push(m.order.status));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    while (statuses.length === 0) await new Promise((r) => setTimeout(r, 20));
    for (const to of ['confirmed', 'shipped', 'delivered']) await setStatus(order.id, to);
    await ended;
    assert.deepEqual(statuses, ['pending', 'confirmed', 'shipped', 'delivered']);
  });

  it('WatchOrder of a final order sends it once and ends; of a cancelled one, too', async () => {
    const order = await w.order(w.ada, [{ product_id: product, quantity: 1 }]);
    assert.equal((await w.app.inject({ method: 'POST', url: `/v2/orders/${order.id}/cancel`, headers: w.ada.auth })).statusCode, 200);
    const messages = await collect(g.client.serverStream(O.watchOrder, { id: order.id }, w.ada.auth));
    assert.deepEqual(messages.map((m) => m.order?.status), ['cancelled']);
  });

  it("WatchOrder of someone else's or an unknown order is NOT_FOUND; without orders:read PERMISSION_DENIED", async () => {
    const order = await w.order(w.ada, [{ product_id: product, quantity: 1 }]);
    assert.equal((await failure(collect(g.client.serverStream(O.watchOrder, { id: order.id }, w.bob.auth)))).code, status.NOT_FOUND);
    assert.equal((await failure(collect(g.client.serverStream(O.watchOrder, { id: 'ord_nope' }, w.ada.auth)))).code, status.NOT_FOUND);
    const key = await w.apiKey(w.ada, ['users:read']);
    const scoped = await failure(collect(g.client.serverStream(O.watchOrder, { id: order.id }, key)));
    assert.equal(scoped.code, status.PERMISSION_DENIED);
    assert.equal(scoped.errorInfo?.reason, 'INSUFFICIENT_SCOPE');
  });

  it('WatchOrder cancelled by the client frees its hub subscription', async () => {
    const hub = w.t.container.realtime.hub;
    const base = hub.subscriberCount;
    const order = await w.order(w.ada, [{ product_id: product, quantity: 1 }]);
    const stream = g.client.serverStream(O.watchOrder, { id: order.id }, w.ada.auth);
    await new Promise((resolve) => stream.once('data', resolve));
    assert.equal(hub.subscriberCount, base + 1);
    stream.on('error', () => {});
    stream.cancel();
    for (let i = 0; i < 50 && hub.subscriberCount > base; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(hub.subscriberCount, base);
  });

  it('Chat: a gRPC client and a WebSocket client of chat:<room> hear each other', async () => {
    const url = await w.app.listen({ port: 0, host: '127.0.0.1' });
    const ws = await openWs(`${url.replace('http', 'ws')}/v1/ws`, w.bob.auth);
    const room = `room-${randomUUID().slice(0, 8)}`;
    try {
      ws.send({ type: 'subscribe', id: 's', channel: `chat:${room}` });
      await ws.next((m) => m.type === 'subscribed');
      const chat = g.client.bidi(ChatService.method.chat, w.ada.auth);
      chat.on('error', () => {});
      chat.write({ room, text: 'hello from gRPC' });
      const own = await nextMessage(chat, (m: ChatResponse) => m.text === 'hello from gRPC');
      assert.equal(own.from, w.ada.id);
      const heard = await ws.next((m) => m.type === 'message');
      assert.deepEqual({ channel: heard.channel, data: heard.data, from: heard.from }, { channel: `chat:${room}`, data: { text: 'hello from gRPC' }, from: w.ada.id });

      ws.send({ type: 'publish', channel: `chat:${room}`, data: { text: 'hello from WS' } });
      const fromWs = await nextMessage(chat, (m: ChatResponse) => m.text === 'hello from WS');
      assert.deepEqual([fromWs.room, fromWs.from], [room, w.bob.id]);
      assert.ok(fromWs.sentAt && Math.abs(Number(fromWs.sentAt.seconds) * 1000 - Date.now()) < 60_000);
      const done = new Promise((resolve) => chat.on('end', resolve));
      chat.end();
      await done;
    } finally {
      ws.close();
    }
  });

  it('Chat refuses a bad room name (INVALID_ARGUMENT naming room) and a text over the size cap', async () => {
    const bad = g.client.bidi(ChatService.method.chat, w.ada.auth);
    const badEnd = new Promise<unknown>((resolve) => bad.on('error', resolve));
    bad.on('data', () => {});
    bad.write({ room: 'Not A Room!', text: 'x' });
    const f = failureOf(await badEnd);
    assert.equal(f.code, status.INVALID_ARGUMENT);
    assert.deepEqual(f.badRequest?.fieldViolations.map((v) => [v.field, v.reason]), [['room', 'invalid_value']]);

    const big = g.client.bidi(ChatService.method.chat, w.ada.auth);
    const bigEnd = new Promise<unknown>((resolve) => big.on('error', resolve));
    big.on('data', () => {});
    big.write({ room: 'lobby', text: 'x'.repeat(5_000) });
    const tooLong = failureOf(await bigEnd);
    assert.equal(tooLong.code, status.INVALID_ARGUMENT);
    assert.deepEqual(tooLong.badRequest?.fieldViolations.map((v) => [v.field, v.reason]), [['text', 'too_long']]);

    const anonymous = g.client.bidi(ChatService.method.chat);
    const anonEnd = new Promise<unknown>((resolve) => anonymous.on('error', resolve));
    anonymous.write({ room: 'lobby', text: 'x' });
    assert.equal(failureOf(await anonEnd).code, status.UNAUTHENTICATED);
  });
});

// Two processes of one deployment on PostgreSQL + Redis; the embedded default is one process by nature.
describe('gRPC chat across processes', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, () => {
  let scratch: ScratchSchema | undefined;
  const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'grpc-test' }]);
  let procs: StoaProcess[] = [];
  before(async () => {
    scratch = await createScratchSchema('grpc');
    const env = {
      DATABASE_URL: scratch.databaseUrl,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      GRPC_PORT: '0',
      STOA_JWT_KEYS: JWT_KEYS,
      STOA_RATE_LIMIT: 'off',
      STOA_LOAD_SHEDDING: 'off',
      STOA_SEED_DEMO: 'false',
      STOA_PASSWORD_HASH_COST: '12',
    };
    procs = [await startStoa(env)];
    procs.push(await startStoa(env));
  });
  after(async () => {
    await Promise.all(procs.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? p.stop() : undefined)));
    await scratch?.drop();
  });

  it('a gRPC client on process A and a WebSocket client on process B talk in one room; SIGTERM ends the chat with UNAVAILABLE', async () => {
    const [a, b] = procs as [StoaProcess, StoaProcess];
    const grpcPort = Number(/gRPC +h2c on port (\d+)/.exec(a.output())?.[1]);
    assert.ok(grpcPort > 0, a.output());
    const email = `grpc.${randomUUID()}@example.com`;
    const password = 'correct horse battery staple';
    const created = await fetch(`${b.url}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'Chatter', password }) });
    const userId = ((await created.json()) as { data: { id: string } }).data.id;
    const login = await fetch(`${a.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    const authorization = `Bearer ${((await login.json()) as { data: { access_token: string } }).data.access_token}`;

    const ws = await openWs(`${b.url.replace('http', 'ws')}/v1/ws`, { authorization });
    const client = new GrpcClient(`127.0.0.1:${grpcPort}`);
    try {
      ws.send({ type: 'subscribe', id: 's', channel: 'chat:cross' });
      await ws.next((m) => m.type === 'subscribed');
      const chat = client.bidi(ChatService.method.chat, { authorization });
      const ended = new Promise<number>((resolve) => chat.on('error', (e: { code: number }) => resolve(e.code)));
      chat.write({ room: 'cross', text: '' });
      chat.write({ room: 'cross', text: 'from A over gRPC' });
      await nextMessage(chat, (m: ChatResponse) => m.text === 'from A over gRPC');
      const heard = await ws.next((m) => m.type === 'message', 5_000, 'the gRPC message on B');
      assert.deepEqual([heard.data, heard.from], [{ text: 'from A over gRPC' }, userId]);
      ws.send({ type: 'publish', channel: 'chat:cross', data: { text: 'from B over WebSocket' } });
      const back = await nextMessage(chat, (m: ChatResponse) => m.text === 'from B over WebSocket');
      assert.equal(back.from, userId);

      assert.equal(await a.stop(), 0);
      assert.equal(await ended, status.UNAVAILABLE);
    } finally {
      ws.close();
      client.close();
    }
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { openSse, openWs, type SseClient } from './helpers/realtime.ts';
import { createScratchSchema, type ScratchSchema } from './helpers/pg-schema.ts';

// Three processes of one deployment on PostgreSQL (+ Redis when REDIS_URL is set); the embedded default is one process by nature.
const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'rt-test' }]);

describe('real time across three processes', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, () => {
  let scratch: ScratchSchema | undefined;
  let env: Record<string, string>;
  let procs: StoaProcess[] = [];
  let auth: string;
  let userId: string;
  const clients: SseClient[] = [];

  const post = async (url: string, title: string) => {
    const res = await fetch(`${url}/v1/posts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ title, content: 'c' }) });
    assert.equal(res.status, 201);
    return ((await res.json()) as { data: { id: string } }).data.id;
  };
  const sse = async (url: string, headers: Record<string, string> = {}) => {
    const client = await openSse(`${url}/v1/events?type=post.created`, { authorization: auth, ...headers });
    clients.push(client);
    assert.equal(client.status, 200);
    return client;
  };
  const ids = (client: SseClient) => client.events().map((e) => String(e.data.resource_id));

  before(async () => {
    scratch = await createScratchSchema('rt');
    env = {
      DATABASE_URL: scratch.databaseUrl,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      STOA_JWT_KEYS: JWT_KEYS,
      STOA_RATE_LIMIT: 'off',
      STOA_LOAD_SHEDDING: 'off',
      STOA_SEED_DEMO: 'false',
      STOA_PASSWORD_HASH_COST: '12',
      STOA_SSE_HEARTBEAT_MS: '500',
      STOA_REALTIME_POLL_MS: '1000',
    };
    procs = [await startStoa(env)];
    procs.push(...(await Promise.all([startStoa(env), startStoa(env)])));
    const email = `rt.${randomUUID()}@example.com`;
    const password = 'correct horse battery staple';
    const created = await fetch(`${procs[0]!.url}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'RT', password }) });
    userId = ((await created.json()) as { data: { id: string } }).data.id;
    const login = await fetch(`${procs[1]!.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    auth = `Bearer ${((await login.json()) as { data: { access_token: string } }).data.access_token}`;
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(procs.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? p.stop() : undefined)));
    await scratch?.drop();
  });

  it('SSE: events committed on any process reach a stream on another; resume on a third with no gap and no duplicate', async () => {
    const [a, b, c] = procs as [StoaProcess, StoaProcess, StoaProcess];
    const stream = await sse(a.url);
    const first = [await post(b.url, 'one'), await post(c.url, 'two')];
    await stream.waitFor((s) => (ids(s).length >= 2 ? true : undefined), 5_000, 'both events on A');
    assert.deepEqual(ids(stream), first);
    const lastId = stream.events().at(-1)!.id;
    stream.close();
    const missed = [await post(c.url, 'three'), await post(a.url, 'four')];
    const resumed = await sse(b.url, { 'last-event-id': lastId });
    const live = await post(c.url, 'five');
    await resumed.waitFor((s) => (ids(s).includes(live) ? true : undefined), 5_000, 'the live event on B');
    assert.deepEqual(ids(resumed), [...missed, live]);
  });

  it('WebSocket: events and chat across processes; revocation closes 4401 on another process within a second', async () => {
    const [a, b, c] = procs as [StoaProcess, StoaProcess, StoaProcess];
    const ws = (url: string, headers: Record<string, string> = { authorization: auth }) => openWs(`${url.replace('http', 'ws')}/v1/ws`, headers);
    const onA = await ws(a.url);
    onA.send({ type: 'subscribe', id: 'e', channel: 'events', types: ['post.*'] });
    await onA.next((m) => m.type === 'subscribed');
    const id = await post(c.url, 'ws');
    await onA.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === id);
    // Resume on another process with `after`: the missed events, then live ones, no gap and no duplicate.
    const seen = (onA.messages.filter((m) => m.type === 'event').at(-1)!.event as { sequence: number }).sequence;
    onA.close();
    const missed = [await post(a.url, 'ws missed 1'), await post(c.url, 'ws missed 2')];
    const onB = await ws(b.url);
    onB.send({ type: 'subscribe', id: 'r', channel: 'events', types: ['post.created'], after: seen });
    await onB.next((m) => m.type === 'subscribed');
    const live = await post(a.url, 'ws live');
    await onB.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === live);
    assert.deepEqual(
      onB.messages.filter((m) => m.type === 'event').map((m) => (m.event as { resource_id: string }).resource_id),
      [...missed, live],
    );
    onB.close();

    const listener = await ws(b.url);
    listener.send({ type: 'subscribe', id: 'c', channel: 'chat:lobby' });
    await listener.next((m) => m.type === 'subscribed');
    const speaker = await ws(c.url);
    speaker.send({ type: 'publish', channel: 'chat:lobby', data: { text: 'hi from C' } });
    const message = await listener.next((m) => m.type === 'message');
    assert.deepEqual({ channel: message.channel, data: message.data, from: message.from }, { channel: 'chat:lobby', data: { text: 'hi from C' }, from: userId });

    const key = await fetch(`${a.url}/v1/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ name: 'rt', scopes: ['posts:read'] }) });
    const { id: keyId, secret } = ((await key.json()) as { data: { id: string; secret: string } }).data;
    // One connection with the key on every process: each closes with 4401 within a second of the revocation.
    const viaKey = await Promise.all([a, b, c].map((p) => ws(p.url, { 'x-api-key': secret })));
    const revoked = Date.now();
    assert.equal((await fetch(`${c.url}/v1/api-keys/${keyId}`, { method: 'DELETE', headers: { authorization: auth } })).status, 204);
    const closes = await Promise.all(viaKey.map(async (client) => ({ code: (await client.waitForClose(3_000)).code, after: Date.now() - revoked })));
    for (const [i, closed] of closes.entries()) {
      assert.equal(closed.code, 4401, `process ${i}`);
      assert.ok(closed.after < 1_500, `process ${i} closed within a second (${closed.after} ms)`);
    }
    for (const client of [listener, speaker]) client.close();
  });

  it('SIGTERM ends streams with a final comment; kill -9 loses nothing: a client resumes on another process', async () => {
    const [a, b, c] = procs as [StoaProcess, StoaProcess, StoaProcess];
    const onC = await sse(c.url);
    const before = await post(a.url, 'before term');
    await onC.waitFor((s) => (ids(s).includes(before) ? true : undefined));
    const exit = await c.stop();
    assert.equal(exit, 0);
    await onC.waitForEnd();
    const last = onC.frames.at(-1)!;
    assert.ok(last.comment !== undefined && last.data === undefined, 'a final event-less comment');

    const onA = await sse(a.url, { 'last-event-id': onC.events().at(-1)!.id });
    const wsOnA = await openWs(`${a.url.replace('http', 'ws')}/v1/ws`, { authorization: auth });
    wsOnA.send({ type: 'subscribe', id: 'k', channel: 'events', types: ['post.created'] });
    await wsOnA.next((m) => m.type === 'subscribed');
    const during = await post(b.url, 'after term');
    await onA.waitFor((s) => (ids(s).includes(during) ? true : undefined));
    const wsEvent = await wsOnA.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === during);
    const seen = onA.events().at(-1)!.id;
    a.child.kill('SIGKILL');
    const lost = [await post(b.url, 'while A is dead 1'), await post(b.url, 'while A is dead 2')];
    await onA.waitForEnd();
    assert.equal((await wsOnA.waitForClose()).code, 1006, 'the socket died with its process');
    const onB = await sse(b.url, { 'last-event-id': seen });
    await onB.waitFor((s) => (ids(s).includes(lost[1]!) ? true : undefined));
    assert.deepEqual(ids(onB), lost);
    // The WebSocket client resumes on B after the last event it had: the same events, no gap, no duplicate.
    const wsOnB = await openWs(`${b.url.replace('http', 'ws')}/v1/ws`, { authorization: auth });
    wsOnB.send({ type: 'subscribe', id: 'k', channel: 'events', types: ['post.created'], after: (wsEvent.event as { sequence: number }).sequence });
    await wsOnB.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === lost[1]);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      wsOnB.messages.filter((m) => m.type === 'event').map((m) => (m.event as { resource_id: string }).resource_id),
      lost,
    );
    wsOnB.close();
  });
});

// The embedded default is one process by nature: the process a client was attached to is killed and started again on its data directory.
describe('real time on the embedded default: kill -9 and restart', { skip: Boolean(process.env.DATABASE_URL) && 'the embedded default runs without DATABASE_URL' }, () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-rt-'));
  const env = { STOA_DATA_DIR: dataDir, STOA_JWT_KEYS: JWT_KEYS, STOA_RATE_LIMIT: 'off', STOA_LOAD_SHEDDING: 'off', STOA_SEED_DEMO: 'false', STOA_PASSWORD_HASH_COST: '12' };
  let proc: StoaProcess | undefined;
  after(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('SSE and WebSocket clients resume after kill -9 of their process, with no gap and no duplicate', { timeout: 120_000 }, async () => {
    proc = await startStoa(env);
    const email = `rt.${randomUUID()}@example.com`;
    const password = 'correct horse battery staple';
    await fetch(`${proc.url}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'RT', password }) });
    const login = async (url: string) =>
      `Bearer ${((await (await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })).json()) as { data: { access_token: string } }).data.access_token}`;
    let auth = await login(proc.url);
    const post = async (title: string) => {
      const res = await fetch(`${proc!.url}/v1/posts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ title, content: 'c' }) });
      assert.equal(res.status, 201);
      return ((await res.json()) as { data: { id: string } }).data.id;
    };
    const stream = await openSse(`${proc.url}/v1/events?type=post.created`, { authorization: auth });
    const socket = await openWs(`${proc.url.replace('http', 'ws')}/v1/ws`, { authorization: auth });
    socket.send({ type: 'subscribe', id: 'k', channel: 'events', types: ['post.created'] });
    await socket.next((m) => m.type === 'subscribed');
    const before = await post('before the kill');
    await stream.waitFor((s) => s.events().find((e) => e.data.resource_id === before));
    const wsSeen = await socket.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === before);
    const lastId = stream.events().at(-1)!.id;

    proc.child.kill('SIGKILL');
    await stream.waitForEnd();
    await socket.waitForClose();
    proc = await startStoa(env);
    auth = await login(proc.url);
    const missed = [await post('after the restart 1'), await post('after the restart 2')];

    const resumed = await openSse(`${proc.url}/v1/events?type=post.created`, { authorization: auth, 'last-event-id': lastId });
    const socketAgain = await openWs(`${proc.url.replace('http', 'ws')}/v1/ws`, { authorization: auth });
    socketAgain.send({ type: 'subscribe', id: 'k', channel: 'events', types: ['post.created'], after: (wsSeen.event as { sequence: number }).sequence });
    await socketAgain.next((m) => m.type === 'subscribed');
    const live = await post('live after resuming');
    await resumed.waitFor((s) => s.events().find((e) => e.data.resource_id === live));
    await socketAgain.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === live);
    assert.deepEqual(
      resumed.events().map((e) => e.data.resource_id),
      [...missed, live],
    );
    assert.deepEqual(
      socketAgain.messages.filter((m) => m.type === 'event').map((m) => (m.event as { resource_id: string }).resource_id),
      [...missed, live],
    );
    resumed.close();
    socketAgain.close();
  });
});

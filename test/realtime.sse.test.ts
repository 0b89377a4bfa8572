import assert from 'node:assert/strict';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import Fastify from 'fastify';
import { createLogger } from '../src/app.ts';
import { createEventLog } from '../src/infra/db/repositories/events.repository.ts';
import { problemOf } from './helpers/app.ts';
import { openSse, type SseClient } from './helpers/realtime.ts';
import { world, type World } from './helpers/world.ts';

const ENV = { STOA_SSE_HEARTBEAT_MS: '150', STOA_STREAMS_PER_PRINCIPAL: '3', STOA_STREAM_MAX_BUFFERED_BYTES: '65536', STOA_REALTIME_POLL_MS: '200' };

describe('SSE: GET /v1/events with Accept: text/event-stream', () => {
  let w: World;
  let base: string;
  const base_url = () => base;
  const open: SseClient[] = [];
  const sse = async (path: string, headers: Record<string, string> = {}) => {
    const client = await openSse(`${base}${path}`, headers);
    open.push(client);
    return client;
  };
  const postBy = (who: World['ada']) => w.post(who, { title: `t${Math.random()}` });

  before(async () => {
    w = await world({ env: ENV });
    await w.app.listen({ port: 0, host: '127.0.0.1' });
    const address = w.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    // The server gives the slots back when it sees the connections close.
    await new Promise((r) => setTimeout(r, 100));
  });
  after(() => w.close());

  it('keeps the JSON list (and CSV) working on the same route', async () => {
    const json = await w.app.inject({ method: 'GET', url: '/v1/events', headers: { ...w.ada.auth, accept: 'application/json' } });
    assert.equal(json.statusCode, 200);
    assert.ok(Array.isArray(json.json().data));
    const plain = await w.app.inject({ method: 'GET', url: '/v1/events', headers: w.ada.auth });
    assert.equal(plain.statusCode, 200);
    assert.match(String(plain.headers['content-type']), /application\/json/);
    const anything = await w.app.inject({ method: 'GET', url: '/v1/events', headers: { ...w.ada.auth, accept: '*/*' } });
    assert.match(String(anything.headers['content-type']), /application\/json/);
    const unauthenticated = await w.app.inject({ method: 'GET', url: '/v1/events' });
    assert.equal(unauthenticated.statusCode, 401);
    assert.equal(problemOf(unauthenticated).code, 'UNAUTHENTICATED');
  });

  it('starts with retry: 3000 and sends each new visible event as id/event/data, as the JSON list shows it', async () => {
    const stream = await sse('/v1/events', w.ada.auth);
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    assert.equal(stream.headers['content-encoding'], undefined);
    await stream.waitFor((c) => (c.frames[0]?.retry ? true : undefined));
    assert.equal(stream.frames[0]!.retry, '3000');
    const id = await postBy(w.ada);
    const event = await stream.waitFor((c) => c.events().find((e) => e.data.resource_id === id));
    assert.equal(event.event, 'post.created');
    assert.equal(event.id, String(event.data.sequence));
    const listed = (await w.app.inject({ method: 'GET', url: `/v1/events?type=post.created&sort=-sequence&limit=5`, headers: w.ada.auth })).json().data;
    assert.deepEqual(event.data, listed.find((e: { resource_id: string }) => e.resource_id === id));
    assert.ok(stream.frames.every((f) => f.data === undefined || !f.data.includes('\n')));
  });

  it('starts at the present without Last-Event-ID', async () => {
    const before = await postBy(w.bob);
    const stream = await sse('/v1/events', w.bob.auth);
    const later = await postBy(w.bob);
    await stream.waitFor((c) => c.events().find((e) => e.data.resource_id === later));
    assert.ok(!stream.events().some((e) => e.data.resource_id === before));
  });

  it('resumes after Last-Event-ID (or ?last_event_id=) with no gap and no duplicate, then continues live', async () => {
    const first = await sse('/v1/events?type=post.created', w.ada.auth);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await postBy(w.bob));
    await first.waitFor((c) => (c.events().length >= 6 ? true : undefined));
    const seen = first.events();
    first.close();
    const cut = seen[2]!;
    const missed: string[] = [];
    for (let i = 0; i < 3; i++) missed.push(await postBy(w.bob));
    for (const resume of [{ path: '/v1/events?type=post.created', headers: { ...w.ada.auth, 'last-event-id': cut.id } }, { path: `/v1/events?type=post.created&last_event_id=${cut.id}`, headers: w.ada.auth }]) {
      const again = await sse(resume.path, resume.headers);
      const live = await postBy(w.bob);
      await again.waitFor((c) => c.events().find((e) => e.data.resource_id === live));
      const got = again.events().map((e) => e.data.resource_id);
      const expected = [...ids.slice(3), ...missed];
      assert.deepEqual(got.slice(0, expected.length), expected, 'the rest, in order');
      assert.equal(new Set(got).size, got.length, 'no duplicate');
      const sequences = again.events().map((e) => e.data.sequence);
      assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b));
      assert.ok(sequences[0]! > Number(cut.id));
      again.close();
    }
  });

  it('filters by type like the list, and refuses bad filters and resume points with problems', async () => {
    const stream = await sse('/v1/events?type=comment.*', w.ada.auth);
    const post = await postBy(w.ada);
    const comment = await w.comment(w.bob, post);
    await stream.waitFor((c) => c.events().find((e) => e.data.resource_id === comment));
    assert.ok(stream.events().every((e) => e.event.startsWith('comment.')));
    for (const [path, headers, code] of [
      ['/v1/events?type=POST.CREATED', {}, 'INVALID_PARAMETER'],
      ['/v1/events?last_event_id=abc', {}, 'INVALID_PARAMETER'],
      ['/v1/events', { 'last-event-id': '-4' }, 'INVALID_HEADER'],
    ] as const) {
      const bad = await sse(path, { ...w.ada.auth, ...headers });
      assert.equal(bad.status, 400, path);
      assert.match(String(bad.headers['content-type']), /application\/problem\+json/);
      assert.equal(JSON.parse(await bad.body()).code, code);
    }
  });

  it('answers 401 and 403 as problem documents, not streams', async () => {
    const none = await sse('/v1/events');
    assert.equal(none.status, 401);
    assert.match(String(none.headers['content-type']), /application\/problem\+json/);
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    const bad = await sse('/v1/events', { authorization: 'Bearer nonsense' });
    assert.equal(bad.status, 401);
    const user = await w.newUser('Suspended');
    await w.app.inject({ method: 'PATCH', url: `/v2/users/${user.id}`, headers: w.admin.auth, payload: { status: 'suspended' } });
    const suspended = await sse('/v1/events', user.auth);
    assert.equal(suspended.status, 401);
    assert.equal(JSON.parse(await suspended.body()).code, 'ACCOUNT_SUSPENDED');
  });

  it('sends a keep-alive comment every STOA_SSE_HEARTBEAT_MS', async () => {
    const stream = await sse('/v1/events', w.bob.auth);
    await stream.waitFor((c) => (c.frames.filter((f) => f.comment === 'keep-alive').length >= 2 ? true : undefined), 2_000, 'two heartbeats');
  });

  it('never shows a user another user’s orders, nor an API key with posts:read only any order or charge event', async () => {
    const key = await w.apiKey(w.ada, ['posts:read']);
    const adaStream = await sse('/v1/events', w.ada.auth);
    const bobStream = await sse('/v1/events', w.bob.auth);
    const keyStream = await sse('/v1/events', key);
    const product = await w.product();
    const order = await w.order(w.ada, [{ product_id: product, quantity: 1 }]);
    const marker = await postBy(w.ada);
    for (const s of [adaStream, bobStream, keyStream]) await s.waitFor((c) => c.events().find((e) => e.data.resource_id === marker));
    assert.ok(adaStream.events().some((e) => e.data.resource_id === order.id));
    assert.ok(!bobStream.events().some((e) => e.event.startsWith('order.')));
    assert.ok(!keyStream.events().some((e) => /^(order|charge)\./.test(e.event)));
  });

  it(`caps open streams per principal (STOA_STREAMS_PER_PRINCIPAL) with 429 TOO_MANY_STREAMS`, async () => {
    const user = await w.newUser('Capped');
    const streams: SseClient[] = [];
    for (let i = 0; i < 3; i++) streams.push(await sse('/v1/events', user.auth));
    assert.ok(streams.every((s) => s.status === 200));
    const refused = await sse('/v1/events', user.auth);
    assert.equal(refused.status, 429);
    const problem = JSON.parse(await refused.body());
    assert.equal(problem.code, 'TOO_MANY_STREAMS');
    assert.ok(refused.headers['retry-after']);
    const other = await sse('/v1/events', (await w.newUser('Other')).auth);
    assert.equal(other.status, 200, 'another principal is not affected');
    streams[0]!.close();
    const deadline = Date.now() + 3_000;
    let again = await sse('/v1/events', user.auth);
    while (again.status === 429 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      again = await sse('/v1/events', user.auth);
    }
    assert.equal(again.status, 200, 'a closed stream gives its slot back');
  });

  it('drops a client that does not read once its unsent data passes the bound, while a fast one keeps receiving', async () => {
    const hub = w.t.container.realtime.hub;
    const base = hub.subscriberCount;
    assert.ok(w.t.container.realtime.sendBuffers.peakBytes <= Number(ENV.STOA_STREAM_MAX_BUFFERED_BYTES), 'no backlog before');
    const fast = await sse('/v1/events?type=product.*', w.ada.auth);
    // The slow client never reads a byte (so the kernel's buffers do not grow for it).
    const slow = net.connect(Number(new URL(base_url()).port), '127.0.0.1');
    slow.pause();
    slow.write(`GET /v1/events?type=product.* HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nAuthorization: ${w.ada.auth.authorization}\r\n\r\n`);
    await fast.waitFor(() => (hub.subscriberCount === base + 2 ? true : undefined), 5_000, 'both streams subscribed');
    // The server's view: the slow stream's subscription is gone.
    const dropped = () => hub.subscriberCount === base + 1;
    const log = createEventLog(() => w.t.container.database.db);
    const big = 'x'.repeat(16 * 1024);
    const count = 2_000;
    const deadline = Date.now() + 90_000;
    for (let i = 0; i < count && !dropped() && Date.now() < deadline; i++) {
      await log.append({ type: 'product.updated', resourceType: 'product', resourceId: `prd_big${i}`, data: { big, i }, audience: ['*'] }, new Date());
      w.t.container.realtime.feed.signalCommit();
      await fast.waitFor((c) => c.events().find((e) => e.data.resource_id === `prd_big${i}`), 5_000, `event ${i} on the fast stream`);
    }
    await fast.waitFor(() => (dropped() ? true : undefined), 10_000, 'the slow stream to be dropped');
    // Memory, from the server's side: no stream ever held more unsent data than the bound plus the frame that crossed it.
    const buffers = w.t.container.realtime.sendBuffers;
    const frame = 17 * 1024;
    assert.ok(buffers.peakBytes > Number(ENV.STOA_STREAM_MAX_BUFFERED_BYTES), `the slow stream reached the bound (peak ${buffers.peakBytes})`);
    assert.ok(buffers.peakBytes <= Number(ENV.STOA_STREAM_MAX_BUFFERED_BYTES) + frame, `peak ${buffers.peakBytes} bytes stayed within the bound plus one frame`);
    const peak = buffers.peakBytes;
    // The fast one still receives after the slow one is gone.
    await log.append({ type: 'product.updated', resourceType: 'product', resourceId: 'prd_after', data: {}, audience: ['*'] }, new Date());
    w.t.container.realtime.feed.signalCommit();
    await fast.waitFor((c) => c.events().find((e) => e.data.resource_id === 'prd_after'));
    assert.ok(!fast.ended);
    assert.equal(buffers.peakBytes, peak, 'nothing more is held for the dropped stream');
    slow.destroy();
  });

  it('POST /v1/realtime/tickets: a single-use, 60-second ticket that stands for the caller, scopes included', async () => {
    const res = await w.app.inject({ method: 'POST', url: '/v1/realtime/tickets', headers: w.ada.auth });
    assert.equal(res.statusCode, 201, res.body);
    const { ticket, expires_at } = res.json().data;
    assert.equal(typeof ticket, 'string');
    const ttl = Date.parse(expires_at) - Date.now();
    assert.ok(ttl > 50_000 && ttl <= 61_000, `expires in about 60 s (${ttl})`);
    const stream = await sse(`/v1/events?ticket=${encodeURIComponent(ticket)}`);
    assert.equal(stream.status, 200);
    const id = await postBy(w.ada);
    await stream.waitFor((c) => c.events().find((e) => e.data.resource_id === id));
    const reused = await sse(`/v1/events?ticket=${encodeURIComponent(ticket)}`);
    assert.equal(reused.status, 401, 'single use');
    assert.equal(JSON.parse(await reused.body()).code, 'UNAUTHENTICATED');
    const forged = await sse(`/v1/events?ticket=rtk_${'A'.repeat(43)}`);
    assert.equal(forged.status, 401);

    const unauthenticated = await w.app.inject({ method: 'POST', url: '/v1/realtime/tickets' });
    assert.equal(unauthenticated.statusCode, 401);

    // Expiry: a ticket older than 60 seconds is refused.
    const late = (await w.app.inject({ method: 'POST', url: '/v1/realtime/tickets', headers: w.bob.auth })).json().data.ticket;
    w.t.clock.advance(61_000);
    try {
      const expired = await sse(`/v1/events?ticket=${encodeURIComponent(late)}`);
      assert.equal(expired.status, 401);
    } finally {
      w.t.clock.advance(-61_000);
    }

    // Scopes: a ticket of a posts:read key sees no order events.
    const key = await w.apiKey(w.bob, ['posts:read']);
    const keyTicket = (await w.app.inject({ method: 'POST', url: '/v1/realtime/tickets', headers: key })).json().data.ticket;
    const scoped = await sse(`/v1/events?ticket=${encodeURIComponent(keyTicket)}`);
    assert.equal(scoped.status, 200);
    const product = await w.product();
    await w.order(w.bob, [{ product_id: product, quantity: 1 }]);
    const marker = await postBy(w.bob);
    await scoped.waitFor((c) => c.events().find((e) => e.data.resource_id === marker));
    assert.ok(!scoped.events().some((e) => /^(order|charge)\./.test(e.event)));
    // A ticket does not stand in on the JSON list.
    const listTicket = (await w.app.inject({ method: 'POST', url: '/v1/realtime/tickets', headers: w.bob.auth })).json().data.ticket;
    const list = await w.app.inject({ method: 'GET', url: `/v1/events?ticket=${listTicket}` });
    assert.equal(list.statusCode, 401);
  });

  it('keeps tickets out of request logs', async () => {
    const lines: string[] = [];
    const logger = createLogger('info');
    const capture = pino({ level: 'info', serializers: (logger as unknown as { [k: symbol]: unknown })[pino.symbols.serializersSym] as never }, { write: (s: string) => void lines.push(s) });
    const app = Fastify({ loggerInstance: capture as never });
    app.get('/v1/events', async () => ({}));
    await app.inject({ url: '/v1/events?ticket=rtk_secretsecret&type=order.*' });
    await app.close();
    const text = lines.join('');
    assert.ok(text.includes('incoming request'));
    assert.ok(!text.includes('rtk_secretsecret'), text);
    assert.ok(text.includes('ticket=[redacted]'));
  });

  it('ends a stream opened with an access token when the token expires, after a final comment', async () => {
    const user = await w.newUser('Expiring');
    const stream = await sse('/v1/events', user.auth);
    assert.equal(stream.status, 200);
    w.t.clock.advance(16 * 60_000);
    try {
      await stream.waitForEnd(3_000);
    } finally {
      w.t.clock.advance(-16 * 60_000);
    }
    const last = stream.frames.at(-1)!;
    assert.equal(last.comment, 'the credential expired');
  });

  it('ends every stream cleanly with a final comment when the server closes', async () => {
    const w2 = await world({ env: ENV });
    await w2.app.listen({ port: 0, host: '127.0.0.1' });
    const address = w2.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const stream = await openSse(`http://127.0.0.1:${port}/v1/events`, w2.ada.auth);
    assert.equal(stream.status, 200);
    const closing = w2.close();
    await stream.waitForEnd();
    await closing;
    const last = stream.frames.at(-1)!;
    assert.ok(last.comment && last.data === undefined, `a final event-less comment: ${JSON.stringify(last)}`);
  });
});

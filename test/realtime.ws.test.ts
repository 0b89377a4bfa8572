import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createEventLog } from '../src/infra/db/repositories/events.repository.ts';
import { openWs, type WsClient } from './helpers/realtime.ts';
import { world, type World } from './helpers/world.ts';

const ENV = {
  STOA_WS_PING_MS: '1000',
  STOA_WS_MESSAGES_PER_SECOND: '10',
  STOA_WS_MAX_MESSAGE_BYTES: '8192',
  STOA_STREAM_MAX_BUFFERED_BYTES: '65536',
  STOA_REALTIME_POLL_MS: '200',
};

type Msg = Record<string, unknown> & { type: string };

describe('WebSocket /v1/ws', () => {
  let w: World;
  let url: string;
  const open: WsClient[] = [];
  const connect = async (headers: Record<string, string> = {}, query = '', options: { autoPong?: boolean } = {}) => {
    const client = await openWs(`${url}${query}`, headers, options);
    open.push(client);
    return client;
  };
  const refused = async (headers: Record<string, string>, query = '') => {
    try {
      await connect(headers, query);
    } catch (error) {
      return error as { status: number; body: string; headers: Record<string, string> };
    }
    throw new Error('the upgrade was accepted');
  };
  const subscribe = async (client: WsClient, id: string, channel: string, extra: Record<string, unknown> = {}) => {
    client.send({ type: 'subscribe', id, channel, ...extra });
    return client.next((m) => (m.type === 'subscribed' || m.type === 'error') && m.id === id, 5_000, `the answer to ${id}`);
  };
  const eventsOf = (client: WsClient, id?: string) =>
    client.messages.filter((m) => m.type === 'event' && (id === undefined || m.id === id)).map((m) => m.event as Record<string, unknown> & { sequence: number; type: string; resource_id: string });

  before(async () => {
    w = await world({ env: ENV });
    await w.app.listen({ port: 0, host: '127.0.0.1' });
    const address = w.app.server.address();
    url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/ws`;
  });
  afterEach(async () => {
    for (const c of open.splice(0)) c.socket.terminate();
    await new Promise((r) => setTimeout(r, 50));
  });
  after(() => w.close());

  it('authenticates at the upgrade: 401 before any frame without a good credential; Bearer, X-API-Key or a single-use ticket', async () => {
    const none = await refused({});
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.body).code, 'UNAUTHENTICATED');
    assert.match(none.headers['www-authenticate']!, /^Bearer/);
    assert.equal((await refused({ authorization: 'Bearer nope' })).status, 401);
    assert.equal((await refused({}, `?ticket=rtk_${'B'.repeat(43)}`)).status, 401);
    const bearer = await connect(w.ada.auth);
    bearer.send({ type: 'ping' });
    await bearer.next((m) => m.type === 'pong');
    const key = await w.apiKey(w.ada, ['posts:read']);
    await connect(key);
    const ticket = (await w.app.inject({ method: 'POST', url: '/v1/realtime/tickets', headers: w.ada.auth })).json().data.ticket;
    const viaTicket = await connect({}, `?ticket=${encodeURIComponent(ticket)}`);
    viaTicket.send({ type: 'ping' });
    await viaTicket.next((m) => m.type === 'pong');
    assert.equal((await refused({}, `?ticket=${encodeURIComponent(ticket)}`)).status, 401, 'a used ticket');
  });

  it('reads the headers before a ticket: a good header leaves the ticket unused, a bad one is 401 without using it', async () => {
    const ticket = (await w.app.inject({ method: 'POST', url: '/v1/realtime/tickets', headers: w.ada.auth })).json().data.ticket as string;
    const query = `?ticket=${encodeURIComponent(ticket)}`;
    await connect(w.bob.auth, query);
    assert.equal((await refused({ authorization: 'Bearer nope' }, query)).status, 401);
    const viaTicket = await connect({}, query);
    viaTicket.send({ type: 'ping' });
    await viaTicket.next((m) => m.type === 'pong');
    assert.equal((await refused({}, query)).status, 401, 'now used');
  });

  it('answers bad JSON, non-objects and unknown types with error BAD_REQUEST and stays open', async () => {
    const client = await connect(w.bob.auth);
    for (const bad of ['{not json', '42', '{"no":"type"}', '{"type":"dance"}']) client.send(bad);
    await client.next((m) => m.type === 'error' && client.messages.filter((x) => x.type === 'error').length >= 4);
    const errors = client.messages.filter((m) => m.type === 'error');
    assert.deepEqual(errors.map((e) => e.code), ['BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST']);
    assert.ok(errors.every((e) => typeof e.message === 'string' && !('id' in e)));
    client.send({ type: 'ping' });
    await client.next((m) => m.type === 'pong');
    assert.equal(client.closed, null);
  });

  it('events: subscribed, then each visible event as in GET /v1/events; types filter; after resumes with no gap and no duplicate', async () => {
    const client = await connect(w.ada.auth);
    assert.deepEqual(await subscribe(client, 'all', 'events'), { type: 'subscribed', id: 'all', channel: 'events' });
    assert.equal((await subscribe(client, 'posts', 'events', { types: ['post.*'] })).type, 'subscribed');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await w.post(w.bob, { title: `ws ${i}` }));
    await client.next((m) => m.type === 'event' && m.id === 'posts' && (m.event as { resource_id: string }).resource_id === ids[4]);
    const listed = (await w.app.inject({ method: 'GET', url: '/v1/events?type=post.created&sort=-sequence&limit=10', headers: w.ada.auth })).json().data;
    const message = client.messages.find((m) => m.type === 'event' && m.id === 'all' && (m.event as { resource_id: string }).resource_id === ids[0])!;
    assert.deepEqual(Object.keys(message).sort(), ['channel', 'event', 'id', 'type']);
    assert.equal(message.channel, 'events');
    assert.deepEqual(message.event, listed.find((e: { resource_id: string }) => e.resource_id === ids[0]));
    assert.ok(eventsOf(client, 'posts').every((e) => e.type.startsWith('post.')));
    const cut = eventsOf(client, 'posts')[1]!.sequence;
    client.socket.terminate();

    const missed = [await w.post(w.bob), await w.post(w.bob)];
    const again = await connect(w.ada.auth);
    assert.equal((await subscribe(again, 'r', 'events', { after: cut, types: ['post.created'] })).type, 'subscribed');
    const live = await w.post(w.bob);
    await again.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === live);
    const got = eventsOf(again, 'r').map((e) => e.resource_id);
    assert.deepEqual(got, [...ids.slice(2), ...missed, live]);
    assert.equal(again.messages.findIndex((m) => m.type === 'subscribed'), 0, 'subscribed comes before the replay');

    const bad = await subscribe(again, 'bad', 'events', { types: ['NOPE'] });
    assert.equal(bad.type, 'error');
    assert.equal(bad.code, 'INVALID_PARAMETER');
    for (const [id, extra] of [['x1', { after: -1 }], ['x2', { after: 'soon' }], ['x3', { types: 'order.*' }]] as const) {
      const answer = await subscribe(again, id, 'events', extra);
      assert.equal(answer.code, 'VALIDATION_FAILED', id);
    }
    again.send({ type: 'subscribe', id: 'r', channel: 'events' });
    assert.equal((await again.next((m) => m.type === 'error' && m.id === 'r')).code, 'CONFLICT', 'a subscription id in use');
    const unknown = await subscribe(again, 'u', 'weather');
    assert.equal(unknown.code, 'VALIDATION_FAILED');
  });

  it('subscribed means subscribed: an event committed as soon as the acknowledgement arrives is delivered', async () => {
    const client = await connect(w.ada.auth);
    const log = createEventLog(() => w.t.container.database.db);
    // Each round races the commit against the server's own reading of "the present" (on PostgreSQL the two really overlap).
    // Eight rounds: a ninth subscribe within the second would meet STOA_WS_MESSAGES_PER_SECOND.
    for (let i = 0; i < 8; i++) {
      assert.equal((await subscribe(client, `now${i}`, 'events', { types: ['product.updated'] })).type, 'subscribed');
      await log.append({ type: 'product.updated', resourceType: 'product', resourceId: `prd_now${i}`, data: {}, audience: ['*'] }, new Date());
      w.t.container.realtime.feed.signalCommit();
      await client.next((m) => m.type === 'event' && m.id === `now${i}` && (m.event as { resource_id: string }).resource_id === `prd_now${i}`, 5_000, `prd_now${i} on now${i}`);
    }
  });

  it('orders: the caller’s orders (admins: all); INSUFFICIENT_SCOPE for a key without orders:read, connection open', async () => {
    const ada = await connect(w.ada.auth);
    const bob = await connect(w.bob.auth);
    const admin = await connect(w.admin.auth);
    const keyless = await connect(await w.apiKey(w.bob, ['posts:read']));
    for (const c of [ada, bob, admin]) assert.equal((await subscribe(c, 'o', 'orders')).type, 'subscribed');
    // Bob listens on every channel that could carry Ada's order.
    assert.equal((await subscribe(bob, 'e', 'events')).type, 'subscribed');
    assert.equal((await subscribe(bob, 'p', `posts:${w.ada.id}`)).type, 'subscribed');
    const refusal = await subscribe(keyless, 'o', 'orders');
    assert.deepEqual({ type: refusal.type, id: refusal.id, code: refusal.code }, { type: 'error', id: 'o', code: 'INSUFFICIENT_SCOPE' });
    assert.equal((await subscribe(keyless, 'e', 'events')).type, 'subscribed');
    const product = await w.product();
    const order = await w.order(w.ada, [{ product_id: product, quantity: 1 }]);
    await ada.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === order.id);
    await admin.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === order.id);
    const marker = await w.post(w.ada);
    await keyless.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === marker);
    await bob.next((m) => m.type === 'event' && m.id === 'e' && (m.event as { resource_id: string }).resource_id === marker);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!eventsOf(bob).some((e) => e.type.startsWith('order.') || e.resource_id === order.id), 'Bob never sees Ada’s order');
    assert.equal(eventsOf(bob, 'o').length, 0);
    assert.ok(eventsOf(ada).every((e) => e.type.startsWith('order.')));
    assert.ok(!eventsOf(keyless).some((e) => /^(order|charge)\./.test(e.type)));
  });

  it('posts:<user id>: that user’s posts and the comments on them; 404 NOT_FOUND for an unknown user', async () => {
    const client = await connect(w.bob.auth);
    assert.equal((await subscribe(client, 'p', `posts:${w.ada.id}`)).type, 'subscribed');
    const mine = await w.post(w.ada);
    const other = await w.post(w.bob);
    const comment = await w.comment(w.bob, mine);
    const elsewhere = await w.comment(w.ada, other);
    await client.next((m) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === comment);
    await new Promise((r) => setTimeout(r, 200));
    const got = eventsOf(client, 'p').map((e) => e.resource_id);
    assert.deepEqual(got, [mine, comment]);
    assert.ok(!got.includes(other) && !got.includes(elsewhere));
    const unknown = await subscribe(client, 'q', 'posts:usr_doesnotexist');
    assert.equal(unknown.code, 'NOT_FOUND');
  });

  it('chat:<room>: to subscribers only (a publisher hears itself only if subscribed); data up to 4 KB; room names checked', async () => {
    const a = await connect(w.ada.auth);
    const b = await connect(w.bob.auth);
    assert.equal((await subscribe(b, 'c', 'chat:room-1')).type, 'subscribed');
    a.send({ type: 'publish', channel: 'chat:room-1', data: { text: 'hello' } });
    const got = await b.next((m) => m.type === 'message');
    assert.equal(got.channel, 'chat:room-1');
    assert.deepEqual(got.data, { text: 'hello' });
    assert.equal(got.from, w.ada.id);
    assert.ok(!Number.isNaN(Date.parse(String(got.sent_at))));
    assert.deepEqual(Object.keys(got).sort(), ['channel', 'data', 'from', 'sent_at', 'type']);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!a.messages.some((m) => m.type === 'message'), 'not subscribed: does not hear itself');
    b.send({ type: 'publish', channel: 'chat:room-1', data: { text: 'me too' } });
    await b.next((m) => m.type === 'message' && (m.data as { text: string }).text === 'me too');
    a.send({ type: 'publish', channel: 'chat:room-1', data: { text: 'x'.repeat(4200) } });
    assert.equal((await a.next((m) => m.type === 'error')).code, 'VALIDATION_FAILED');
    for (const channel of ['chat:Room', 'chat:', `chat:${'a'.repeat(65)}`]) {
      assert.equal((await subscribe(a, channel, channel)).code, 'VALIDATION_FAILED', channel);
    }
    a.send({ type: 'publish', channel: 'orders', data: {} });
    await a.next((m) => m.type === 'error' && a.messages.filter((x) => x.type === 'error').length >= 5);
    b.send({ type: 'unsubscribe', id: 'c' });
    a.send({ type: 'publish', channel: 'chat:room-1', data: { text: 'gone' } });
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!b.messages.some((m) => m.type === 'message' && (m.data as { text: string }).text === 'gone'));
  });

  it('rate limit: more than STOA_WS_MESSAGES_PER_SECOND answers error RATE_LIMITED and drops the excess', async () => {
    const client = await connect(w.bob.auth);
    for (let i = 0; i < 30; i++) client.send({ type: 'ping' });
    await client.next((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(client.messages.filter((m) => m.type === 'pong').length <= 10);
    await new Promise((r) => setTimeout(r, 1000));
    client.send({ type: 'ping' });
    const before = client.messages.filter((x) => x.type === 'pong').length;
    await client.next(() => client.messages.filter((x) => x.type === 'pong').length > before, 2_000, 'a pong in the next second');
    assert.equal(client.closed, null, 'still open');
  });

  it('a frame over STOA_WS_MAX_MESSAGE_BYTES closes with 1009', async () => {
    const client = await connect(w.bob.auth);
    client.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(9000) }));
    const closed = await client.waitForClose();
    assert.equal(closed.code, 1009);
  });

  it('sends pings and drops a peer that answers none of the last two', async () => {
    const alive = await connect(w.bob.auth);
    let pings = 0;
    alive.socket.on('ping', () => pings++);
    const dead = await connect(w.bob.auth, '', { autoPong: false });
    const closed = await dead.waitForClose(6_000);
    assert.equal(closed.code, 1006, 'terminated');
    assert.ok(pings >= 2);
    assert.equal(alive.closed, null);
  });

  it('closes with 4401 within a second when the API key is revoked or the account suspended', async () => {
    const owner = await w.newUser('Revokee');
    const created = await w.app.inject({ method: 'POST', url: '/v2/api-keys', headers: owner.auth, payload: { name: 'ws', scopes: ['posts:read'] } });
    const key = created.json().data;
    const viaKey = await connect({ 'x-api-key': key.secret });
    const viaSession = await connect(owner.auth);
    const bystander = await connect(w.bob.auth);
    const revokedAt = Date.now();
    await w.app.inject({ method: 'DELETE', url: `/v2/api-keys/${key.id}`, headers: owner.auth });
    assert.equal((await viaKey.waitForClose(2_000)).code, 4401);
    assert.ok(Date.now() - revokedAt < 1_500);
    assert.equal(viaSession.closed, null);
    await w.app.inject({ method: 'PATCH', url: `/v2/users/${owner.id}`, headers: w.admin.auth, payload: { status: 'suspended' } });
    assert.equal((await viaSession.waitForClose(2_000)).code, 4401);
    assert.equal(bystander.closed, null);
  });

  it('closes with 4401 when the access token it was opened with expires', async () => {
    const user = await w.newUser('Expiring');
    const client = await connect(user.auth);
    w.t.clock.advance(16 * 60_000);
    try {
      assert.equal((await client.waitForClose(2_000)).code, 4401);
    } finally {
      w.t.clock.advance(-16 * 60_000);
    }
  });
});

// Its own server, with pings far apart: here only the bound on unsent data can drop the peer that does not read.
describe('WebSocket /v1/ws: a peer that does not read', () => {
  const BOUND = 65_536;
  let slowWorld: World;
  let w2Url: string;
  const open: WsClient[] = [];
  const connectTo = async (url: string, headers: Record<string, string>) => {
    const client = await openWs(url, headers);
    open.push(client);
    return client;
  };
  const subscribe = async (client: WsClient, id: string, channel: string, extra: Record<string, unknown> = {}) => {
    client.send({ type: 'subscribe', id, channel, ...extra });
    return client.next((m) => (m.type === 'subscribed' || m.type === 'error') && m.id === id, 5_000, `the answer to ${id}`);
  };
  before(async () => {
    slowWorld = await world({ env: { ...ENV, STOA_WS_PING_MS: '600000', STOA_STREAM_MAX_BUFFERED_BYTES: String(BOUND) } });
    await slowWorld.app.listen({ port: 0, host: '127.0.0.1' });
    const address = slowWorld.app.server.address();
    w2Url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/ws`;
  });
  after(async () => {
    for (const c of open.splice(0)) c.socket.terminate();
    await slowWorld.close();
  });

  it('closes a peer that does not read with 1013 once its unsent data passes the bound; a fast one keeps receiving', async () => {
    assert.ok(slowWorld.t.container.realtime.sendBuffers.peakBytes <= BOUND, 'no backlog before');
    const slow = await connectTo(w2Url, slowWorld.ada.auth);
    const fast = await connectTo(w2Url, slowWorld.ada.auth);
    for (const c of [slow, fast]) assert.equal((await subscribe(c, 's', 'events', { types: ['product.*'] })).type, 'subscribed');
    const hub = slowWorld.t.container.realtime.hub;
    const subscribers = hub.subscriberCount;
    // ws's own pause: pausing its socket directly is undone whenever its receiver drains.
    slow.socket.pause();
    const dropped = () => hub.subscriberCount === subscribers - 1;
    const log = createEventLog(() => slowWorld.t.container.database.db);
    const big = 'y'.repeat(64 * 1024);
    for (let i = 0; i < 1_000 && !dropped(); i++) {
      await log.append({ type: 'product.updated', resourceType: 'product', resourceId: `prd_ws${i}`, data: { big }, audience: ['*'] }, new Date());
      slowWorld.t.container.realtime.feed.signalCommit();
      await fast.next((m: Msg) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === `prd_ws${i}`, 5_000);
    }
    assert.ok(dropped(), 'the slow peer was dropped');
    // Memory, from the server's side: no connection ever held more unsent data than the bound plus the message that crossed it.
    const buffers = slowWorld.t.container.realtime.sendBuffers;
    const message = 66 * 1024;
    assert.ok(buffers.peakBytes > BOUND, `the slow peer reached the bound (peak ${buffers.peakBytes})`);
    assert.ok(buffers.peakBytes <= BOUND + message, `peak ${buffers.peakBytes} bytes stayed within the bound plus one message`);
    // The backlog does not grow any more once the peer is dropped, however much more is published.
    const peak = buffers.peakBytes;
    for (let i = 0; i < 20; i++) {
      await log.append({ type: 'product.updated', resourceType: 'product', resourceId: `prd_wsafter${i}`, data: { big }, audience: ['*'] }, new Date());
      slowWorld.t.container.realtime.feed.signalCommit();
      await fast.next((m: Msg) => m.type === 'event' && (m.event as { resource_id: string }).resource_id === `prd_wsafter${i}`, 5_000);
    }
    assert.equal(buffers.peakBytes, peak);
    slow.socket.resume();
    const closed = await slow.waitForClose(5_000);
    // 1013 once it reads up to the close frame; 1006 if the server gave up waiting for it to read (2 s) first.
    assert.ok(closed.code === 1013 || closed.code === 1006, `closed with ${closed.code}`);
    assert.equal(fast.closed, null);
  });
});

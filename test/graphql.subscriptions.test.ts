import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createTestApp, signUp, type TestApp } from './helpers/app.ts';
import { openWs } from './helpers/realtime.ts';
import { gqlData, openGraphqlWs, type GraphqlWsClient, type WsMessage } from './helpers/graphql.ts';
import { world, type World } from './helpers/world.ts';

// Small limits, so a document can be refused for each; a fast credential watch, so revocation shows quickly.
const ENV = {
  STOA_GRAPHQL_MAX_DEPTH: '6',
  STOA_GRAPHQL_MAX_ALIASES: '3',
  STOA_GRAPHQL_MAX_COST: '300',
  STOA_REALTIME_POLL_MS: '200',
  STOA_REALTIME_REVALIDATE_MS: '100',
};

type EventData = { events: { id: string; sequence: number; type: string; resourceId: string } };
const EVENTS = 'subscription ($types: [String!], $after: String) { events(types: $types, after: $after) { id sequence type resourceId } }';

describe('GraphQL subscriptions over graphql-transport-ws (/graphql)', () => {
  let w: World;
  let url: string;
  const open: GraphqlWsClient[] = [];
  const connect = async (query = '', options: { protocol?: string | null; headers?: Record<string, string> } = {}) => {
    const client = await openGraphqlWs(`${url}${query}`, options);
    open.push(client);
    return client;
  };
  const ready = async (payload: Record<string, unknown>) => {
    const client = await connect();
    await client.init(payload);
    return client;
  };
  const errorOf = (client: GraphqlWsClient, id: string) =>
    client.next((m) => (m.type === 'error' || m.type === 'next') && m.id === id, 5_000, `the answer to ${id}`).then((m: WsMessage) => {
      assert.equal(m.type, 'error', `expected an error message, got ${JSON.stringify(m)}`);
      return m.payload as Array<{ message: string; extensions: { code: string; [k: string]: unknown } }>;
    });
  const head = async () => {
    const data = await gqlData<{ events: { nodes: Array<{ sequence: number }> } }>(w.app, '{ events(last: 1) { nodes { sequence } } }', { headers: w.admin.auth });
    return data.events.nodes[0]?.sequence ?? 0;
  };

  before(async () => {
    w = await world({ env: ENV });
    await w.app.listen({ port: 0, host: '127.0.0.1' });
    const address = w.app.server.address();
    url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/graphql`;
  });
  afterEach(async () => {
    for (const c of open.splice(0)) c.socket.terminate();
    await new Promise((r) => setTimeout(r, 30));
  });
  after(() => w.close());

  it('authenticates in connection_init (Bearer token or API key, or X-API-Key), closing with 4403 without a good credential', async () => {
    await ready({ authorization: w.ada.auth.authorization! });
    const key = await w.apiKey(w.ada, ['posts:read']);
    await ready({ authorization: `Bearer ${key['x-api-key']}` });
    await ready({ 'x-api-key': key['x-api-key'] });
    for (const payload of [undefined, {}, { authorization: 'Bearer nope' }, { authorization: 'Basic abc' }, { 'x-api-key': 'stoa_sk_nope' }]) {
      const client = await connect();
      client.send({ type: 'connection_init', ...(payload && { payload }) });
      const closed = await client.waitForClose();
      assert.equal(closed.code, 4403, JSON.stringify(payload));
      assert.ok(!client.messages.some((m) => m.type === 'connection_ack'));
    }
  });

  it('takes a single-use ticket on the upgrade (?ticket=); a used or unknown one closes with 4403 at connection_init', async () => {
    const ticket = (await w.app.inject({ method: 'POST', url: '/v1/realtime/tickets', headers: w.ada.auth })).json().data.ticket as string;
    const first = await connect(`?ticket=${encodeURIComponent(ticket)}`);
    await first.init();
    first.subscribe('me', '{ me { displayName } }');
    await first.next((m) => m.type === 'complete' && m.id === 'me');
    assert.deepEqual(first.data('me'), [{ me: { displayName: 'Ada' } }]);
    for (const query of [`?ticket=${encodeURIComponent(ticket)}`, `?ticket=rtk_${'B'.repeat(43)}`]) {
      const again = await connect(query);
      again.send({ type: 'connection_init', payload: { authorization: w.ada.auth.authorization } });
      assert.equal((await again.waitForClose()).code, 4403, query);
    }
  });

  it('speaks only graphql-transport-ws (4406 otherwise; 4400, 4401, 4409, 4429 for misuse), and leaves /v1/ws to the channels protocol on the same server', async () => {
    const none = await connect('', { protocol: null });
    assert.equal((await none.waitForClose()).code, 4406);
    // The legacy subprotocol is not chosen: the client gives up on the handshake.
    const legacy = await connect('', { protocol: 'graphql-ws' });
    assert.notEqual((await legacy.waitForClose()).code, 1000);
    assert.ok(!legacy.messages.length);
    // graphql-ws's own codes for protocol misuse, as docs/graphql.md lists them.
    const early = await connect();
    early.subscribe('x', '{ me { id } }');
    assert.equal((await early.waitForClose()).code, 4401, 'subscribe before connection_ack');
    const garbage = await connect();
    garbage.send('{not json');
    assert.equal((await garbage.waitForClose()).code, 4400);
    const twice = await ready({ authorization: w.ada.auth.authorization! });
    twice.send({ type: 'connection_init', payload: { authorization: w.ada.auth.authorization } });
    assert.equal((await twice.waitForClose()).code, 4429);
    const duplicate = await ready({ authorization: w.ada.auth.authorization! });
    duplicate.subscribe('same', 'subscription { postCreated { id } }');
    await new Promise((r) => setTimeout(r, 100));
    duplicate.subscribe('same', 'subscription { postCreated { id } }');
    assert.equal((await duplicate.waitForClose()).code, 4409);
    const channels = await openWs(url.replace('/graphql', '/v1/ws'), w.ada.auth);
    channels.send({ type: 'ping' });
    await channels.next((m) => m.type === 'pong');
    channels.socket.terminate();
  });

  it('events: what the caller may see, filtered by types; after resumes from a sequence with no gap and no duplicate', async () => {
    const ada = await ready({ authorization: w.ada.auth.authorization! });
    const start = await head();
    ada.subscribe('posts', EVENTS, { types: ['post.*'], after: String(start) });
    ada.subscribe('all', EVENTS, { after: String(start) });
    const posts = [await w.post(w.bob, { title: 'one' }), await w.post(w.ada, { title: 'two' })];
    // Bob's order is his alone: Ada must not see its event.
    const product = await w.product();
    const bobs = await w.order(w.bob, [{ product_id: product, quantity: 1 }]);
    const marker = await w.post(w.bob, { title: 'marker' });
    await ada.next((m) => m.id === 'all' && (m.payload as { data: EventData }).data?.events.resourceId === marker, 5_000, 'the marker');
    const all = ada.data<EventData>('all').map((d) => d.events);
    assert.ok(!all.some((e) => e.resourceId === bobs.id), 'another user\'s order event is not delivered');
    assert.deepEqual(all.filter((e) => e.type === 'post.created').map((e) => e.resourceId), [...posts, marker]);
    const typed = ada.data<EventData>('posts').map((d) => d.events);
    assert.ok(typed.every((e) => e.type.startsWith('post.')));
    const sequences = all.map((e) => e.sequence);
    assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b), 'in sequence order');
    assert.equal(new Set(sequences).size, sequences.length, 'no duplicate');

    // Resume after the first delivered event: the rest, then live ones, exactly once each.
    const cut = all[0]!;
    const missed = await w.post(w.bob, { title: 'while away' });
    const resumed = await ready({ authorization: w.ada.auth.authorization! });
    resumed.subscribe('again', EVENTS, { types: ['post.created'], after: String(cut.sequence) });
    const live = await w.post(w.bob, { title: 'live' });
    await resumed.next((m) => m.id === 'again' && (m.payload as { data: EventData }).data?.events.resourceId === live, 5_000, 'the live post');
    assert.deepEqual(
      resumed.data<EventData>('again').map((d) => d.events.resourceId),
      [...posts, marker, missed, live].filter((id) => id !== cut.resourceId),
    );
  });

  it('postCreated(authorId): that author\'s new posts with their fields; every author without it; NOT_FOUND for an unknown author', async () => {
    const ada = await ready({ authorization: w.ada.auth.authorization! });
    ada.subscribe('bob', `subscription { postCreated(authorId: "${w.bob.id}") { id title author { displayName } } }`);
    ada.subscribe('any', 'subscription { postCreated { id } }');
    // The hub takes a subscriber asynchronously: post until the first one arrives, then check the rest exactly.
    const made: string[] = [];
    for (let i = 0; i < 50 && ada.data('bob').length === 0; i++) {
      made.push(await w.post(w.bob, { title: `by bob ${i}` }));
      await new Promise((r) => setTimeout(r, 50));
    }
    const adas = await w.post(w.ada, { title: 'by ada' });
    const last = await w.post(w.bob, { title: 'bob again' });
    await ada.next((m) => m.id === 'bob' && (m.payload as { data: { postCreated: { id: string } } }).data.postCreated.id === last);
    await ada.next((m) => m.id === 'any' && (m.payload as { data: { postCreated: { id: string } } }).data.postCreated.id === last);
    const bobs = ada.data<{ postCreated: { id: string; title: string; author: { displayName: string } } }>('bob').map((d) => d.postCreated);
    assert.ok(bobs.every((p) => p.author.displayName === 'Bob'));
    assert.ok(!bobs.some((p) => p.id === adas));
    assert.equal(bobs.at(-1)!.title, 'bob again');
    assert.ok(ada.data<{ postCreated: { id: string } }>('any').some((d) => d.postCreated.id === adas));
    ada.subscribe('nobody', 'subscription { postCreated(authorId: "usr_00000000000000000000000000") { id } }');
    assert.equal((await errorOf(ada, 'nobody'))[0]!.extensions.code, 'NOT_FOUND');
    const noScope = await ready({ 'x-api-key': (await w.apiKey(w.ada, ['orders:read']))['x-api-key'] });
    noScope.subscribe('scope', 'subscription { postCreated { id } }');
    assert.equal((await errorOf(noScope, 'scope'))[0]!.extensions.code, 'INSUFFICIENT_SCOPE');
  });

  it('commentAdded(postId): comments on that post only; NOT_FOUND for an unknown post; complete stops the stream', async () => {
    const post = await w.post(w.ada);
    const other = await w.post(w.ada);
    const bob = await ready({ authorization: w.bob.auth.authorization! });
    bob.subscribe('c', 'subscription ($p: ID!) { commentAdded(postId: $p) { id content post { id } author { displayName } } }', { p: post });
    let first: string | undefined;
    for (let i = 0; i < 50 && bob.data('c').length === 0; i++) {
      first = await w.comment(w.ada, post, `c${i}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await w.comment(w.ada, other, 'elsewhere');
    const last = await w.comment(w.bob, post, 'mine');
    await bob.next((m) => m.id === 'c' && (m.payload as { data: { commentAdded: { id: string } } }).data.commentAdded.id === last);
    const got = bob.data<{ commentAdded: { id: string; content: string; post: { id: string }; author: { displayName: string } } }>('c').map((d) => d.commentAdded);
    assert.ok(got.every((c) => c.post.id === post));
    assert.ok(got.some((c) => c.id === first));
    assert.deepEqual(got.at(-1), { id: last, content: 'mine', post: { id: post }, author: { displayName: 'Bob' } });
    bob.send({ type: 'complete', id: 'c' });
    await new Promise((r) => setTimeout(r, 100));
    const count = bob.data('c').length;
    const afterComplete = await w.comment(w.ada, post, 'after complete');
    bob.subscribe('check', 'subscription ($p: ID!) { commentAdded(postId: $p) { id } }', { p: post });
    await w.comment(w.ada, post, 'seen by check');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bob.data('c').length, count, 'nothing after complete');
    assert.ok(!bob.data<{ commentAdded: { id: string } }>('check').some((d) => d.commentAdded.id === afterComplete));
    bob.subscribe('missing', 'subscription { commentAdded(postId: "pst_00000000000000000000000000") { id } }');
    assert.equal((await errorOf(bob, 'missing'))[0]!.extensions.code, 'NOT_FOUND');
  });

  it('orderStatusChanged: the owner sees its order change; another user gets NOT_FOUND for it and none of its changes', async () => {
    const product = await w.product();
    const order = await w.order(w.ada, [{ product_id: product, quantity: 1 }]);
    const ada = await ready({ authorization: w.ada.auth.authorization! });
    const bob = await ready({ authorization: w.bob.auth.authorization! });
    ada.subscribe('mine', 'subscription ($o: ID) { orderStatusChanged(orderId: $o) { id status } }', { o: order.id });
    bob.subscribe('all', 'subscription { orderStatusChanged { id status } }');
    bob.subscribe('hers', 'subscription ($o: ID) { orderStatusChanged(orderId: $o) { id } }', { o: order.id });
    assert.equal((await errorOf(bob, 'hers'))[0]!.extensions.code, 'NOT_FOUND');
    await new Promise((r) => setTimeout(r, 200));
    const cancel = await w.app.inject({ method: 'POST', url: `/v2/orders/${order.id}/cancel`, headers: w.ada.auth });
    assert.equal(cancel.statusCode, 200, cancel.body);
    await ada.next((m) => m.id === 'mine' && m.type === 'next');
    assert.deepEqual(ada.data('mine'), [{ orderStatusChanged: { id: order.id, status: 'cancelled' } }]);
    // Bob's own order, cancelled after: he sees that one and never Ada's.
    const his = await w.order(w.bob, [{ product_id: product, quantity: 1 }]);
    await w.app.inject({ method: 'POST', url: `/v2/orders/${his.id}/cancel`, headers: w.bob.auth });
    await bob.next((m) => m.id === 'all' && m.type === 'next');
    assert.deepEqual(bob.data('all'), [{ orderStatusChanged: { id: his.id, status: 'cancelled' } }]);
    const noScope = await ready({ 'x-api-key': (await w.apiKey(w.ada, ['posts:read']))['x-api-key'] });
    noScope.subscribe('scope', 'subscription { orderStatusChanged { id } }');
    assert.equal((await errorOf(noScope, 'scope'))[0]!.extensions.code, 'INSUFFICIENT_SCOPE');
  });

  it('answers bad documents and arguments with error messages carrying registry codes, and applies depth, alias and cost limits', async () => {
    const ada = await ready({ authorization: w.ada.auth.authorization! });
    const cases: Array<[string, string, Record<string, unknown> | undefined, string]> = [
      ['parse', 'subscription { events { id ', undefined, 'GRAPHQL_PARSE_FAILED'],
      ['unknown', 'subscription { nothing { id } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
      ['two-roots', 'subscription { events { id } postCreated { id } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
      ['deep', 'subscription { postCreated { author { posts { nodes { author { posts { nodes { id } } } } } } } }', undefined, 'QUERY_TOO_DEEP'],
      ['aliases', 'subscription { a: postCreated { a: id b: id c: id d: id } }', undefined, 'QUERY_TOO_COMPLEX'],
      ['cost', 'subscription { postCreated { a: comments(first: 100) { nodes { author { id } post { id } } } b: comments(first: 100) { nodes { author { id } } } } }', undefined, 'QUERY_TOO_COMPLEX'],
      ['after', EVENTS, { after: 'yesterday' }, 'VALIDATION_FAILED'],
      ['types', EVENTS, { types: ['not a type!'] }, 'INVALID_PARAMETER'],
      ['variables', EVENTS, { types: 7 }, 'VALIDATION_FAILED'],
      ['required', 'subscription ($p: ID!) { commentAdded(postId: $p) { id } }', {}, 'VALIDATION_FAILED'],
    ];
    for (const [id, query, variables] of cases) ada.subscribe(id, query, variables);
    for (const [id, , , code] of cases) {
      const errors = await errorOf(ada, id);
      assert.equal(errors[0]!.extensions.code, code, `${id}: ${JSON.stringify(errors)}`);
    }
    const cost = (await errorOf(ada, 'cost'))[0]!.extensions;
    assert.equal(cost.max_cost, 300);
    assert.ok((cost.cost as number) > 300);
    // Persisted queries: an unknown hash is PERSISTED_QUERY_NOT_FOUND; a registered one runs by hash.
    const text = 'subscription { postCreated { id } }';
    const hash = createHash('sha256').update(text).digest('hex');
    ada.send({ id: 'apq', type: 'subscribe', payload: { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } } });
    assert.equal((await errorOf(ada, 'apq'))[0]!.extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
    ada.send({ id: 'mismatch', type: 'subscribe', payload: { query: text, extensions: { persistedQuery: { version: 1, sha256Hash: 'b'.repeat(64) } } } });
    assert.equal((await errorOf(ada, 'mismatch'))[0]!.extensions.code, 'PERSISTED_QUERY_HASH_MISMATCH');
    ada.send({ id: 'register', type: 'subscribe', payload: { query: text, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } } });
    ada.send({ id: 'by-hash', type: 'subscribe', payload: { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } } });
    for (let i = 0; i < 50 && ada.data('by-hash').length === 0; i++) {
      await w.post(w.bob, { title: `persisted ${i}` });
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(ada.data<{ postCreated: { id: string } }>('by-hash')[0]!.postCreated.id.startsWith('pst_'));
    // The connection stays usable after refusals.
    ada.subscribe('ok', '{ me { id } }');
    await ada.next((m) => m.type === 'complete' && m.id === 'ok');
    assert.deepEqual(ada.data('ok'), [{ me: { id: w.ada.id } }]);
    assert.equal(ada.closed, null);
  });

  it('closes with 4403 when the API key behind the connection is revoked or the account suspended; others stay open', async () => {
    const owner = await w.newUser('Revokee');
    const created = await w.app.inject({ method: 'POST', url: '/v2/api-keys', headers: owner.auth, payload: { name: 'gql ws', scopes: ['posts:read'] } });
    const key = created.json().data as { id: string; secret: string };
    const viaKey = await ready({ 'x-api-key': key.secret });
    const viaSession = await ready({ authorization: owner.auth.authorization! });
    const bystander = await ready({ authorization: w.bob.auth.authorization! });
    await w.app.inject({ method: 'DELETE', url: `/v2/api-keys/${key.id}`, headers: owner.auth });
    assert.equal((await viaKey.waitForClose(3_000)).code, 4403);
    assert.equal(viaSession.closed, null);
    await w.app.inject({ method: 'PATCH', url: `/v2/users/${owner.id}`, headers: w.admin.auth, payload: { status: 'suspended' } });
    assert.equal((await viaSession.waitForClose(3_000)).code, 4403);
    assert.equal(bystander.closed, null);
  });

  it('GraphiQL at /graphiql subscribes over the same path: graphql-ws client on ws(s)://<host>/graphql, allowed by its CSP', async () => {
    const res = await w.app.inject({ method: 'GET', url: '/graphiql', headers: { accept: 'text/html', host: 'stoa.example:8443' } });
    assert.equal(res.statusCode, 200);
    // The bundle (web/graphiql/main.ts) builds ws(s)://<host>/graphql from this endpoint; the browser test subscribes through it.
    assert.match(res.body, /data-endpoint="\/graphql"/);
    const connect = /connect-src ([^;]+)/.exec(String(res.headers['content-security-policy']))![1]!;
    assert.deepEqual(connect.split(' ').filter((s) => s.startsWith('ws')), ['ws://stoa.example:8443', 'wss://stoa.example:8443']);
    const odd = await w.app.inject({ method: 'GET', url: '/graphiql', headers: { accept: 'text/html', host: 'evil.example; script-src *' } });
    assert.ok(!/evil/.test(String(odd.headers['content-security-policy'])), 'a strange Host is not written into the policy');
  });

  it('node(id:) resolves an event id, as NOT_FOUND with null for an event the caller may not see', async () => {
    const product = await w.product();
    const order = await w.order(w.bob, [{ product_id: product, quantity: 1 }]);
    const listed = await gqlData<{ events: { nodes: Array<{ id: string; resourceId: string; type: string }> } }>(w.app, '{ events(last: 20, types: ["order.created"]) { nodes { id resourceId type } } }', { headers: w.bob.auth });
    const event = listed.events.nodes.find((e) => e.resourceId === order.id)!;
    const mine = await gqlData<{ node: { __typename: string; id: string; type: string } }>(w.app, `{ node(id: "${event.id}") { __typename id ... on Event { type resourceId } } }`, { headers: w.bob.auth });
    assert.deepEqual(mine.node, { __typename: 'Event', id: event.id, type: 'order.created', resourceId: order.id });
    const { gql } = await import('./helpers/graphql.ts');
    for (const [id, headers] of [[event.id, w.ada.auth], ['evt_00000000000000000000000000', w.bob.auth]] as const) {
      const refused = await gql(w.app, `{ node(id: "${id}") { id } }`, { headers });
      assert.deepEqual(refused.body.data, { node: null });
      assert.equal(refused.body.errors?.[0]?.extensions.code, 'NOT_FOUND');
    }
    const noScope = await w.apiKey(w.bob, ['posts:read']);
    const hidden = await gql(w.app, `{ node(id: "${event.id}") { id } }`, { headers: noScope });
    assert.equal(hidden.body.errors?.[0]?.extensions.code, 'NOT_FOUND', 'an API key without orders:read does not see order events');
  });
});

describe('GraphQL subscriptions: rate limit by cost and strict persisted mode apply over the WebSocket too', () => {
  const listening = async (t: TestApp) => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    return `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/graphql`;
  };
  const answer = (client: GraphqlWsClient, id: string) => client.next((m) => (m.type === 'error' || m.type === 'next' || m.type === 'complete') && m.id === id, 5_000, id);

  it('each subscribe consumes points by its cost; past the quota it is an error RATE_LIMITED, and the connection stays', async () => {
    const t = await createTestApp({ STOA_RATE_LIMIT: 'on', STOA_RATE_LIMIT_PREFIX: `test:gqlws:${randomBytes(4).toString('hex')}:`, STOA_RATE_LIMIT_FREE: '20/1m', STOA_RATE_LIMIT_WRITES: 'off', STOA_RATE_LIMIT_SEARCH: 'off' });
    const client = await openGraphqlWs(await listening(t)).catch(async (error: unknown) => {
      await t.close();
      throw error;
    });
    try {
      const user = await signUp(t.app);
      await client.init({ authorization: `Bearer ${user.accessToken}` });
      // cost 1 + 1 + 100 × 1 = 102 → 11 points of 20: the first runs, the second does not.
      const costly = 'subscription { postCreated { comments(first: 100) { nodes { author { id } } } } }';
      client.subscribe('one', costly);
      client.subscribe('two', costly);
      const two = await answer(client, 'two');
      assert.equal(two.type, 'error');
      const error = (two.payload as Array<{ extensions: { code: string; retry_after?: number } }>)[0]!;
      assert.equal(error.extensions.code, 'RATE_LIMITED');
      assert.ok(Number(error.extensions.retry_after) >= 1);
      assert.ok(!client.messages.some((m) => m.id === 'one' && m.type === 'error'), 'the first, within the quota, runs');
      assert.equal(client.closed, null);
    } finally {
      client.socket.terminate();
      await t.close();
    }
  });

  it('in strict persisted mode only allow-listed documents subscribe (by hash or by text)', async () => {
    const allowed = 'subscription { postCreated { id } }';
    const hash = createHash('sha256').update(allowed).digest('hex');
    const dir = mkdtempSync(path.join(tmpdir(), 'stoa-gqlws-'));
    const file = path.join(dir, 'allowlist.json');
    writeFileSync(file, JSON.stringify({ [hash]: allowed }));
    const t = await createTestApp({ STOA_GRAPHQL_PERSISTED_ONLY: 'true', STOA_GRAPHQL_ALLOWLIST: file });
    const client = await openGraphqlWs(await listening(t)).catch(async (error: unknown) => {
      await t.close();
      throw error;
    });
    try {
      const user = await signUp(t.app);
      await client.init({ authorization: `Bearer ${user.accessToken}` });
      client.subscribe('other', 'subscription { events { id } }');
      client.send({ id: 'unknown', type: 'subscribe', payload: { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: 'c'.repeat(64) } } } });
      client.send({ id: 'by-hash', type: 'subscribe', payload: { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } } });
      client.subscribe('by-text', allowed);
      const codeOf = async (id: string) => ((await answer(client, id)).payload as Array<{ extensions: { code: string } }>)[0]!.extensions.code;
      assert.equal(await codeOf('other'), 'PERSISTED_QUERY_REQUIRED');
      assert.equal(await codeOf('unknown'), 'PERSISTED_QUERY_NOT_FOUND');
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(!client.messages.some((m) => (m.id === 'by-hash' || m.id === 'by-text') && m.type === 'error'), JSON.stringify(client.messages));
      assert.equal(client.closed, null);
    } finally {
      client.socket.terminate();
      await t.close();
    }
  });
});

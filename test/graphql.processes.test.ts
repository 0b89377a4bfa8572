import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openGraphqlWs, type GraphqlWsClient } from './helpers/graphql.ts';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { createScratchSchema, type ScratchSchema } from './helpers/pg-schema.ts';

// Three processes of one deployment on PostgreSQL (+ Redis when REDIS_URL is set); the embedded default is one process by nature.
const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'gql-test' }]);

type Next = { data: Record<string, { id?: string; sequence?: number; resourceId?: string; type?: string }> };

describe('GraphQL subscriptions across three processes', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, () => {
  let scratch: ScratchSchema | undefined;
  let procs: StoaProcess[] = [];
  let auth: string;
  const clients: GraphqlWsClient[] = [];

  const graphql = async (url: string, query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: auth }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data?: Record<string, Record<string, unknown>>; errors?: unknown };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.errors, undefined);
    return body.data!;
  };
  const createPost = async (url: string, title: string) => String((await graphql(url, 'mutation ($t: String!) { createPost(input: {title: $t, content: "c"}) { id } }', { t: title })).createPost!.id);
  const ws = async (url: string) => {
    const client = await openGraphqlWs(`${url.replace('http', 'ws')}/graphql`);
    clients.push(client);
    await client.init({ authorization: auth });
    return client;
  };
  const ids = (client: GraphqlWsClient, id: string, field: string) => client.data<Next['data']>(id).map((d) => String(d[field]!.resourceId ?? d[field]!.id));

  before(async () => {
    scratch = await createScratchSchema('gql');
    const env = {
      DATABASE_URL: scratch.databaseUrl,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      STOA_JWT_KEYS: JWT_KEYS,
      STOA_RATE_LIMIT: 'off',
      STOA_LOAD_SHEDDING: 'off',
      STOA_SEED_DEMO: 'false',
      STOA_PASSWORD_HASH_COST: '12',
      STOA_REALTIME_POLL_MS: '1000',
    };
    procs = [await startStoa(env)];
    procs.push(...(await Promise.all([startStoa(env), startStoa(env)])));
    const email = `gql.${randomUUID()}@example.com`;
    const password = 'correct horse battery staple';
    const created = await fetch(`${procs[0]!.url}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'GQL', password }) });
    assert.equal(created.status, 201);
    const login = await fetch(`${procs[1]!.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    auth = `Bearer ${((await login.json()) as { data: { access_token: string } }).data.access_token}`;
  });
  after(async () => {
    for (const c of clients) c.socket.terminate();
    await Promise.all(procs.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? p.stop() : undefined)));
    await scratch?.drop();
  });

  it('a mutation on process A reaches subscribers on B; events resumes on C after a sequence with no gap and no duplicate', async () => {
    const [a, b, c] = procs as [StoaProcess, StoaProcess, StoaProcess];
    const onB = await ws(b.url);
    onB.subscribe('posts', 'subscription { postCreated { id title } }');
    onB.subscribe('events', 'subscription { events(types: ["post.created"]) { id sequence resourceId } }');
    // The subscription joins the hub asynchronously: create on A until B has one, then check the order exactly.
    const made: string[] = [];
    for (let i = 0; i < 60 && onB.data('events').length === 0; i++) {
      made.push(await createPost(a.url, `warm ${i}`));
      await new Promise((r) => setTimeout(r, 100));
    }
    const fromA = [await createPost(a.url, 'one'), await createPost(c.url, 'two')];
    await onB.next((m) => m.id === 'posts' && (m.payload as Next).data.postCreated!.id === fromA[1], 5_000, 'both posts on B');
    await onB.next((m) => m.id === 'events' && (m.payload as Next).data.events!.resourceId === fromA[1], 5_000, 'both events on B');
    const seen = ids(onB, 'events', 'events');
    assert.deepEqual(seen, made.slice(made.length - seen.length + fromA.length).concat(fromA), 'a contiguous run, in commit order');
    assert.deepEqual(ids(onB, 'posts', 'postCreated').slice(-2), fromA);

    const events = onB.data<Next['data']>('events').map((d) => d.events!);
    const cut = events.at(-2)!;
    onB.socket.terminate();
    const missed = [await createPost(a.url, 'three'), await createPost(b.url, 'four')];
    const onC = await ws(c.url);
    onC.subscribe('resume', 'subscription ($after: String) { events(types: ["post.created"], after: $after) { id sequence resourceId } }', { after: String(cut.sequence) });
    await onC.next((m) => m.id === 'resume' && (m.payload as Next).data.events!.resourceId === missed[1], 10_000, 'the replay on C');
    const live = await createPost(a.url, 'five');
    await onC.next((m) => m.id === 'resume' && (m.payload as Next).data.events!.resourceId === live, 10_000, 'the live event on C');
    assert.deepEqual(ids(onC, 'resume', 'events'), [fromA[1], ...missed, live]);
  });
});

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildSchema, findBreakingChanges, getIntrospectionQuery, printSchema } from 'graphql';
import { loadConfig } from '../src/config.ts';
import { buildStoaSchema } from '../src/transports/graphql/schema/index.ts';
import { createTestApp, problemOf, signUp, type SignedUp, type TestApp } from './helpers/app.ts';
import { gql, GRAPHQL_RESPONSE } from './helpers/graphql.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A query `levels` fields deep (the root field is 1). */
function deep(levels: number): string {
  // me(1) → posts(2) → edges(3) → node(4) → author(5) → posts(6) → edges(7) → node(8) → author(9) …
  let inner = 'id';
  const cycle = ['author', 'node', 'edges', 'posts(first: 1)'];
  for (let depth = levels - 1, i = 0; depth >= 2; depth--, i++) inner = `${cycle[i % 4]} { ${inner} }`;
  return `{ me { ${inner} } }`;
}

describe('GraphQL limits: depth, aliases, cost', () => {
  let t: TestApp;
  let ada: SignedUp;
  before(async () => {
    t = await createTestApp({ STOA_GRAPHQL_MAX_DEPTH: '6', STOA_GRAPHQL_MAX_ALIASES: '3', STOA_GRAPHQL_MAX_COST: '300' });
    ada = await signUp(t.app, { name: 'Ada' });
  });
  after(() => t.close());

  it('refuses a query deeper than STOA_GRAPHQL_MAX_DEPTH (root field = 1) with QUERY_TOO_DEEP, before running it', async () => {
    const ok = await gql(t.app, deep(6), { headers: ada.auth });
    assert.equal(ok.res.statusCode, 200, ok.res.body);
    assert.equal(ok.body.errors, undefined);
    const before = t.queries();
    const refused = await gql(t.app, deep(7), { headers: ada.auth });
    assert.equal(refused.res.statusCode, 400);
    assert.equal(refused.body.data, undefined);
    assert.equal(refused.body.errors?.[0]?.extensions.code, 'QUERY_TOO_DEEP');
    assert.equal(refused.body.errors?.[0]?.extensions.max_depth, 6);
    // Authentication may read; nothing of the query ran.
    assert.ok(t.queries() - before <= 1);
    const viaFragment = await gql(t.app, 'query { me { ...deep } } fragment deep on User { posts { edges { node { author { posts { nodes { id } } } } } } }', { headers: ada.auth });
    assert.equal(viaFragment.body.errors?.[0]?.extensions.code, 'QUERY_TOO_DEEP');
  });

  it('exempts introspection from the depth limit (GraphiQL’s own query is deeper)', async () => {
    const { res, body } = await gql(t.app, getIntrospectionQuery(), { headers: ada.auth });
    assert.equal(res.statusCode, 200);
    assert.ok((body.data as { __schema: unknown }).__schema);
  });

  it('refuses more aliases than STOA_GRAPHQL_MAX_ALIASES with QUERY_TOO_COMPLEX', async () => {
    const ok = await gql(t.app, '{ a: me { id } b: me { id } c: me { id } }', { headers: ada.auth });
    assert.equal(ok.body.errors, undefined);
    const refused = await gql(t.app, '{ a: me { id } b: me { id } c: me { id } d: me { id } }', { headers: ada.auth });
    assert.equal(refused.res.statusCode, 400);
    assert.equal(refused.body.errors?.[0]?.extensions.code, 'QUERY_TOO_COMPLEX');
    assert.equal(refused.body.errors?.[0]?.extensions.max_aliases, 3);
  });

  it('costs connections by first/last (100 without), refusing over STOA_GRAPHQL_MAX_COST with cost and max_cost', async () => {
    // posts(first: 2) { author } = 1 + 2 × 1; the answer reports its cost.
    const cheap = await gql(t.app, '{ posts(first: 2) { edges { node { id author { id } } } } }', { headers: ada.auth });
    assert.equal(cheap.body.extensions?.cost, 3);
    assert.equal(cheap.body.extensions?.max_cost, 300);
    // posts(first: 10) { comments(first: 50) { author } } = 1 + 10 × (1 + 50 × 1) = 511.
    const nested = await gql(t.app, '{ posts(first: 10) { nodes { comments(first: 50) { nodes { author { id } } } } } }', { headers: ada.auth });
    assert.equal(nested.res.statusCode, 400);
    assert.equal(nested.body.data, undefined);
    assert.deepEqual(
      { code: nested.body.errors?.[0]?.extensions.code, cost: nested.body.errors?.[0]?.extensions.cost, max: nested.body.errors?.[0]?.extensions.max_cost },
      { code: 'QUERY_TOO_COMPLEX', cost: 511, max: 300 },
    );
    // Without first/last a connection counts as 100; totalCount adds 1 once per connection: 1 + 1 + 100 × (author 1 + comments (1 + 1)).
    const unbounded = await gql(t.app, '{ posts { totalCount nodes { author { id } comments(first: 5) { totalCount } } } }', { headers: ada.auth });
    assert.equal(unbounded.body.errors?.[0]?.extensions.cost, 302);
    // Variables count as their values: 1 + 20 × (1 + 20 × 1) = 421.
    const byVariable = await gql(t.app, 'query($n: Int) { posts(first: $n) { nodes { comments(first: $n) { nodes { author { id } } } } } }', { headers: ada.auth, variables: { n: 20 } });
    assert.equal(byVariable.body.errors?.[0]?.extensions.cost, 421);
    const smaller = await gql(t.app, 'query($n: Int) { posts(first: $n) { nodes { comments(first: $n) { nodes { author { id } } } } } }', { headers: ada.auth, variables: { n: 5 } });
    assert.equal(smaller.body.errors, undefined);
    assert.equal(smaller.body.extensions?.cost, 1 + 5 * (1 + 5));
  });
});

describe('GraphQL introspection and suggestions', () => {
  const apps: TestApp[] = [];
  after(() => Promise.all(apps.map((a) => a.close())));
  const app = async (env: Record<string, string>) => {
    const t = await createTestApp(env);
    apps.push(t);
    return t;
  };

  it('is on outside production, with suggestions', async () => {
    const t = await app({});
    const { body } = await gql(t.app, '{ __schema { queryType { name } } }');
    assert.deepEqual(body.data, { __schema: { queryType: { name: 'Query' } } });
    const typo = await gql(t.app, '{ produc(id: "x") { id } }');
    assert.match(typo.body.errors![0]!.message, /Did you mean/);
  });

  it('is off with NODE_ENV=production, and field suggestions with it; STOA_GRAPHQL_INTROSPECTION=true turns it back on', async () => {
    const t = await app({ NODE_ENV: 'production' });
    const { res, body } = await gql(t.app, '{ __schema { queryType { name } } }');
    assert.equal(res.statusCode, 400);
    assert.equal(body.errors?.[0]?.extensions.code, 'GRAPHQL_VALIDATION_FAILED');
    const typeQuery = await gql(t.app, '{ __type(name: "User") { name } }');
    assert.equal(typeQuery.res.statusCode, 400);
    const typo = await gql(t.app, '{ produc(id: "x") { id } }');
    assert.equal(typo.res.statusCode, 400);
    assert.doesNotMatch(typo.body.errors![0]!.message, /Did you mean/);
    // __typename is not introspection.
    assert.equal((await gql(t.app, '{ __typename }')).res.statusCode, 200);
    const on = await app({ NODE_ENV: 'production', STOA_GRAPHQL_INTROSPECTION: 'true' });
    assert.equal((await gql(on.app, '{ __schema { queryType { name } } }')).res.statusCode, 200);
  });

  it('publishes the SDL at /graphql/schema.graphql outside production only', async () => {
    const dev = await app({ NODE_ENV: 'development' });
    const res = await dev.app.inject({ method: 'GET', url: '/graphql/schema.graphql' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(res.body, /type Query \{/);
    const prod = apps.find((a) => a.config.nodeEnv === 'production')!;
    assert.equal((await prod.app.inject({ method: 'GET', url: '/graphql/schema.graphql' })).statusCode, 404);
  });

  it('serves GraphiQL at /graphiql, pointed at /graphql', async () => {
    const t = apps[0]!;
    const res = await t.app.inject({ method: 'GET', url: '/graphiql', headers: { accept: 'text/html' } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /GraphiQL/);
    assert.match(res.body, /\/graphql/);
  });

  it('refuses a bad STOA_GRAPHQL_* value at start, naming the variable', () => {
    assert.throws(() => loadConfig({ STOA_GRAPHQL_MAX_DEPTH: 'deep' }), /STOA_GRAPHQL_MAX_DEPTH/);
    assert.throws(() => loadConfig({ STOA_GRAPHQL_MAX_COST: '0' }), /STOA_GRAPHQL_MAX_COST/);
    assert.throws(() => loadConfig({ STOA_GRAPHQL_INTROSPECTION: 'maybe' }), /STOA_GRAPHQL_INTROSPECTION/);
    assert.throws(() => loadConfig({ STOA_GRAPHQL_PERSISTED_ONLY: 'true' }), /STOA_GRAPHQL_ALLOWLIST/);
  });
});

describe('GraphQL persisted queries', () => {
  let t: TestApp;
  let ada: SignedUp;
  before(async () => {
    t = await createTestApp();
    ada = await signUp(t.app, { name: 'Ada' });
  });
  after(() => t.close());

  const QUERY = `{ me { displayName } } # ${randomBytes(4).toString('hex')}`;
  const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

  it('answers PERSISTED_QUERY_NOT_FOUND for an unknown hash, registers a hash with its query, then runs the hash alone (POST and GET)', async () => {
    const hash = sha256(QUERY);
    const miss = await gql(t.app, undefined, { headers: ada.auth, extensions: persisted(hash) });
    assert.equal(miss.body.errors?.[0]?.extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
    assert.equal(miss.body.errors?.[0]?.message, 'PersistedQueryNotFound');
    const plain = await gql(t.app, undefined, { headers: ada.auth, extensions: persisted(hash), accept: 'application/json' });
    assert.equal(plain.res.statusCode, 200);
    assert.equal(plain.body.errors?.[0]?.extensions.code, 'PERSISTED_QUERY_NOT_FOUND');

    const registered = await gql(t.app, QUERY, { headers: ada.auth, extensions: persisted(hash) });
    assert.deepEqual(registered.body.data, { me: { displayName: 'Ada' } });
    const hit = await gql(t.app, undefined, { headers: ada.auth, extensions: persisted(hash) });
    assert.deepEqual(hit.body.data, { me: { displayName: 'Ada' } });
    const get = await t.app.inject({ method: 'GET', url: `/graphql?extensions=${encodeURIComponent(JSON.stringify(persisted(hash)))}`, headers: { ...ada.auth, accept: GRAPHQL_RESPONSE } });
    assert.equal(get.statusCode, 200, get.body);
    assert.deepEqual(get.json().data, { me: { displayName: 'Ada' } });
  });

  it('refuses a hash that is not the query’s, registering nothing', async () => {
    const text = '{ me { id } }';
    const wrong = sha256('{ me { email } }');
    const refused = await gql(t.app, text, { headers: ada.auth, extensions: persisted(wrong) });
    assert.equal(refused.res.statusCode, 400);
    assert.equal(refused.body.errors?.[0]?.extensions.code, 'PERSISTED_QUERY_HASH_MISMATCH');
    const miss = await gql(t.app, undefined, { headers: ada.auth, extensions: persisted(wrong) });
    assert.equal(miss.body.errors?.[0]?.extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
    const malformed = await gql(t.app, undefined, { headers: ada.auth, extensions: persisted('abc') });
    assert.equal(malformed.res.statusCode, 400);
  });

  it('in strict mode runs only allow-listed documents, by hash or by text', async () => {
    const allowed = '{ me { id } }';
    const dir = mkdtempSync(path.join(tmpdir(), 'stoa-gql-'));
    const file = path.join(dir, 'allowlist.json');
    writeFileSync(file, JSON.stringify({ [sha256(allowed)]: allowed }));
    const strict = await createTestApp({ STOA_GRAPHQL_PERSISTED_ONLY: 'true', STOA_GRAPHQL_ALLOWLIST: file });
    try {
      const user = await signUp(strict.app);
      const byHash = await gql(strict.app, undefined, { headers: user.auth, extensions: persisted(sha256(allowed)) });
      assert.deepEqual(byHash.body.data, { me: { id: user.id } });
      const byText = await gql(strict.app, allowed, { headers: user.auth });
      assert.deepEqual(byText.body.data, { me: { id: user.id } });
      const other = await gql(strict.app, '{ me { email } }', { headers: user.auth });
      assert.equal(other.res.statusCode, 400);
      assert.equal(other.body.errors?.[0]?.extensions.code, 'PERSISTED_QUERY_REQUIRED');
      const unknownHash = await gql(strict.app, undefined, { headers: user.auth, extensions: persisted(sha256('{ me { email } }')) });
      assert.equal(unknownHash.body.errors?.[0]?.extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
      // Registration is off: a hash with its (non-listed) query does not run.
      const register = await gql(strict.app, '{ me { email } }', { headers: user.auth, extensions: persisted(sha256('{ me { email } }')) });
      assert.equal(register.body.errors?.[0]?.extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
    } finally {
      await strict.close();
    }
  });
});

describe('GraphQL rate limiting by cost', () => {
  let t: TestApp;
  let ada: SignedUp;
  before(async () => {
    t = await createTestApp({ STOA_RATE_LIMIT: 'on', STOA_RATE_LIMIT_PREFIX: `test:gql:${randomBytes(4).toString('hex')}:`, STOA_RATE_LIMIT_FREE: '40/1m', STOA_RATE_LIMIT_WRITES: 'off', STOA_RATE_LIMIT_SEARCH: 'off' });
    ada = await signUp(t.app, { name: 'Ada' });
  });
  after(() => t.close());

  it('consumes max(1, ceil(cost / 10)) points, so a costly query lowers the remaining quota more, and answers 429 as REST does', async () => {
    const cheap = await gql(t.app, '{ me { id } }', { headers: ada.auth });
    assert.equal(cheap.res.statusCode, 200);
    const afterCheap = Number(cheap.res.headers['x-ratelimit-remaining']);
    assert.match(String(cheap.res.headers.ratelimit), /r=\d+/);
    assert.ok(cheap.res.headers['ratelimit-policy']);
    // A document refused before it runs costs one point.
    const invalid = await gql(t.app, '{ me { nope } }', { headers: ada.auth });
    assert.equal(invalid.res.statusCode, 400);
    assert.equal(Number(invalid.res.headers['x-ratelimit-remaining']), afterCheap - 1);
    // cost 1 + 100 × 1 = 101 → 11 points.
    const costly = await gql(t.app, '{ posts(first: 100) { nodes { author { id } } } }', { headers: ada.auth });
    assert.equal(costly.res.statusCode, 200, costly.res.body);
    assert.equal(costly.body.extensions?.cost, 101);
    assert.equal(afterCheap - 1 - Number(costly.res.headers['x-ratelimit-remaining']), 11);
    let last = costly;
    for (let i = 0; i < 5 && last.res.statusCode !== 429; i++) last = await gql(t.app, '{ posts(first: 100) { nodes { author { id } } } }', { headers: ada.auth });
    assert.equal(last.res.statusCode, 429);
    assert.ok(Number(last.res.headers['retry-after']) >= 1);
    const problem = problemOf(last.res);
    assert.equal(problem.code, 'RATE_LIMITED');
    assert.equal(problem.status, 429);
    assert.deepEqual(problem['violated-policies'], ['free']);
  });
});

describe('the GraphQL schema evolves without breaking changes', () => {
  it('matches docs/schema.graphql, or changes it only compatibly (deprecate first, then remove)', () => {
    const committed = buildSchema(readFileSync(new URL('../docs/schema.graphql', import.meta.url), 'utf8'));
    const current = buildStoaSchema();
    const breaking = findBreakingChanges(committed, current);
    assert.deepEqual(
      breaking.map((c) => `${c.type}: ${c.description}`),
      [],
      'A breaking schema change: mark the field @deprecated(reason: …) and keep it for a release first. Regenerate docs/schema.graphql with `node --import tsx scripts/export-graphql-schema.ts` after a compatible change.',
    );
    assert.equal(printSchema(current) + '\n', readFileSync(new URL('../docs/schema.graphql', import.meta.url), 'utf8'), 'docs/schema.graphql is stale: regenerate it with `node --import tsx scripts/export-graphql-schema.ts`');
  });

  it('would catch a removed field', () => {
    const committed = buildSchema(readFileSync(new URL('../docs/schema.graphql', import.meta.url), 'utf8'));
    const without = buildSchema(printSchema(committed).replace(/\n {2}displayName: String!\n/, '\n'));
    assert.ok(findBreakingChanges(committed, without).some((c) => c.description.includes('User.displayName')));
  });
});

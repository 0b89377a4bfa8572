/**
 * GraphQL throughput: a page of 100 posts with each author's name, through
 * Stoa's /graphql and through mercurius with graphql-jit and loaders, side by
 * side in one run, over the same database and the same domain services.
 *
 *   node --import tsx bench/graphql.ts [--duration 3] [--rounds 2] [--connections 10]     # PGlite in memory unless DATABASE_URL
 *
 * Stoa runs its whole pipeline (authentication, parse cache, validation with
 * the depth/alias rules, cost, graphql-js execution, DataLoader); mercurius
 * (the reference, `jit: 1`) resolves the same query with the same services
 * and a loader for the author, authenticating each request the same way. The servers take turns
 * for --rounds rounds of --duration seconds (autocannon); the ratio is the
 * median of the rounds' ratios. Both also report SQL queries per request.
 * Prints a table, writes bench/results/graphql-<timestamp>.json.
 * Target (issue 15): Stoa ≥ 1.0× mercurius with JIT.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Fastify, { type FastifyPluginAsync } from 'fastify';
import mercurius from 'mercurius';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { POST_DEFAULT_SORT } from '../src/domain/posts/index.ts';
import type { Principal } from '../src/domain/shared/principal.ts';
import { runIfMain, writeResult } from './results.ts';

const QUERY = '{ posts(first: 100) { nodes { id title author { displayName } } } }';
const REFERENCE_QUERY = '{ posts(limit: 100) { id title author { displayName } } }';
const REFERENCE_SCHEMA = `
  type User { id: ID! displayName: String! }
  type Post { id: ID! title: String! author: User }
  type Query { posts(limit: Int): [Post!]! }
`;

async function load(url: string, body: string, headers: Record<string, string>, seconds: number, connections: number) {
  // CPU time of this process per request (server + load generator + driver; PostgreSQL's own work is outside it):
  // far steadier than req/s on a machine shared with other work, and the load generator's share is the same for both.
  const cpu = process.cpuUsage();
  const result = await autocannon({ url, method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, duration: seconds, connections });
  const used = process.cpuUsage(cpu);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const requests = result.requests.total;
  return {
    requests_per_second: result.requests.average,
    latency_p50_ms: result.latency.p50,
    latency_p99_ms: result.latency.p99,
    requests,
    cpu_us_per_request: Math.round((used.user + used.system) / Math.max(1, requests)),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { duration: { type: 'string', default: '3' }, rounds: { type: 'string', default: '2' }, connections: { type: 'string', default: '10' } },
  });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);

  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    STOA_DATA_DIR: 'memory',
    STOA_RATE_LIMIT: 'off',
    STOA_LOAD_SHEDDING: 'off',
    STOA_SEED_DEMO: 'false',
    STOA_PASSWORD_HASH_COST: '12',
  });
  let queries = 0;
  const schema = process.env.DATABASE_URL ? `bench_gql_${Date.now().toString(36)}` : undefined;
  const container = await createContainer(config, { ...(schema ? { schema } : {}), onQuery: () => void queries++ });
  const stoa = await buildApp(container);
  await stoa.listen({ port: 0, host: '127.0.0.1' });
  const stoaUrl = `http://127.0.0.1:${(stoa.server.address() as { port: number }).port}/graphql`;

  const reference = Fastify({ logger: false });
  try {
    // The world: four authors, 100 posts.
    const authors = [];
    for (let i = 0; i < 4; i++) authors.push(await container.users.register({ email: `bench.${randomUUID()}@example.com`, display_name: `Author ${i}`, password: 'bench password 123' }));
    const login = await container.sessions.login(authors[0]!.email, 'bench password 123');
    const token = login.accessToken;
    const principal = (await container.authenticator.authenticate({ authorization: `Bearer ${token}` }))!;
    for (let i = 0; i < 100; i++) await container.posts.create({ ...principal, userId: authors[i % 4]!.id }, { title: `Post ${i}`, content: 'Benchmark content.' });

    // mercurius's published plugin type is callback-style; Fastify 5's register overloads want a promise.
    await reference.register(mercurius as unknown as FastifyPluginAsync<Record<string, unknown>>, {
      schema: REFERENCE_SCHEMA,
      jit: 1,
      // The same principal model as Stoa: each request authenticates its bearer token.
      context: async (request: { headers: { authorization?: string } }) => ({ principal: await container.authenticator.authenticate({ authorization: request.headers.authorization }) }),
      resolvers: {
        Query: {
          posts: async (_root: unknown, args: { limit?: number }, context: { principal?: unknown }) =>
            (await container.posts.list(context.principal as Principal, {}, { mode: 'cursor', sort: [...POST_DEFAULT_SORT], limit: args.limit ?? 20 })).items,
        },
      },
      loaders: {
        Post: {
          author: async (queries: Array<{ obj: { authorId: string } }>, context: { principal?: unknown }) => {
            const users = await container.users.getMany(context.principal as Principal, queries.map((q) => q.obj.authorId));
            const byId = new Map(users.map((u) => [u.id, { id: u.id, displayName: u.name }]));
            return queries.map((q) => byId.get(q.obj.authorId) ?? null);
          },
        },
      },
    });
    await reference.listen({ port: 0, host: '127.0.0.1' });
    const referenceUrl = `http://127.0.0.1:${(reference.server.address() as { port: number }).port}/graphql`;

    const stoaBody = JSON.stringify({ query: QUERY });
    const referenceBody = JSON.stringify({ query: REFERENCE_QUERY });
    const stoaHeaders = { authorization: `Bearer ${token}`, accept: 'application/graphql-response+json' };

    // Correctness and SQL queries per request, before timing.
    const check = async (url: string, body: string, headers: Record<string, string>) => {
      const before = queries;
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const json = (await res.json()) as { data?: unknown; errors?: unknown };
      if (res.status !== 200 || json.errors) throw new Error(`${url}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
      return queries - before;
    };
    await check(stoaUrl, stoaBody, stoaHeaders);
    const sqlPerRequest = { stoa: await check(stoaUrl, stoaBody, stoaHeaders), mercurius_jit: await check(referenceUrl, referenceBody, { authorization: `Bearer ${token}` }) };

    const runs: Array<{ round: number; stoa: Awaited<ReturnType<typeof load>>; mercurius_jit: Awaited<ReturnType<typeof load>>; ratio: number; cpu_ratio: number }> = [];
    await load(stoaUrl, stoaBody, stoaHeaders, 1, connections);
    await load(referenceUrl, referenceBody, { authorization: `Bearer ${token}` }, 1, connections);
    for (let round = 1; round <= rounds; round++) {
      const first = round % 2 === 1;
      const a = first ? await load(stoaUrl, stoaBody, stoaHeaders, duration, connections) : undefined;
      const b = await load(referenceUrl, referenceBody, { authorization: `Bearer ${token}` }, duration, connections);
      const s = a ?? (await load(stoaUrl, stoaBody, stoaHeaders, duration, connections));
      runs.push({ round, stoa: s, mercurius_jit: b, ratio: s.requests_per_second / b.requests_per_second, cpu_ratio: b.cpu_us_per_request / s.cpu_us_per_request });
    }
    const ratio = median(runs.map((r) => r.ratio));
    const cpuRatio = median(runs.map((r) => r.cpu_ratio));
    const report = {
      bench: 'graphql',
      query: QUERY,
      reference_query: REFERENCE_QUERY,
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, loadavg: loadavg(), node: process.version, database: process.env.DATABASE_URL ? 'postgres' : 'pglite' },
      settings: { duration_s: duration, rounds, connections },
      sql_queries_per_request: sqlPerRequest,
      runs,
      ratio_stoa_over_mercurius_jit: Math.round(ratio * 1000) / 1000,
      /** Mercurius's CPU per request over Stoa's (≥ 1: Stoa spends no more CPU per request). */
      cpu_ratio_mercurius_jit_over_stoa: Math.round(cpuRatio * 1000) / 1000,
      target: '>= 1.0',
    };
    console.table(
      runs.map((r) => ({
        round: r.round,
        'stoa req/s': Math.round(r.stoa.requests_per_second),
        'mercurius+jit req/s': Math.round(r.mercurius_jit.requests_per_second),
        ratio: r.ratio.toFixed(3),
        'stoa CPU µs/req': r.stoa.cpu_us_per_request,
        'mercurius CPU µs/req': r.mercurius_jit.cpu_us_per_request,
        'CPU ratio': r.cpu_ratio.toFixed(3),
      })),
    );
    console.log(`SQL queries per request: Stoa ${sqlPerRequest.stoa}, mercurius ${sqlPerRequest.mercurius_jit}; median ratio ${ratio.toFixed(3)} (target ≥ 1.0); median CPU ratio (mercurius/Stoa per request) ${cpuRatio.toFixed(3)}`);
    console.log(`wrote ${writeResult('graphql', report)}`);
    return 0;
  } finally {
    await reference.close();
    await stoa.close();
    await container.close();
  }
}

runIfMain(import.meta.url, 'graphql', main);

/**
 * gRPC GetUser: Stoa's gRPC stack (Connect-ES on HTTP/2 with the one
 * interceptor — request id, authentication, rate limiting, logging, metrics —
 * then UsersService.get) against a bare @grpc/grpc-js server answering the
 * same row from the same database (one Kysely select, the same message
 * encoding), side by side in one run, many calls in flight.
 *
 *   node --import tsx bench/grpc.ts [--duration 3] [--rounds 3] [--in-flight 64]     # PGlite in memory unless DATABASE_URL
 *
 * The client is @grpc/grpc-js in this process (4 channels), keeping
 * --in-flight unary calls open; the servers take turns for --rounds rounds of
 * --duration seconds; the ratio is the median of the rounds' ratios.
 * Prints a table, writes bench/results/grpc-<timestamp>.json.
 * Target (issue 16): Stoa ≥ 0.8× bare.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { GetUserRequestSchema, GetUserResponseSchema, UserSchema, UserService } from '../src/transports/grpc/gen/stoa/v1/users_pb.ts';
import { listenGrpc } from '../src/transports/grpc/listener.ts';
import { createRpc } from '../src/transports/grpc/rpc.ts';
import { runIfMain, writeResult } from './results.ts';

const PATH = '/stoa.v1.UserService/GetUser';
const serialize = (value: { id: string }) => Buffer.from(toBinary(GetUserRequestSchema, create(GetUserRequestSchema, value)));
const deserialize = (bytes: Buffer) => fromBinary(GetUserResponseSchema, bytes);

/** Keeps `inFlight` GetUser calls open against `address` for `seconds`; calls per second and latency. */
async function load(address: string, id: string, metadata: grpc.Metadata, seconds: number, inFlight: number) {
  const clients = Array.from({ length: 4 }, () => new grpc.Client(address, grpc.credentials.createInsecure()));
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async (client: grpc.Client) => {
    while (performance.now() < until) {
      const started = performance.now();
      await new Promise<void>((resolve) =>
        client.makeUnaryRequest(PATH, serialize, deserialize, { id }, metadata, {}, (error, answer) => {
          if (error || answer?.user?.id !== id) errors++;
          else latencies.push(performance.now() - started);
          resolve();
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, i) => worker(clients[i % clients.length]!)));
  clients.forEach((c) => c.close());
  if (errors > 0) throw new Error(`${address}: ${errors} failed calls`);
  latencies.sort((a, b) => a - b);
  return { calls_per_second: latencies.length / seconds, latency_p50_ms: latencies[Math.floor(latencies.length / 2)]!, latency_p99_ms: latencies[Math.floor(latencies.length * 0.99)]!, calls: latencies.length };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { duration: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' }, 'in-flight': { type: 'string', default: '64' } },
  });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const inFlight = Number(values['in-flight']);

  // Rate limiting on (memory store, or Redis with REDIS_URL), with a plan limit no call reaches: the decision is made, never refused.
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    STOA_DATA_DIR: 'memory',
    STOA_RATE_LIMIT: 'on',
    STOA_RATE_LIMIT_FREE: '100000000/1m',
    STOA_RATE_LIMIT_PREFIX: `bench:grpc:${randomUUID().slice(0, 8)}:`,
    STOA_LOAD_SHEDDING: 'off',
    STOA_SEED_DEMO: 'false',
    STOA_PASSWORD_HASH_COST: '12',
  });
  const schema = process.env.DATABASE_URL ? `bench_grpc_${Date.now().toString(36)}` : undefined;
  const container = await createContainer(config, { ...(schema ? { schema } : {}) });
  const app = await buildApp(container);
  // Logging on, as in production (one line per call), into a sink that costs only the formatting.
  const rpc = createRpc(container, pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false })));
  const stoa = await listenGrpc(rpc, { port: 0, host: '127.0.0.1', config: config.grpc });

  const bare = new grpc.Server();
  const closers: Array<() => Promise<void>> = [];
  try {
    const user = await container.users.register({ email: `bench.${randomUUID()}@example.com`, display_name: 'Bench User', password: 'bench password 123' });
    const apiKey = (await container.apiKeys.createForUser(user.id, { name: 'bench', scopes: ['users:read'] } as never)).secret;
    const db = container.database.db;

    bare.addService(
      { GetUser: { path: PATH, requestStream: false, responseStream: false, requestSerialize: serialize, requestDeserialize: (b: Buffer) => fromBinary(GetUserRequestSchema, b), responseSerialize: (m: ReturnType<typeof deserialize>) => Buffer.from(toBinary(GetUserResponseSchema, m)), responseDeserialize: deserialize } },
      {
        GetUser: (call: grpc.ServerUnaryCall<{ id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          db.selectFrom('users')
            .select(['id', 'email', 'name', 'role', 'status', 'plan', 'created_at', 'updated_at'])
            .where('id', '=', call.request.id)
            .where('deleted_at', 'is', null)
            .executeTakeFirst()
            .then(
              (row) =>
                row
                  ? callback(null, create(GetUserResponseSchema, { user: create(UserSchema, { id: row.id, email: row.email, displayName: row.name, role: row.role, status: row.status, plan: row.plan, createdAt: timestampFromDate(row.created_at), updatedAt: timestampFromDate(row.updated_at) }) }))
                  : callback({ code: grpc.status.NOT_FOUND }),
              (error: Error) => callback(error),
            );
        },
      },
    );
    const barePort = await new Promise<number>((resolve, reject) => bare.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));

    // Connect-ES with no interceptor and the bare handler: splits the library's cost from Stoa's stack.
    const connectBare = await listenGrpc(
      {
        routes: (router) =>
          router.rpc(UserService.method.getUser, async (req) => {
            const row = await db.selectFrom('users').select(['id', 'email', 'name', 'role', 'status', 'plan', 'created_at', 'updated_at']).where('id', '=', req.id).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
            return { user: { id: row.id, email: row.email, displayName: row.name, role: row.role, status: row.status, plan: row.plan, createdAt: timestampFromDate(row.created_at), updatedAt: timestampFromDate(row.updated_at) } };
          }),
        interceptors: [],
        shutdownStreams: () => {},
      },
      { port: 0, host: '127.0.0.1', config: config.grpc },
    );
    closers.push(() => connectBare.close(500));
    const metadata = new grpc.Metadata();
    metadata.set('x-api-key', apiKey);
    const targets = { stoa: `127.0.0.1:${stoa.port}`, bare: `127.0.0.1:${barePort}`, connect: `127.0.0.1:${connectBare.port}` };
    // Warm up both (JIT, caches, connection pools).
    for (const address of Object.values(targets)) await load(address, user.id, metadata, 1, inFlight);

    type Name = 'stoa' | 'bare' | 'connect';
    const results: Array<Record<Name, Awaited<ReturnType<typeof load>>>> = [];
    for (let r = 0; r < rounds; r++) {
      const round = {} as Record<Name, Awaited<ReturnType<typeof load>>>;
      for (const name of (r % 2 === 0 ? ['stoa', 'bare', 'connect'] : ['bare', 'connect', 'stoa']) as Name[]) round[name] = await load(targets[name], user.id, metadata, duration, inFlight);
      results.push(round);
      process.stdout.write(`round ${r + 1}: stoa ${round.stoa.calls_per_second.toFixed(0)}/s, bare grpc-js ${round.bare.calls_per_second.toFixed(0)}/s, bare Connect ${round.connect.calls_per_second.toFixed(0)}/s\n`);
    }
    const ratio = median(results.map((r) => r.stoa.calls_per_second / r.bare.calls_per_second));
    const report = {
      bench: 'grpc',
      store: process.env.DATABASE_URL ? 'postgres' : 'pglite',
      machine: { cpus: cpus().length, loadavg: loadavg() },
      options: { duration, rounds, in_flight: inFlight },
      stoa: { calls_per_second: median(results.map((r) => r.stoa.calls_per_second)), latency_p50_ms: median(results.map((r) => r.stoa.latency_p50_ms)), latency_p99_ms: median(results.map((r) => r.stoa.latency_p99_ms)) },
      bare: { calls_per_second: median(results.map((r) => r.bare.calls_per_second)), latency_p50_ms: median(results.map((r) => r.bare.latency_p50_ms)), latency_p99_ms: median(results.map((r) => r.bare.latency_p99_ms)) },
      connect: { calls_per_second: median(results.map((r) => r.connect.calls_per_second)), latency_p50_ms: median(results.map((r) => r.connect.latency_p50_ms)), latency_p99_ms: median(results.map((r) => r.connect.latency_p99_ms)) },
      ratio,
      ratio_connect_bare_to_grpc_js: median(results.map((r) => r.connect.calls_per_second / r.bare.calls_per_second)),
      ratio_stoa_to_connect_bare: median(results.map((r) => r.stoa.calls_per_second / r.connect.calls_per_second)),
      target: 0.8,
      rounds: results,
    };
    process.stdout.write(`\n| | calls/s | p50 ms | p99 ms |\n|---|---|---|---|\n`);
    for (const name of ['stoa', 'bare', 'connect'] as const) process.stdout.write(`| ${name} | ${report[name].calls_per_second.toFixed(0)} | ${report[name].latency_p50_ms.toFixed(2)} | ${report[name].latency_p99_ms.toFixed(2)} |\n`);
    process.stdout.write(`\nratio stoa/bare grpc-js: ${ratio.toFixed(2)} (target ≥ 0.8); bare Connect/bare grpc-js ${report.ratio_connect_bare_to_grpc_js.toFixed(2)}; stoa/bare Connect ${report.ratio_stoa_to_connect_bare.toFixed(2)}\n${writeResult('grpc', report)}\n`);
    return 0;
  } finally {
    bare.forceShutdown();
    for (const close of closers) await close();
    await stoa.close(500);
    await app.close();
    await container.close();
  }
}

runIfMain(import.meta.url, 'grpc', main);

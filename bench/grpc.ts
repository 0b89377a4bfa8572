/**
 * gRPC GetUser: Stoa's gRPC port (grpc-js through the adapter of
 * src/transports/grpc/grpc-js.ts, the one interceptor — request id,
 * authentication, rate limiting, logging, metrics — then UsersService.get)
 * against a bare @grpc/grpc-js server answering the same row from the same
 * database (one Kysely select, the same message encoding), side by side in
 * one run, many calls in flight. Two more columns: the same Stoa services and
 * interceptor on Connect-ES (as the port served them before grpc-js, and as
 * /rpc still does), and bare Connect-ES (the bare handler, no interceptor:
 * the library's own cost).
 *
 *   node --import tsx bench/grpc.ts [--duration 3] [--rounds 3] [--in-flight 64]     # PGlite in memory unless DATABASE_URL
 *
 * The client is @grpc/grpc-js in a child process (4 channels), keeping
 * --in-flight unary calls open; the servers take turns for --rounds rounds of
 * --duration seconds; ratios are medians of the rounds' ratios. Besides
 * calls/s, each round measures the server process's CPU time per call
 * (process.cpuUsage; the client's CPU is not in it): on a machine shared
 * with other work it moves far less than calls/s.
 * Prints a table, writes bench/results/grpc-<timestamp>.json.
 * Target (issue 16): Stoa ≥ 0.8× bare.
 */
import { fork } from 'node:child_process';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { createContextValues, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import pino from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { GetUserRequestSchema, GetUserResponseSchema, UserSchema, UserService } from '../src/transports/grpc/gen/stoa/v1/users_pb.ts';
import { kPeer } from '../src/transports/grpc/context.ts';
import { listenGrpc } from '../src/transports/grpc/listener.ts';
import { createRpc } from '../src/transports/grpc/rpc.ts';
import { bundleBench } from './bundle.ts';
import { contractHandler } from './grpc-contract.ts';
import { runIfMain, writeResult } from './results.ts';

const PATH = '/stoa.v1.UserService/GetUser';
const serialize = (value: { id: string }) => Buffer.from(toBinary(GetUserRequestSchema, create(GetUserRequestSchema, value)));
const deserialize = (bytes: Buffer) => fromBinary(GetUserResponseSchema, bytes);

/** Keeps `inFlight` GetUser calls open against `address` for `seconds`; calls per second and latency. */
async function load(address: string, id: string, apiKey: string, seconds: number, inFlight: number) {
  const metadata = new grpc.Metadata();
  metadata.set('x-api-key', apiKey);
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

/** Connect-ES on plaintext HTTP/2, for the two Connect columns. */
async function listenConnect(routes: (router: ConnectRouter) => void, interceptors: Interceptor[] = []) {
  const server = http2.createServer({}, connectNodeAdapter({ routes, interceptors, contextValues: (req) => createContextValues().set(kPeer, { address: req.socket.remoteAddress, forwardedFor: undefined }) }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => (sessions.add(session), session.once('close', () => sessions.delete(session))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

interface LoadJob {
  address: string;
  id: string;
  apiKey: string;
  seconds: number;
  inFlight: number;
}

/** The load generator in a child process (this file with --client), so the server process's CPU time is the servers' alone. */
function loadClient() {
  const child = fork(fileURLToPath(import.meta.url), ['--client'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    run: (job: LoadJob) =>
      new Promise<Awaited<ReturnType<typeof load>>>((resolve, reject) => {
        child.once('message', (answer: { error?: string; result?: Awaited<ReturnType<typeof load>> }) => (answer.result ? resolve(answer.result) : reject(new Error(answer.error))));
        child.send(job);
      }),
    close: () => child.kill(),
  };
}

function serveLoad(): Promise<number> {
  process.on('message', (job: LoadJob) => {
    load(job.address, job.id, job.apiKey, job.seconds, job.inFlight).then(
      (result) => process.send!({ result }),
      (error: Error) => process.send!({ error: error.message }),
    );
  });
  return new Promise(() => {});
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--client') return serveLoad();
  // Every server runs bundled, as production runs Stoa (bench/bundle.ts); `--tsx` runs this file as it is.
  if (!import.meta.url.endsWith('.mjs') && !argv.includes('--tsx')) {
    const bundle = await bundleBench(fileURLToPath(import.meta.url), 'grpc');
    const child = fork(bundle, argv, { stdio: 'inherit' });
    return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  }
  argv = argv.filter((a) => a !== '--tsx');
  const { values } = parseArgs({
    args: argv,
    options: { duration: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' }, 'in-flight': { type: 'string', default: '64' }, only: { type: 'string' } },
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
  const contract = new grpc.Server();
  const closers: Array<() => Promise<void>> = [];
  try {
    const user = await container.users.register({ email: `bench.${randomUUID()}@example.com`, display_name: 'Bench User', password: 'bench password 123' });
    const created = await container.apiKeys.createForUser(user.id, { name: 'bench', scopes: ['users:read'] } as never);
    const apiKey = { secret: created.secret, key: created.key };
    const db = container.database.db;

    // The bare server's whole work: one select, the message.
    const answer = async (id: string) => {
      const row = await db.selectFrom('users').select(['id', 'email', 'name', 'role', 'status', 'plan', 'created_at', 'updated_at']).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return row && create(GetUserResponseSchema, { user: create(UserSchema, { id: row.id, email: row.email, displayName: row.name, role: row.role, status: row.status, plan: row.plan, createdAt: timestampFromDate(row.created_at), updatedAt: timestampFromDate(row.updated_at) }) });
    };
    const definition = { GetUser: { path: PATH, requestStream: false, responseStream: false, requestSerialize: serialize, requestDeserialize: (b: Buffer) => fromBinary(GetUserRequestSchema, b), responseSerialize: (m: ReturnType<typeof deserialize>) => Buffer.from(toBinary(GetUserResponseSchema, m)), responseDeserialize: deserialize } };
    bare.addService(definition, {
      GetUser: (call: grpc.ServerUnaryCall<{ id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        answer(call.request.id).then(
          (message) => (message ? callback(null, message) : callback({ code: grpc.status.NOT_FOUND })),
          (error: Error) => callback(error),
        );
      },
    });
    // The same answer with the contract's work written straight into the handler (bench/grpc-contract.ts): the ceiling.
    // With REDIS_URL its rate-limit decision is one EVALSHA on Redis, as Stoa's is.
    const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL, { enableAutoPipelining: true }) : undefined;
    if (redis) closers.push(async () => void redis.disconnect());
    contract.addService(definition, { GetUser: contractHandler(PATH, { secret: apiKey.secret, id: apiKey.key.id, userId: user.id, scopes: apiKey.key.scopes }, answer, redis) });
    const contractPort = await new Promise<number>((resolve, reject) => contract.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));
    const barePort = await new Promise<number>((resolve, reject) => bare.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));

    // Connect-ES with no interceptor and the bare handler: splits the library's cost from Stoa's stack.
    const connectBare = await listenConnect((router) =>
      router.rpc(UserService.method.getUser, async (req) => {
        const row = await db.selectFrom('users').select(['id', 'email', 'name', 'role', 'status', 'plan', 'created_at', 'updated_at']).where('id', '=', req.id).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
        return { user: { id: row.id, email: row.email, displayName: row.name, role: row.role, status: row.status, plan: row.plan, createdAt: timestampFromDate(row.created_at), updatedAt: timestampFromDate(row.updated_at) } };
      }),
    );
    closers.push(connectBare.close);
    // Stoa's services and interceptor on Connect-ES, as the gRPC port served them before grpc-js.
    const stoaConnect = await listenConnect((router) => rpc.routes(router), rpc.interceptors);
    closers.push(stoaConnect.close);

    const targets = { stoa: `127.0.0.1:${stoa.port}`, contract: `127.0.0.1:${contractPort}`, stoa_connect: `127.0.0.1:${stoaConnect.port}`, bare: `127.0.0.1:${barePort}`, connect: `127.0.0.1:${connectBare.port}` };
    type Name = keyof typeof targets;
    // --only stoa,bare (for a profile of one server): the columns left out are not measured, and their ratios are absent.
    const names = (values.only ? values.only.split(',') : Object.keys(targets)).filter((n): n is Name => n in targets);
    const client = loadClient();
    closers.push(async () => void client.close());
    const measure = async (name: Name, seconds: number) => {
      const cpu = process.cpuUsage();
      const result = await client.run({ address: targets[name], id: user.id, apiKey: apiKey.secret, seconds, inFlight });
      const used = process.cpuUsage(cpu);
      return { ...result, cpu_us_per_call: (used.user + used.system) / result.calls };
    };
    // Warm up each (JIT, caches, connection pools).
    for (const name of names) await measure(name, 1);

    const results: Array<Record<Name, Awaited<ReturnType<typeof measure>>>> = [];
    for (let r = 0; r < rounds; r++) {
      const round = {} as Record<Name, Awaited<ReturnType<typeof measure>>>;
      // Each round in another order, so no server always runs right after the same one.
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + r) % names.length]!;
        round[name] = await measure(name, duration);
      }
      results.push(round);
      process.stdout.write(`round ${r + 1}: ${names.map((n) => `${n} ${round[n].calls_per_second.toFixed(0)}/s ${round[n].cpu_us_per_call.toFixed(0)} µs CPU/call`).join(', ')}\n`);
    }
    const measured = (...pair: Name[]) => pair.every((n) => names.includes(n));
    const summary = (name: Name) => !measured(name) ? undefined : ({
      calls_per_second: median(results.map((r) => r[name].calls_per_second)),
      latency_p50_ms: median(results.map((r) => r[name].latency_p50_ms)),
      latency_p99_ms: median(results.map((r) => r[name].latency_p99_ms)),
      cpu_us_per_call: median(results.map((r) => r[name].cpu_us_per_call)),
    });
    const rate = (a: Name, b: Name) => (!measured(a, b) ? NaN : median(results.map((r) => r[a].calls_per_second / r[b].calls_per_second)));
    // CPU per call of b over a: ≥ 1 means a spends no more CPU per call than b.
    const cpu = (a: Name, b: Name) => (!measured(a, b) ? NaN : median(results.map((r) => r[b].cpu_us_per_call / r[a].cpu_us_per_call)));
    const ratio = rate('stoa', 'bare');
    const report = {
      bench: 'grpc',
      store: process.env.DATABASE_URL ? 'postgres' : 'pglite',
      machine: { cpus: cpus().length, loadavg: loadavg() },
      options: { duration, rounds, in_flight: inFlight },
      stoa: summary('stoa'),
      contract: summary('contract'),
      stoa_connect: summary('stoa_connect'),
      bare: summary('bare'),
      connect: summary('connect'),
      ratio,
      ratio_contract_to_bare: rate('contract', 'bare'),
      ratio_stoa_to_contract: rate('stoa', 'contract'),
      ratio_stoa_connect_to_bare: rate('stoa_connect', 'bare'),
      ratio_connect_bare_to_grpc_js: rate('connect', 'bare'),
      ratio_stoa_connect_to_connect_bare: rate('stoa_connect', 'connect'),
      cpu_ratio_bare_over_stoa: cpu('stoa', 'bare'),
      cpu_ratio_bare_over_contract: cpu('contract', 'bare'),
      cpu_ratio_stoa_connect_over_stoa: cpu('stoa', 'stoa_connect'),
      cpu_ratio_bare_over_stoa_connect: cpu('stoa_connect', 'bare'),
      cpu_ratio_bare_over_connect: cpu('connect', 'bare'),
      target: 0.8,
      rounds: results,
    };
    process.stdout.write(`\n| | calls/s | p50 ms | p99 ms | CPU µs/call |\n|---|---|---|---|---|\n`);
    for (const name of names) {
      const row = report[name]!;
      process.stdout.write(`| ${name} | ${row.calls_per_second.toFixed(0)} | ${row.latency_p50_ms.toFixed(2)} | ${row.latency_p99_ms.toFixed(2)} | ${row.cpu_us_per_call.toFixed(0)} |\n`);
    }
    process.stdout.write(
      `\ncalls/s stoa/bare grpc-js: ${ratio.toFixed(2)} (target ≥ 0.8); the contract's ceiling (contract/bare) ${report.ratio_contract_to_bare.toFixed(2)}, stoa/contract ${report.ratio_stoa_to_contract.toFixed(2)}; stoa on Connect/bare grpc-js ${report.ratio_stoa_connect_to_bare.toFixed(2)}; bare Connect/bare grpc-js ${report.ratio_connect_bare_to_grpc_js.toFixed(2)}\n` +
        `CPU per call, bare grpc-js/stoa: ${report.cpu_ratio_bare_over_stoa.toFixed(2)}; bare/contract ${report.cpu_ratio_bare_over_contract.toFixed(2)}; stoa on Connect/stoa: ${report.cpu_ratio_stoa_connect_over_stoa.toFixed(2)}; bare grpc-js/stoa on Connect ${report.cpu_ratio_bare_over_stoa_connect.toFixed(2)}; bare grpc-js/bare Connect ${report.cpu_ratio_bare_over_connect.toFixed(2)}\n${writeResult('grpc', report)}\n`,
    );
    return 0;
  } finally {
    bare.forceShutdown();
    contract.forceShutdown();
    for (const close of closers) await close();
    await stoa.close(500);
    await app.close();
    await container.close();
  }
}

runIfMain(import.meta.url, 'grpc', main);

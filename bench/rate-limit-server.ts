/**
 * The server side of bench/rate-limit.ts, run in a child process so the load
 * generator has the other core:
 *
 *   node --import tsx bench/rate-limit-server.ts <plain|headers-only|stoa-memory|stoa-redis|frl-memory|frl-redis|app-plain|app-stoa> [redis url]
 *
 * One hello route, the same in every mode; the limited variants allow far
 * more than the run sends, so every answer is a 200 and what is measured is
 * the cost of deciding and of sending the headers. `headers-only` is the
 * reference: the same five header fields, as constants of the same length,
 * set by a route hook that decides nothing — what sending the contract's
 * headers costs by itself.
 *
 * `app-plain` and `app-stoa` are the whole Stoa app (embedded PGlite, demo
 * data) with rate limiting off and on (memory store, the same two policies),
 * serving the public catalogue, `GET /v1/products`: what the limiter costs on
 * a real route.
 * Prints `listening <port> <path>` when ready.
 */
import Fastify from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { seedDemo } from '../src/infra/db/seed.ts';
import { createRedisClient } from '../src/infra/redis/redis-client.ts';
import { createRedisStore } from '../src/infra/redis/rate-limit.redis-store.ts';
import { createClientIpResolver, createMemoryStore, parsePolicySpec, PolicySet, RateLimiter } from '../src/platform/rate-limit/index.ts';
import { registerRateLimiting } from '../src/transports/rest/plugins/rate-limit.ts';

const [mode = 'plain', redisUrl = 'redis://127.0.0.1:6379'] = process.argv.slice(2);
const prefix = `bench:rl:${process.pid}:`;

if (mode === 'app-plain' || mode === 'app-stoa') {
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    STOA_DATA_DIR: 'memory',
    STOA_LOAD_SHEDDING: 'off',
    STOA_RATE_LIMIT: mode === 'app-stoa' ? 'on' : 'off',
    STOA_RATE_LIMIT_STORE: 'memory',
    STOA_RATE_LIMIT_FREE: '1000000000/1m',
    STOA_RATE_LIMIT_BURST: '1000000000/1s',
  });
  const container = await createContainer(config);
  await seedDemo(container);
  const stoa = await buildApp(container);
  await stoa.listen({ port: 0, host: '127.0.0.1' });
  const address = stoa.server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0} /v1/products\n`);
  process.on('SIGTERM', () => {
    void stoa.close().then(() => container.close()).then(() => process.exit(0));
  });
} else {
  await helloServer();
}

async function helloServer(): Promise<void> {
  const app = Fastify({ logger: false });

  if (mode === 'stoa-memory' || mode === 'stoa-redis') {
    const client = mode === 'stoa-redis' ? createRedisClient(redisUrl, { commandTimeoutMs: 1_000, offlineQueue: false }) : undefined;
    const store = client ? createRedisStore({ client, prefix }) : createMemoryStore();
    // Two policies, as the target asks: a burst per second and a sustained plan per minute.
    const policies = new PolicySet({ specs: { free: parsePolicySpec('1000000000/1m'), burst: parsePolicySpec('1000000000/1s') }, algorithm: 'fixed-window', failMode: 'open' });
    app.decorateRequest('principal', null);
    registerRateLimiting(app, {
      limiter: new RateLimiter({ store }),
      policies,
      clientIp: createClientIpResolver({ trustedProxies: [], ipv6Prefix: 56 }),
      shedder: null,
      metrics: new Registry(),
    });
  } else if (mode === 'frl-memory' || mode === 'frl-redis') {
    await app.register(fastifyRateLimit, {
      max: 1_000_000_000,
      timeWindow: 60_000,
      ...(mode === 'frl-redis' ? { redis: new Redis(redisUrl, { keyPrefix: prefix }) } : {}),
    });
  } else if (mode === 'headers-only') {
    const fields: [string, string][] = [
      ['x-ratelimit-limit', '1000000000'],
      ['x-ratelimit-remaining', '999999999'],
      ['x-ratelimit-reset', '1795000000'],
      ['ratelimit-policy', '"free";q=1000000000;w=60, "burst";q=1000000000;w=1'],
      ['ratelimit', '"free";r=999999999;t=60, "burst";r=999999999;t=1'],
    ];
    // Attached per route at registration, as Stoa's limiter is.
    app.addHook('onRoute', (route) => {
      route.onRequest = [
        (_request: unknown, reply: { header(name: string, value: string): unknown }, done: () => void) => {
          for (const [name, value] of fields) reply.header(name, value);
          done();
        },
      ] as never;
    });
  } else if (mode !== 'plain') {
    throw new Error(`unknown mode ${mode}`);
  }

  // Like every Stoa route, the route declares its responses (which also tells the limiter it never answers 304).
  const hello = { type: 'object', properties: { hello: { type: 'string' } }, required: ['hello'] } as const;
  app.get('/hello', { schema: { response: { 200: hello } } }, async () => ({ hello: 'world' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0} /hello\n`);
  process.on('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

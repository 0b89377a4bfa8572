/**
 * The contract ladder for bench/pipeline.ts (`--ladder`): the bare route of bench/pipeline-server.ts plus, rung by
 * rung, only the work the contract asks of every `GET /v1/products/{id}`, written straight in one handler with the
 * libraries Stoa uses (Fastify, pino, prom-client, ioredis, @fastify/compress) and none of Stoa's structure:
 *
 *   node --import tsx bench/pipeline-ladder.ts <rung> [database url] [schema] [redis url]
 *
 * Rungs are cumulative (each does everything the ones before it do):
 *   1 `log`        request id (X-Request-ID kept when plain, else a UUID) and one pino JSON line per request with the
 *                  request id, method, URL, status and time, written to /dev/null through sonic-boom, asynchronous
 *                  (as pino's default stdout destination, Stoa's in production)
 *   2 `metrics`    prom-client: a request counter and a latency histogram per method, route and status
 *   3 `ratelimit`  two fixed-window policies decided together: one EVALSHA of a script that really counts both keys
 *                  (INCR + PEXPIRE, all or nothing) on Redis (ioredis auto-pipelining: calls
 *                  made in the same turn share a write, as Stoa's store batches them), or two counters in a Map without Redis (as Stoa's
 *                  embedded memory store); RateLimit-Policy, RateLimit and X-RateLimit-* headers
 *   4 `contract`   the fixed security headers (helmet's set, computed once), Stoa-Version, Deprecation, Sunset, Link,
 *                  Cache-Control, Vary, the `{data}` envelope with the v1 fields, a strong ETag from the row's
 *                  version and Last-Modified, 304 on a matching If-None-Match, @fastify/compress negotiation
 *   5 `auth`       the API key (X-API-Key): SHA-256 of the secret looked up in an in-process Map (a credential
 *                  cache), revoked/expired/owner-status checks; 401 without it. The rate limit then counts per key.
 *
 * It prints `{"port", "path", "apiKey"}`.
 */
import { createHash, randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import compress from '@fastify/compress';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { openBareStore } from './pipeline-bare-store.ts';

export const RUNGS = ['log', 'metrics', 'ratelimit', 'contract', 'auth'] as const;

const [rungName = 'auth', databaseUrl = '', schema = '', redisUrl = ''] = process.argv.slice(2);
const level = RUNGS.indexOf(rungName as (typeof RUNGS)[number]) + 1;
if (level === 0) {
  process.stderr.write(`usage: pipeline-ladder.ts ${RUNGS.join('|')} [database url] [schema] [redis url]\n`);
  process.exit(2);
}
const store = await openBareStore(databaseUrl, schema);
const { productId, read } = store;

// Rung 1: one structured line per request.
const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
const REQUEST_ID_SHAPE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

// Rung 2: request count and latency.
const registry = new Registry();
const labelNames = ['method', 'route', 'status_code'] as const;
const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] });
const duration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request latency',
  labelNames,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

// Rung 3: two fixed-window policies, both charged or neither. Returns count and TTL (ms) of each.
const POLICIES = [
  { name: 'free', limit: 1_000_000_000, windowMs: 60_000 },
  { name: 'burst', limit: 1_000_000_000, windowMs: 1_000 },
] as const;
const SCRIPT = `
local a = tonumber(redis.call('GET', KEYS[1]) or '0')
local b = tonumber(redis.call('GET', KEYS[2]) or '0')
if a + 1 > tonumber(ARGV[1]) or b + 1 > tonumber(ARGV[3]) then
  return {-1 - a, redis.call('PTTL', KEYS[1]), -1 - b, redis.call('PTTL', KEYS[2])}
end
a = redis.call('INCR', KEYS[1]); if a == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
b = redis.call('INCR', KEYS[2]); if b == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return {a, redis.call('PTTL', KEYS[1]), b, redis.call('PTTL', KEYS[2])}`;
const redis = level >= 3 && redisUrl ? new Redis(redisUrl, { enableAutoPipelining: true }) : undefined;
const sha = redis ? ((await redis.script('LOAD', SCRIPT)) as string) : '';
const memory = new Map<string, { count: number; resetAt: number }>();
const keyPrefix = `bench:ladder:${randomUUID().slice(0, 8)}:`;

/** [count or −1 − count, ttl ms] for each policy. */
async function decide(partition: string): Promise<number[]> {
  if (redis) {
    return (await redis.evalsha(sha, 2, `${keyPrefix}{${partition}}:free`, `${keyPrefix}{${partition}}:burst`, POLICIES[0].limit, POLICIES[0].windowMs, POLICIES[1].limit, POLICIES[1].windowMs)) as number[];
  }
  const now = Date.now();
  const entries = POLICIES.map((p) => {
    const key = `${partition}:${p.name}`;
    let entry = memory.get(key);
    if (!entry || entry.resetAt <= now) memory.set(key, (entry = { count: 0, resetAt: now + p.windowMs }));
    return entry;
  });
  const refused = entries.some((e, i) => e.count + 1 > POLICIES[i]!.limit);
  return entries.flatMap((e) => (refused ? [-1 - e.count, e.resetAt - now] : [++e.count, e.resetAt - now]));
}

// Rung 4: headers fixed at start; the v1 deprecation schedule as Stoa's bench server has it.
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'stoa-version': '1',
  deprecation: '@1793491200',
  sunset: 'Mon, 01 Nov 2027 00:00:00 GMT',
};
const POLICY_HEADER = POLICIES.map((p) => `"${p.name}";q=${p.limit};w=${p.windowMs / 1000}`).join(', ');

// Rung 5: the API key, as an in-process cache of what the database holds (invalidation is off the request path).
const API_KEY = `sk_${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '')}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const keys = new Map([[sha256(API_KEY), { id: 'key_bench', userId: 'usr_bench', revokedAt: null as Date | null, expiresAt: null as Date | null, owner: { status: 'active', plan: 'free' } }]]);

const app = Fastify();
if (level >= 4) await app.register(compress, { global: true, threshold: 1024, encodings: ['br', 'gzip'], brotliOptions: { params: { 1: 4 } } });
if (level >= 1) {
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    if (level >= 2) {
      const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(status) };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
    }
    log.info({ request_id: request.id, req: { method: request.method, url: request.url }, res: { statusCode: status }, responseTime: reply.elapsedTime }, 'request completed');
    done();
  });
}

app.get<{ Params: { id: string } }>('/products/:id', async (request, reply) => {
  if (level >= 1) {
    const given = request.headers['x-request-id'];
    request.id = typeof given === 'string' && REQUEST_ID_SHAPE.test(given) ? given : randomUUID();
    reply.header('x-request-id', request.id);
  }
  let partition = `ip:${request.socket.remoteAddress}`;
  if (level >= 5) {
    const secret = request.headers['x-api-key'];
    const key = typeof secret === 'string' ? keys.get(sha256(secret)) : undefined;
    if (!key || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt.getTime() <= Date.now()) || key.owner.status !== 'active') {
      return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send({ error: 'unauthenticated' });
    }
    partition = `key:${key.id}`;
  }
  if (level >= 3) {
    const outcome = await decide(partition);
    const resetAt = Math.ceil((Date.now() + outcome[1]!) / 1000);
    const remaining = (i: number) => (outcome[2 * i]! < 0 ? 0 : POLICIES[i]!.limit - outcome[2 * i]!);
    reply.headers({
      'x-ratelimit-limit': POLICIES[0].limit,
      'x-ratelimit-remaining': remaining(0),
      'x-ratelimit-reset': resetAt,
      'ratelimit-policy': POLICY_HEADER,
      ratelimit: POLICIES.map((p, i) => `"${p.name}";r=${remaining(i)};t=${Math.ceil(outcome[2 * i + 1]! / 1000)}`).join(', '),
    });
    if (outcome[0]! < 0 || outcome[2]! < 0) return reply.code(429).header('retry-after', Math.ceil(outcome[1]! / 1000)).send({ error: 'rate limited' });
  }
  const row = await read(request.params.id);
  if (!row) return reply.code(404).send({ error: 'not found' });
  if (level < 4) return row;
  const etag = `"${row.version ?? 1}"`;
  reply.headers({
    ...SECURITY_HEADERS,
    link: `</v2/products/${row.id}>; rel="successor-version", <http://localhost:3000/versioning>; rel="deprecation"; type="text/html"`,
    'cache-control': 'public, max-age=60',
    vary: 'Accept, accept-encoding',
    etag,
    'last-modified': row.updated_at.toUTCString(),
  });
  const inm = request.headers['if-none-match'];
  if (inm !== undefined && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) return reply.code(304).send();
  const path = `/v1/products/${row.id}`;
  return {
    data: {
      id: row.id,
      name: row.name,
      description: row.description,
      category: row.category,
      price: Number(row.price),
      currency: row.currency,
      stock: row.stock,
      in_stock: row.stock > 0,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
      links: { self: path },
    },
  };
});

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0, path: `/products/${productId}`, apiKey: API_KEY }) + '\n');
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => store.close())
    // The counters expire with their windows (at most a minute).
    .then(() => redis?.disconnect())
    .then(() => process.exit(0));
});

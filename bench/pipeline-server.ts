/**
 * A server for bench/pipeline.ts, one per child process:
 *
 *   node --import tsx bench/pipeline-server.ts stoa [database url] [redis url]
 *   node --import tsx bench/pipeline-server.ts bare [database url] [schema]
 *
 * `stoa` is the whole app (production settings, rate limiting on with two policies high enough never to refuse,
 * on Redis when a Redis URL is given) with one product, an API key and a session. Before it listens it counts
 * the SQL statements one `GET /v1/products/{id}` runs with each credential. It prints one JSON line:
 * `{"port", "path", "apiKey", "accessToken", "schema", "statements": {"api_key", "jwt"}}`.
 *
 * `bare` is the floor: Fastify and one parameterised `SELECT` by id returned as JSON, over a pg Pool(10) on the
 * same database and schema, or over a PGlite of its own holding the same row. It prints `{"port", "path"}`.
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { openBareStore, PRODUCT } from './pipeline-bare-store.ts';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';

const [mode, databaseUrl = '', third = ''] = process.argv.slice(2);

if (mode === 'stoa') {
  const schema = databaseUrl ? `bench_${randomBytes(4).toString('hex')}` : undefined;
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    STOA_DATA_DIR: 'memory',
    STOA_LOAD_SHEDDING: 'off',
    STOA_SEED_DEMO: 'false',
    STOA_ADMIN_EMAIL: 'admin@bench.test',
    STOA_ADMIN_PASSWORD: 'bench-password',
    STOA_RATE_LIMIT: 'on',
    STOA_RATE_LIMIT_FREE: '1000000000/1m',
    STOA_RATE_LIMIT_PRO: '1000000000/1m',
    STOA_RATE_LIMIT_ENTERPRISE: '1000000000/1m',
    STOA_RATE_LIMIT_BURST: '1000000000/1s',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...(third ? { REDIS_URL: third } : {}),
  });
  let statements = 0;
  const container = await createContainer(config, { ...(schema ? { schema } : {}), onQuery: () => void statements++ });
  const admin = await container.users.ensureAdmin('admin@bench.test', 'bench-password', 'Bench Admin');
  const app = await buildApp(container);
  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'admin@bench.test', password: 'bench-password' } });
  const accessToken = (login.json() as { data: { access_token: string } }).data.access_token;
  const { secret: apiKey } = await container.apiKeys.createForUser(admin.id, { name: 'bench', scopes: ['posts:read'] });
  const created = await app.inject({ method: 'POST', url: '/v1/products', headers: { authorization: `Bearer ${accessToken}` }, payload: PRODUCT });
  const productId = (created.json() as { data: { id: string } }).data.id;
  const path = `/v1/products/${productId}`;

  const count = async (headers: Record<string, string>) => {
    await app.inject({ method: 'GET', url: path, headers }); // warm: caches, compiled schemas
    const before = statements;
    for (let i = 0; i < 20; i++) {
      const response = await app.inject({ method: 'GET', url: path, headers });
      if (response.statusCode !== 200) throw new Error(`GET ${path} answered ${response.statusCode}: ${response.body}`);
    }
    return (statements - before) / 20;
  };
  const perRequest = { api_key: await count({ 'x-api-key': apiKey }), jwt: await count({ authorization: `Bearer ${accessToken}` }) };

  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(JSON.stringify({ port, path, productId, apiKey, accessToken, schema, statements: perRequest }) + '\n');
  process.on('SIGTERM', () => {
    void app
      .close()
      .then(() => container.close())
      .then(() => process.exit(0));
  });
} else if (mode === 'bare') {
  const { productId, read, close } = await openBareStore(databaseUrl, third);
  const app = Fastify();
  app.get<{ Params: { id: string } }>('/products/:id', async (request, reply) => {
    const row = await read(request.params.id);
    if (!row) return reply.code(404).send({ error: 'not found' });
    return row;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0, path: `/products/${productId}` }) + '\n');
  process.on('SIGTERM', () => {
    void app
      .close()
      .then(close)
      .then(() => process.exit(0));
  });
} else {
  process.stderr.write('usage: pipeline-server.ts stoa [database url] [redis url] | bare [database url] [schema]\n');
  process.exit(2);
}

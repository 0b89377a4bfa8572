import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createContainer, type Container } from '../../src/container.ts';
import type { Clock } from '../../src/domain/shared/clock.ts';

/** A clock tests move by hand (token expiry, key expiry). */
export class TestClock implements Clock {
  #offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }
  advance(ms: number): void {
    this.#offsetMs += ms;
  }
}

export interface TestApp {
  app: FastifyInstance;
  container: Container;
  config: Config;
  clock: TestClock;
  /** Number of SQL statements executed so far. */
  queries(): number;
  close(): Promise<void>;
}

/** True when the suite runs against a real PostgreSQL server. */
export const onPostgres = Boolean(process.env.DATABASE_URL);

/**
 * Builds Stoa in-process on the embedded PGlite or, when DATABASE_URL is set,
 * on PostgreSQL in a schema of its own that is dropped afterwards.
 */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const schema = onPostgres ? `test_${randomBytes(6).toString('hex')}` : undefined;
  const config = loadConfig({
    NODE_ENV: 'test',
    STOA_DATA_DIR: 'memory',
    STOA_SEED_DEMO: 'false',
    // Cheaper scrypt keeps the suite fast; the format and checks are the same.
    STOA_PASSWORD_HASH_COST: '12',
    STOA_RATE_LIMIT: 'off', STOA_LOAD_SHEDDING: 'off', // the suite makes many requests from one address; test/rate-limit*.test.ts turn them on
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...env,
  });
  const clock = new TestClock();
  let count = 0;
  const container = await createContainer(config, { clock, ...(schema ? { schema } : {}), onQuery: () => void count++ });
  const app = await buildApp(container);
  const truth = process.env.STOA_OPENAPI_TRUTH === '1' ? await recordAgainstOpenApi(app) : undefined;
  return {
    app,
    container,
    config,
    clock,
    queries: () => count,
    async close() {
      const departures = truth?.();
      await app.close();
      await container.close();
      if (schema) await dropSchema(schema);
      if (departures && departures.length > 0) throw new Error(`answers the OpenAPI document does not describe:\n${departures.join('\n')}`);
    },
  };
}

/**
 * STOA_OPENAPI_TRUTH=1: every answer a test receives through `app.inject` on
 * a documented operation is checked against the served OpenAPI document of its
 * version, and `close()` fails with whatever departs from it.
 */
async function recordAgainstOpenApi(app: FastifyInstance): Promise<() => string[]> {
  const { OpenApiTruth } = await import('./openapi-truth.ts');
  const documents = new Map<string, InstanceType<typeof OpenApiTruth>>();
  for (const version of ['1', '2']) {
    const served = await app.inject({ method: 'GET', url: `/v${version}/openapi.json` });
    // A retired version serves no document (410): its answers are not checked.
    if (served.statusCode === 200) documents.set(version, new OpenApiTruth(served.json()));
  }
  const found = new Set<string>();
  const inject = app.inject.bind(app) as (options: unknown) => Promise<LightMyRequestResponse>;
  const recording = async (options: unknown) => {
    const res = await inject(options);
    const request = (typeof options === 'string' ? { url: options, method: 'GET' } : options) as { url?: string; method?: string; path?: string };
    const url = request.url ?? request.path ?? '';
    const truth = documents.get(/^\/v(\d+)\//.exec(url)?.[1] ?? '');
    if (truth && truth.templateOf(request.method ?? 'GET', url)) {
      for (const departure of truth.check({ method: request.method ?? 'GET', url, status: res.statusCode, contentType: res.headers['content-type'] as string | undefined, body: res.body })) found.add(departure);
    }
    return res;
  };
  (app as unknown as { inject: unknown }).inject = (options?: unknown) => (options === undefined ? inject(options) : recording(options));
  return () => [...found];
}

/** Drops a test schema over a connection of its own: the container's may already be closed. */
async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

let counter = 0;
/** A fresh, valid email for each call. */
export function uniqueEmail(tag = 'user'): string {
  counter += 1;
  return `${tag}.${Date.now().toString(36)}${counter}${randomBytes(2).toString('hex')}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';

export interface SignedUp {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  auth: { authorization: string };
}

/** Signs a user up and in. */
export async function signUp(app: FastifyInstance, overrides: { email?: string; name?: string } = {}): Promise<SignedUp> {
  const email = overrides.email ?? uniqueEmail();
  const created = await app.inject({ method: 'POST', url: '/v1/users', payload: { email, name: overrides.name ?? 'Test User', password: PASSWORD } });
  if (created.statusCode !== 201) throw new Error(`sign-up failed: ${created.statusCode} ${created.body}`);
  const tokens = await login(app, email, PASSWORD);
  return { id: created.json().data.id, email, ...tokens, auth: { authorization: `Bearer ${tokens.accessToken}` } };
}

export async function login(app: FastifyInstance, email: string, password: string): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const data = res.json().data;
  return { accessToken: data.access_token, refreshToken: data.refresh_token };
}

/** Makes an admin through the same path a deployment uses (STOA_ADMIN_EMAIL → ensureAdmin) and signs in. */
export async function signUpAdmin(t: TestApp): Promise<SignedUp> {
  const email = uniqueEmail('admin');
  const user = await t.container.users.ensureAdmin(email, PASSWORD);
  const tokens = await login(t.app, email, PASSWORD);
  return { id: user.id, email, ...tokens, auth: { authorization: `Bearer ${tokens.accessToken}` } };
}

/** Asserts the RFC 9457 shape and returns the parsed problem. */
export function problemOf(res: LightMyRequestResponse): Record<string, unknown> & { code: string; status: number; detail: string } {
  const type = String(res.headers['content-type']);
  if (!type.startsWith('application/problem+json')) throw new Error(`expected a problem, got ${type}: ${res.body.slice(0, 200)}`);
  const body = res.json();
  for (const member of ['type', 'title', 'status', 'detail', 'instance', 'code', 'request_id']) {
    if (!(member in body)) throw new Error(`problem lacks ${member}: ${res.body}`);
  }
  if (body.status !== res.statusCode) throw new Error(`problem status ${body.status} differs from HTTP ${res.statusCode}`);
  if (body.request_id !== res.headers['x-request-id']) throw new Error('problem request_id differs from X-Request-ID');
  return body;
}

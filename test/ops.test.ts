import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { ERROR_CODES } from '../src/domain/shared/errors.ts';
import { createTestApp, onPostgres, problemOf, signUp, type TestApp } from './helpers/app.ts';

describe('operations', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('/healthz answers without touching the database', async () => {
    const before = t.queries();
    const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { authorization: 'Bearer garbage' } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
    assert.equal(t.queries(), before);
  });

  it('/readyz reports each dependency', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().checks.database, 'ok');
    if (process.env.REDIS_URL) assert.equal(res.json().checks.redis, 'ok');
  });

  it('/metrics exposes request counts and latency per route and status', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz' });
    await t.app.inject({ method: 'GET', url: '/v1/me' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(res.body, /http_requests_total\{method="GET",route="\/healthz",status_code="200"\} \d+/);
    assert.match(res.body, /http_requests_total\{method="GET",route="\/v1\/me",status_code="401"\} \d+/);
    assert.match(res.body, /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/healthz",status_code="200"\}/);
    assert.match(res.body, /process_cpu_seconds_total/);
  });

  it('/metrics labels unknown paths as one route', async () => {
    await t.app.inject({ method: 'GET', url: '/scanner/probe-123' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(res.body, /route="unmatched",status_code="404"/);
    assert.doesNotMatch(res.body, /probe-123/);
  });

  describe('OpenAPI', () => {
    let doc: {
      openapi: string;
      paths: Record<string, Record<string, { operationId?: string; tags?: string[]; security?: unknown[]; responses: Record<string, unknown>; summary?: string }>>;
      components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string }> };
      tags: Array<{ name: string }>;
    };
    before(async () => {
      const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(res.statusCode, 200);
      doc = res.json();
    });

    it('is OpenAPI 3.1 with bearer JWT and API key security schemes', () => {
      assert.match(doc.openapi, /^3\.1\./);
      const schemes = Object.values(doc.components.securitySchemes);
      assert.ok(schemes.some((s) => s.type === 'http' && s.scheme === 'bearer'));
      assert.ok(schemes.some((s) => s.type === 'apiKey' && s.in === 'header'));
    });

    it('gives every operation a unique operationId, declared tags, a summary, security and error responses', () => {
      const ids = new Set<string>();
      const tagNames = new Set(doc.tags.map((tag) => tag.name));
      let operations = 0;
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          operations++;
          const where = `${method.toUpperCase()} ${path}`;
          assert.ok(op.operationId, `${where} has no operationId`);
          assert.ok(!ids.has(op.operationId!), `${where} repeats ${op.operationId}`);
          ids.add(op.operationId!);
          assert.ok(op.tags?.length && op.tags.every((tag) => tagNames.has(tag)), `${where} tags`);
          assert.ok(op.summary, `${where} summary`);
          assert.ok(Array.isArray(op.security), `${where} security`);
          assert.ok(Object.keys(op.responses).some((status) => /^[45]/.test(status)), `${where} lists no error response`);
        }
      }
      assert.ok(operations >= 15, `only ${operations} operations documented`);
    });

    it('documents the identity operations in each version’s document, v1 marked deprecated', async () => {
      const v1 = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as typeof doc;
      assert.ok(doc.paths['/v2/users']?.post, '/openapi.json is the latest version');
      assert.equal(doc.paths['/v1/users'], undefined);
      assert.equal((v1.paths['/v1/users']!.post as { deprecated?: boolean }).deprecated, true);
      for (const [path, method] of [
        ['/v1/users', 'post'],
        ['/v1/users/{id}', 'get'],
        ['/v1/users/{id}', 'put'],
        ['/v1/users/{id}', 'patch'],
        ['/v1/users/{id}', 'delete'],
        ['/v1/auth/login', 'post'],
        ['/v1/auth/refresh', 'post'],
        ['/v1/auth/logout', 'post'],
        ['/v1/me', 'get'],
        ['/v1/api-keys', 'post'],
        ['/v1/api-keys', 'get'],
        ['/v1/api-keys/{id}', 'delete'],
        ['/.well-known/jwks.json', 'get'],
      ] as const) {
        assert.ok(v1.paths[path]?.[method], `${method} ${path} missing`);
        if (path.startsWith('/v1/')) assert.ok(doc.paths[`/v2/${path.slice(4)}`]?.[method], `${method} v2 of ${path} missing`);
      }
    });

    it('/docs serves the interactive reference', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/docs/' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /text\/html/);
    });
  });

  describe('the error registry', () => {
    const docText = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...docText.matchAll(/^## ([A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!);

    it('documents every code in docs/errors.md', () => {
      const missing = Object.keys(ERROR_CODES).filter((code) => !documented.includes(code));
      assert.deepEqual(missing, []);
    });

    it('has a code for every section of docs/errors.md', () => {
      const unknown = documented.filter((code) => !(code in ERROR_CODES));
      assert.deepEqual(unknown, []);
      assert.equal(new Set(documented).size, documented.length, 'a code is documented twice');
    });

    it('states each code’s HTTP status in docs/errors.md as the registry does', () => {
      for (const [code, { status }] of Object.entries(ERROR_CODES)) {
        const section = docText.split(/^## /m).find((s) => s.startsWith(`${code}\n`)) ?? '';
        assert.match(section, new RegExp(`\\b${status}\\b`), `${code} section does not state ${status}`);
      }
    });

    it('uses UPPER_SNAKE codes and serves a page for each problem type', async () => {
      for (const code of Object.keys(ERROR_CODES)) assert.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      const res = await t.app.inject({ method: 'GET', url: '/problems/validation-failed' });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /VALIDATION_FAILED/);
      assert.equal((await t.app.inject({ method: 'GET', url: '/problems/no-such-thing' })).statusCode, 404);
    });

    it('problem type URIs resolve to those pages', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/me' });
      const type = new URL(String(problemOf(res).type));
      assert.equal((await t.app.inject({ method: 'GET', url: type.pathname })).statusCode, 200);
    });
  });
});

describe('readiness with a failing dependency', () => {
  it('answers 503 naming the database', async () => {
    const t = await createTestApp();
    try {
      await signUp(t.app);
      await t.container.database.close();
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      const problem = problemOf(res);
      assert.equal(problem.code, 'SERVICE_UNAVAILABLE');
      assert.match(problem.detail, /database/);
      assert.ok(res.headers['retry-after']);
      // Liveness does not depend on the database.
      assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming redis when Redis is configured but unreachable', async () => {
    const t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.match(problemOf(res).detail, /redis/);
      assert.equal(res.json().checks.database, 'ok');
    } finally {
      await t.close();
    }
  });

  it('keeps serving when PostgreSQL ends a session a request has checked out', { skip: !onPostgres && 'needs DATABASE_URL' }, async () => {
    const t = await createTestApp();
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    try {
      const outcome = await t.container.database.db
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
          // The session ends while the transaction holds its client and no query runs: pg reports it as an event.
          await new Promise((resolve) => setTimeout(resolve, 300));
          return sql`select 1`.execute(trx).then(
            () => 'ran',
            () => 'failed',
          );
        })
        .catch(() => 'failed');
      assert.equal(outcome, 'failed', 'a query on the ended session fails');
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200, 'the pool serves the next request from a healthy session');
      assert.match((await signUp(t.app)).id, /\S/, 'and writes still work');
    } finally {
      await admin.end();
      await t.close();
    }
  });
});


import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { OpenApiTruth, type OpenApiDocument } from './helpers/openapi-truth.ts';
import { bodyFor, collectionOf, fill, makeFixtures, servedDocuments, type Fixtures, type Headers } from './helpers/api-walk.ts';
import { world, READ_SCOPES, type World } from './helpers/world.ts';

const PROBLEM = { $ref: '#/components/schemas/Problem' };
const TINY: OpenApiDocument = {
  components: {
    schemas: {
      Problem: { type: 'object', required: ['code', 'status'], properties: { code: { type: 'string' }, status: { type: 'integer' } } },
      Thing: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, size: { type: 'integer' } }, additionalProperties: false },
    },
  },
  paths: {
    '/v2/things/{id}': {
      get: {
        responses: {
          '200': { content: { 'application/json': { schema: { type: 'object', required: ['data'], properties: { data: { $ref: '#/components/schemas/Thing' } } } } } },
          '304': {},
          '404': { content: { 'application/problem+json': { schema: PROBLEM } } },
        },
      },
      delete: { responses: { '204': {} } },
    },
    '/v2/things/special': { get: { responses: { '200': { content: { 'text/csv': { schema: { type: 'string' } } } } } } },
  },
};

describe('the OpenAPI truth checker', () => {
  const truth = new OpenApiTruth(TINY);
  const seen = (over: Partial<Parameters<OpenApiTruth['check']>[0]>) => ({
    method: 'GET',
    url: '/v2/things/t1',
    status: 200,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({ data: { id: 't1', size: 3 } }),
    ...over,
  });

  it('accepts answers that are what the document says', () => {
    assert.deepEqual(truth.check(seen({})), []);
    assert.deepEqual(truth.check(seen({ status: 404, contentType: 'application/problem+json', body: '{"code":"NOT_FOUND","status":404}' })), []);
    assert.deepEqual(truth.check(seen({ status: 304, contentType: undefined, body: '' })), []);
    assert.deepEqual(truth.check(seen({ method: 'DELETE', status: 204, contentType: undefined, body: '' })), []);
    assert.deepEqual(truth.check(seen({ url: '/v2/things/special?x=1', contentType: 'text/csv', body: 'id\n1' })), [], 'a static path wins over a template');
  });

  it('reports an undocumented status', () => {
    assert.match(truth.check(seen({ status: 400, contentType: 'application/problem+json', body: '{"code":"X","status":400}' })).join(), /status 400 is not documented/);
  });

  it('reports an undocumented media type', () => {
    assert.match(truth.check(seen({ contentType: 'text/csv', body: 'id\nt1' })).join(), /media type text\/csv is not documented/);
    assert.match(truth.check(seen({ status: 404, contentType: 'application/json', body: '{"code":"NOT_FOUND","status":404}' })).join(), /media type application\/json/);
  });

  it('reports a body that breaks the documented schema: a missing required property, a wrong type, an unknown property', () => {
    assert.match(truth.check(seen({ body: '{"data":{"size":3}}' })).join(), /breaks the documented schema.*id/);
    assert.match(truth.check(seen({ body: '{"data":{"id":"t1","size":"big"}}' })).join(), /breaks the documented schema/);
    assert.match(truth.check(seen({ body: '{"data":{"id":"t1","colour":"red"}}' })).join(), /breaks the documented schema/);
    assert.match(truth.check(seen({ body: 'not json' })).join(), /not JSON/);
  });

  it('reports a body where none is documented, and an operation that is not documented', () => {
    assert.match(truth.check(seen({ method: 'DELETE', status: 204, body: '{}' })).join(), /no body/);
    assert.match(truth.check(seen({ method: 'POST' })).join(), /no documented operation/);
    assert.match(truth.check(seen({ url: '/v2/other' })).join(), /no documented operation/);
  });
});

describe('every operation answers as its OpenAPI document says (v1 and v2)', () => {
  let w: World;
  let docs: OpenApiTruth[];
  let ids: Fixtures;
  let readKey: Headers;
  const violations = new Map<string, string>();
  let requests = 0;

  before(async () => {
    w = await world({ env: { STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    docs = await servedDocuments(w.app);
    ids = await makeFixtures(w);
    readKey = await w.apiKey(w.ada, READ_SCOPES);
  });
  after(() => w.close());

  /** Sends one request and checks its answer against the version's document. */
  async function send(truth: OpenApiTruth, options: InjectOptions & { method: string; url: string }): Promise<number> {
    const res = await w.app.inject(options);
    requests += 1;
    for (const problem of truth.check({ method: options.method, url: options.url, status: res.statusCode, contentType: res.headers['content-type'] as string | undefined, body: res.body })) {
      const key = problem.replace(/: .*$/, '');
      if (!violations.has(key)) violations.set(key, `${problem}\n    request: ${options.method} ${options.url.slice(0, 120)} ${JSON.stringify(options.headers ?? {}).slice(0, 120)}\n    body: ${res.body.slice(0, 200)}`);
    }
    return res.statusCode;
  }

  it('walks every operation as anonymous, owner, another user, admin and a read-only key, with good and bad input', { timeout: 300_000 }, async () => {
    // Both versions together; deletions last, the caller's own account at the very end.
    const walk = docs.flatMap((truth) => truth.operations().map((op) => ({ truth, op }))).sort((a, b) => rank(a.op) - rank(b.op));
    {
      for (const { truth, op } of walk) {
        const collection = collectionOf(op.path);
        const id = ids[collection] ?? 'unknown_id';
        const url = fill(op.path, id);
        const hasBody = ['POST', 'PUT', 'PATCH'].includes(op.method);
        const body = hasBody ? bodyFor(op.method, op.path, ids) : undefined;
        const idem = op.method === 'POST' ? { 'idempotency-key': randomUUID() } : {};
        const call = (headers: Headers, over: Partial<InjectOptions> = {}) =>
          send(truth, { method: op.method, url, headers: { ...idem, ...headers }, ...(body === undefined ? {} : { payload: body as Record<string, unknown> }), ...over } as InjectOptions & { method: string; url: string });
        const destructive = op.method === 'DELETE' || /cancel|rotate-secret|retry/.test(op.path);

        // Bad input first: none of it may change anything.
        await call({}, {});
        await call(w.ada.auth, { url: `${url}${url.includes('?') ? '&' : '?'}unknown_parameter=1` });
        await call(w.ada.auth, { headers: { ...w.ada.auth, accept: 'image/png' } });
        await call({ authorization: 'Bearer not.a.token' });
        if (op.path.includes('{')) {
          await call(w.ada.auth, { url: fill(op.path, 'nope_0000000000') });
          await call(w.ada.auth, { url: op.path.replace(/\{[^}]+\}/, '%zz') });
          await call(w.ada.auth, { url: fill(op.path, 'x'.repeat(200)) });
          await call(w.ada.auth, { url: fill(op.path, 'y'.repeat(3000)) });
        }
        if (hasBody) {
          await call(w.ada.auth, { payload: '{"broken', headers: { ...idem, ...w.ada.auth, 'content-type': 'application/json' } });
          await call(w.ada.auth, { payload: 'plain', headers: { ...idem, ...w.ada.auth, 'content-type': 'text/plain' } });
          await call(w.ada.auth, { payload: { unknown_field: true } });
        }
        if (op.method === 'GET') {
          await call(w.ada.auth, { headers: { ...w.ada.auth, accept: 'text/csv' } });
          await call(w.ada.auth, { url: `${url}?fields=id` });
          await call(w.bob.auth, { url: `${url}?fields=role,email,status` });
          await call(w.ada.auth, { url: `${url}?created_after=2026-02-01T00:00:00Z&created_before=2026-01-01T00:00:00Z` });
          await call(w.ada.auth, { url: `${url}?limit=0` });
          await call(w.ada.auth, { url: `${url}?cursor=forged` });
          await call(w.ada.auth, { headers: { ...w.ada.auth, 'if-none-match': '*' } });
        }
        // Other people next, then the owner.
        await call(w.bob.auth);
        await call(readKey);
        if (!destructive) await call(w.admin.auth);
        await call(w.ada.auth);
        if (op.method === 'GET') {
          const first = await w.app.inject({ method: 'GET', url, headers: w.ada.auth });
          const etag = first.headers.etag;
          if (etag) await call(w.ada.auth, { headers: { ...w.ada.auth, 'if-none-match': String(etag) } });
        }
      }
    }
    assert.ok(requests > 1000, `only ${requests} requests were made`);
    assert.equal(violations.size, 0, `answers the OpenAPI document does not describe (${violations.size}):\n${[...violations.values()].join('\n')}`);
  });
});

function rank(op: { method: string; path: string }): number {
  if (op.method !== 'DELETE') return 0;
  return /\/users\/\{id\}$/.test(op.path) ? 2 : 1;
}

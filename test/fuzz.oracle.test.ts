import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpenApiTruth, type OpenApiDocument } from './helpers/openapi-truth.ts';
import { judge, judgeAftermath, type Exchange } from '../scripts/fuzz/oracle.ts';

const PROBLEM = { 'application/problem+json': { schema: { type: 'object', required: ['code'], properties: { code: { type: 'string' } } } } };
const ORDER = { 'application/json': { schema: { type: 'object', required: ['data'], properties: { data: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } } } } };
const DOC: OpenApiDocument = {
  paths: {
    '/v2/orders/{id}': {
      get: { security: [{ bearerAuth: [] }], parameters: [{ in: 'header', name: 'x-needed', required: true }], responses: { '200': { content: ORDER }, '404': { content: PROBLEM } } },
      patch: {
        security: [{ bearerAuth: [] }],
        requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { status: { enum: ['cancelled'] } }, additionalProperties: false } } } },
        responses: { '200': { content: ORDER }, '400': { content: PROBLEM }, '404': { content: PROBLEM } },
      },
    },
    '/v2/products/{id}': {
      get: { security: [{}, { bearerAuth: [] }], responses: { '200': { content: ORDER } } },
      patch: { security: [{ bearerAuth: [] }], responses: { '200': { content: ORDER } } },
    },
  },
};

/** The fuzz run's judge: each property it checks fails when broken. */
describe('fuzz judge', () => {
  const truth = new OpenApiTruth(DOC);
  const [get, patch, , productPatch] = truth.operations();
  const exchange = (over: Partial<Exchange>): Exchange => ({
    truth,
    op: get!,
    actor: 'a',
    pathOwner: 'a',
    method: 'GET',
    url: '/v2/orders/ord_a',
    status: 200,
    contentType: 'application/json',
    body: '{"data":{"id":"ord_a"}}',
    privateIds: { a: ['ord_a'], b: ['ord_b'] },
    ...over,
  });
  const kinds = (x: Exchange) => judge(x).map((f) => f.kind);

  it('passes an owner reading their own order', () => assert.deepEqual(kinds(exchange({})), []));
  it('flags a 5xx', () => assert.ok(kinds(exchange({ status: 500, contentType: 'application/problem+json', body: '{"code":"INTERNAL"}' })).includes('5xx')));
  it('flags an answer the document does not describe', () => assert.deepEqual(kinds(exchange({ status: 404, contentType: 'application/json', body: '{}' })), ['document']));
  it("flags a user reading another user's order", () => assert.deepEqual(kinds(exchange({ actor: 'b', url: '/v2/orders/ord_a' })), ['authorization', 'leak']));
  it('flags an anonymous success on a secured operation', () => assert.ok(kinds(exchange({ actor: 'anonymous', pathOwner: undefined })).includes('authorization')));
  it('judges credentials by the operation that answered, not the one the case was drawn from', () => {
    const product = { url: '/v2/products/prd_1', body: '{"data":{"id":"prd_1"}}', actor: 'anonymous' as const, pathOwner: undefined };
    assert.ok(!kinds(exchange({ ...product, op: productPatch!, method: 'GET' })).includes('authorization'));
    assert.ok(kinds(exchange({ ...product, op: productPatch!, method: 'PATCH' })).includes('authorization'));
  });
  it('flags a key succeeding without the scope the operation needs', () => assert.ok(kinds(exchange({ actor: 'a-key-posts-read' })).includes('scope')));
  it('flags a refused write that changed a table', () => {
    const refused = exchange({ op: patch!, method: 'PATCH', status: 404, contentType: 'application/problem+json', body: '{"code":"NOT_FOUND"}' });
    assert.deepEqual(kinds({ ...refused, before: { orders: 'x' }, after: { orders: 'x' } }), []);
    assert.deepEqual(kinds({ ...refused, before: { orders: 'x' }, after: { orders: 'y' } }), ['state']);
  });
  it('flags a success without a required header', () => {
    assert.deepEqual(kinds(exchange({ sentHeaders: { 'X-Needed': '1' } })), []);
    assert.deepEqual(kinds(exchange({ sentHeaders: {} })), ['accepted-invalid']);
  });
  it('flags a created resource that cannot be read, and a deleted one that still can', () => {
    assert.deepEqual(judgeAftermath('created', 'POST /v2/orders', '/v2/orders/o', 200), []);
    assert.equal(judgeAftermath('created', 'POST /v2/orders', '/v2/orders/o', 404)[0]?.kind, 'lifecycle');
    assert.deepEqual(judgeAftermath('deleted', 'DELETE /v2/orders/{id}', '/v2/orders/o', 404), []);
    assert.equal(judgeAftermath('deleted', 'DELETE /v2/orders/{id}', '/v2/orders/o', 200)[0]?.kind, 'lifecycle');
  });
  it('flags a success on a body the documented request schema refuses', () => {
    const accepted = exchange({ op: patch!, method: 'PATCH' });
    assert.deepEqual(kinds({ ...accepted, sentJson: { value: { status: 'cancelled' } } }), []);
    assert.deepEqual(kinds({ ...accepted, sentJson: { value: { status: 'cancelled', role: 'admin' } } }), ['accepted-invalid']);
  });
});

const LIST: OpenApiDocument = {
  paths: {
    '/v2/orders': {
      get: {
        security: [{ bearerAuth: [] }],
        parameters: [
          { in: 'query', name: 'sort', schema: { type: 'string', pattern: '^-?id$' } },
          { in: 'query', name: 'limit', schema: { type: 'integer', minimum: 1, maximum: 100 } },
        ],
        responses: {
          '200': { content: ORDER, headers: { ETag: { required: true, schema: { type: 'string', pattern: '^"' } } } },
          '400': { content: PROBLEM },
          '401': { content: PROBLEM },
          '404': { content: PROBLEM },
          '412': { content: PROBLEM },
        },
      },
      post: {
        security: [{ bearerAuth: [] }],
        parameters: [{ in: 'header', name: 'idempotency-key', required: true, schema: { type: 'string', minLength: 1 } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } } },
        responses: { '201': { content: ORDER }, '400': { content: PROBLEM }, '401': { content: PROBLEM }, '428': { content: PROBLEM } },
      },
    },
  },
};

/** The checks Schemathesis makes that hang on whether the request fits the document. */
describe('fuzz judge, Schemathesis checks', () => {
  const truth = new OpenApiTruth(LIST);
  const [list, create] = truth.operations();
  const auth = { authorization: 'Bearer t' };
  const problem = { contentType: 'application/problem+json', body: '{"code":"X"}' };
  const exchange = (over: Partial<Exchange>): Exchange => ({
    truth,
    op: list!,
    actor: 'a',
    pathOwner: undefined,
    method: 'GET',
    url: '/v2/orders',
    status: 200,
    contentType: 'application/json',
    body: '{"data":{"id":"ord_a"}}',
    privateIds: { a: [], b: [] },
    sentHeaders: auth,
    headers: { etag: '"1"' },
    ...over,
  });
  const kinds = (x: Exchange) => judge(x).map((f) => f.kind);

  it('positive_data_acceptance: a request that fits the document is not refused with a 400', () => {
    assert.deepEqual(kinds(exchange({ url: '/v2/orders?sort=-id&limit=100', status: 400, ...problem })), ['rejected-valid']);
    assert.deepEqual(kinds(exchange({ url: '/v2/orders?sort=-id&limit=100', status: 404, ...problem })), []);
    // Outside the document (an undocumented parameter): a refusal is the server's business.
    assert.deepEqual(kinds(exchange({ url: '/v2/orders?other=1', status: 400, ...problem })), []);
  });
  it('positive_data_acceptance: a stale If-Match or reused Idempotency-Key is state, not schema', () => {
    const stale = exchange({ url: '/v2/orders?sort=id', status: 412, ...problem, sentHeaders: { ...auth, 'if-match': '"old"' }, stateful: ['if-match'] });
    assert.deepEqual(kinds(stale), []);
  });
  it('negative_data_rejection: a request that breaks a query parameter is not answered 2xx, nor with an unexpected status', () => {
    assert.deepEqual(kinds(exchange({ url: '/v2/orders?limit=0' })), ['accepted-invalid']);
    assert.deepEqual(kinds(exchange({ url: '/v2/orders?sort=name' })), ['accepted-invalid']);
    assert.deepEqual(kinds(exchange({ url: '/v2/orders?limit=0', status: 412, ...problem })), ['accepted-invalid']);
    assert.deepEqual(kinds(exchange({ url: '/v2/orders?limit=0', status: 400, ...problem })), []);
  });
  it('missing_required_header: a missing required header is refused with 400, 401, 403, 406 or 422', () => {
    const post = { op: create!, method: 'POST', sentHeaders: { ...auth, 'content-type': 'application/json' }, sentPayload: '{"n":1}', headers: {} };
    assert.deepEqual(kinds(exchange({ ...post, status: 428, ...problem })), ['missing-header']);
    assert.deepEqual(kinds(exchange({ ...post, status: 400, ...problem })), []);
  });
  it('ignored_auth: an operation that needs a credential answers 401 to a caller without one, not 404', () => {
    assert.deepEqual(kinds(exchange({ actor: 'anonymous', sentHeaders: {}, status: 404, ...problem })), ['authorization']);
    assert.deepEqual(kinds(exchange({ actor: 'forged-key', sentHeaders: { 'x-api-key': 'sk_x' }, status: 404, ...problem })), ['authorization']);
    assert.deepEqual(kinds(exchange({ actor: 'anonymous', sentHeaders: {}, status: 401, ...problem })), []);
  });
  it('unsupported_method: an undocumented method gets 405 with Allow, not a 401', () => {
    const put = { method: 'PUT', url: '/v2/orders', actor: 'anonymous' as const, sentHeaders: {}, ...problem };
    assert.deepEqual(kinds(exchange({ ...put, status: 401 })), ['unrouted']);
    assert.deepEqual(kinds(exchange({ ...put, status: 405 })), ['unrouted']);
    assert.deepEqual(kinds(exchange({ ...put, status: 405, allow: 'GET, HEAD, POST' })), []);
  });
  it('allow_header_conformance: OPTIONS lists exactly the documented methods', () => {
    const options = { method: 'OPTIONS', url: '/v2/orders', status: 204, contentType: undefined, body: '' };
    assert.deepEqual(kinds(exchange({ ...options, allow: 'GET, HEAD, POST, OPTIONS' })), []);
    assert.deepEqual(kinds(exchange({ ...options, allow: 'GET, HEAD, OPTIONS' })), ['unrouted']);
    assert.deepEqual(kinds(exchange({ ...options, allow: 'GET, POST, DELETE' })), ['unrouted']);
  });
  it('response_headers_conformance: a documented required header is present and fits its schema', () => {
    assert.deepEqual(kinds(exchange({ headers: {} })), ['response-headers']);
    assert.deepEqual(kinds(exchange({ headers: { etag: 'W/1' } })), ['response-headers']);
    assert.deepEqual(kinds(exchange({ headers: { etag: '"1"' } })), []);
  });
});

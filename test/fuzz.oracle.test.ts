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

import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { SCOPES } from '../../src/domain/shared/principal.ts';
import type { World } from './world.ts';
import { OpenApiTruth, type OpenApiDocument, type Operation } from './openapi-truth.ts';

export type Headers = Record<string, string>;

/** Ids of one user's resources, one per collection, for filling path templates. */
export type Fixtures = Record<string, string>;

/** The collection of a path template: `/v2/users/{id}/posts` → `users`, `/v2/order-items/{id}` → `order-items`. */
export function collectionOf(template: string): string {
  return template.split('/').filter(Boolean)[1] ?? '';
}

/** A concrete URL for a template, each `{param}` filled with `id`. */
export function fill(template: string, id: string): string {
  return template.replace(/\{[^}]+\}/g, encodeURIComponent(id));
}

/** The served OpenAPI documents of /v1 and /v2, each with its checker. */
export async function servedDocuments(app: FastifyInstance): Promise<OpenApiTruth[]> {
  const out: OpenApiTruth[] = [];
  for (const version of ['1', '2']) {
    const res = await app.inject({ method: 'GET', url: `/v${version}/openapi.json` });
    if (res.statusCode !== 200) throw new Error(`/v${version}/openapi.json: ${res.statusCode}`);
    out.push(new OpenApiTruth(res.json() as OpenApiDocument));
  }
  return out;
}

/**
 * Makes one resource of every collection, owned by `who` (products by the
 * admin), through the API itself; the ids by collection.
 */
export async function makeFixtures(w: World, who = w.ada): Promise<Fixtures> {
  const ok = async (res: LightMyRequestResponse, what: string) => {
    if (res.statusCode >= 300) throw new Error(`${what}: ${res.statusCode} ${res.body}`);
    return res.json().data as Record<string, unknown> & { id: string };
  };
  const post = (url: string, payload: unknown, headers: Headers = {}) =>
    w.app.inject({ method: 'POST', url, headers: { ...who.auth, ...headers }, payload: payload as Record<string, unknown> });
  const product = await w.product({ stock: 1000 });
  const order = await w.order(who, [{ product_id: product, quantity: 1 }]);
  const items = (order.items as Array<{ id: string }> | undefined) ?? [];
  const postId = await w.post(who);
  const comment = await w.comment(who, postId);
  const key = await ok(await post('/v2/api-keys', { name: 'fixture', scopes: ['posts:read'] }), 'api key');
  const charge = await ok(await post('/v2/charges', { amount: 500, currency: 'EUR', source: 'tok_visa' }, { 'idempotency-key': randomUUID() }), 'charge');
  const endpoint = await ok(await post('/v2/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', event_types: ['*'] }), 'webhook endpoint');
  const test = await post(`/v2/webhook-endpoints/${endpoint.id}/test`, undefined);
  const delivery = test.statusCode === 202 ? (test.json().data as { id?: string }).id : undefined;
  const job = await ok(await post('/v2/reports', { type: 'sales', from: '2026-01-01', to: '2026-01-02' }), 'report');
  return {
    users: who.id,
    email: who.email,
    'api-keys': key.id,
    posts: postId,
    comments: comment,
    products: product,
    orders: order.id,
    'order-items': items[0]?.id ?? 'itm_unknown',
    charges: charge.id,
    'webhook-endpoints': endpoint.id,
    'webhook-deliveries': delivery ?? 'whd_unknown',
    jobs: job.id,
    reports: job.id,
  };
}

/** An API key of `who` holding every scope but those given. */
export async function keyWithout(w: World, who: World['ada'], exclude: readonly string[]): Promise<Headers> {
  return w.apiKey(who, SCOPES.filter((s) => !exclude.includes(s)));
}

/** Whether an operation can be called without a credential (`{}` among its security requirements, or none). */
export function isPublic(op: Operation): boolean {
  const security = op.operation.security;
  return security === undefined || security.length === 0 || security.some((r) => Object.keys(r).length === 0);
}

/** Bodies that pass validation, by method and unversioned template (the rest get `{}`). */
export function bodyFor(method: string, template: string, ids: Fixtures): unknown {
  const path = template.replace(/^\/v\d+/, '');
  const nameField = template.startsWith('/v1/') ? 'name' : 'display_name';
  const bodies: Record<string, unknown> = {
    'POST /posts': { title: 'Walked', content: 'A post from the walk' },
    'PATCH /posts/{id}': { title: 'Walked again' },
    'POST /posts/{id}/comments': { content: 'A comment from the walk' },
    'PATCH /comments/{id}': { content: 'Edited' },
    'POST /orders': { items: [{ product_id: ids.products, quantity: 1 }] },
    'PATCH /orders/{id}': { status: 'cancelled' },
    'POST /api-keys': { name: 'walk', scopes: ['posts:read'] },
    'PATCH /api-keys/{id}': { name: 'renamed' },
    'PATCH /users/{id}': { [nameField]: 'Walker' },
    'PUT /users/{id}': { email: ids.email, [nameField]: 'Walker' },
    'POST /charges': { amount: 100, currency: 'EUR', source: 'tok_visa' },
    'POST /webhook-endpoints': { url: 'http://127.0.0.1:9/other', event_types: ['order.*'] },
    'PATCH /webhook-endpoints/{id}': { description: 'walked' },
    'POST /reports': { type: 'sales', from: '2026-01-01', to: '2026-01-02' },
    'PATCH /products/{id}': { price: 700 },
    'POST /products': { name: 'Walked', category: 'walk', price: 100, currency: 'EUR', stock: 5 },
    'POST /auth/login': { email: 'nobody@example.com', password: 'wrong password here' },
    'POST /users': { email: `walk.${randomUUID()}@example.com`, password: 'correct horse battery staple', [nameField]: 'W' },
  };
  return bodies[`${method} ${path}`] ?? {};
}

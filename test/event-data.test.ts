import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EVENT_TYPES, type EventType } from '../src/domain/events/index.ts';
import { createTestApp, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

type Json = Record<string, unknown>;

/** Event types whose resource has no GET of its own: their data is not a resource representation. */
const NOT_RESOURCES = new Set<string>(['follow.created', 'user.verification_requested', 'post.deleted', 'comment.deleted', 'product.deleted']);

/** The representation without `links`, at every depth (an order's items carry links too). */
function withoutLinks(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLinks);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'links').map(([key, v]) => [key, withoutLinks(v)]));
}

describe('event data', () => {
  let t: TestApp;
  let ada: SignedUp;
  let admin: SignedUp;
  const checked = new Set<string>();
  before(async () => {
    t = await createTestApp();
    ada = await signUp(t.app, { name: 'Ada' });
    admin = await signUpAdmin(t);
  });
  after(() => t.close());

  const send = async (who: SignedUp, method: 'POST' | 'PATCH', url: string, payload?: Json) => {
    const res = await t.app.inject({ method, url, headers: { ...who.auth, 'idempotency-key': randomUUID() }, ...(payload && { payload }) });
    assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json().data as Json & { id: string };
  };

  /** The newest event of `type` for the resource equals GET /v2/<path> of it now, minus links. */
  const assertEventIsResource = async (who: SignedUp, type: string, path: string, resourceId: string) => {
    const events = await t.app.inject({ method: 'GET', url: `/v2/events?type=${type}&sort=-sequence&limit=100`, headers: admin.auth });
    assert.equal(events.statusCode, 200, events.body);
    const event = (events.json().data as { resource_id: string; data: Json }[]).find((e) => e.resource_id === resourceId);
    assert.ok(event, `no ${type} for ${resourceId}`);
    const got = await t.app.inject({ method: 'GET', url: `/v2/${path}/${resourceId}`, headers: who.auth });
    assert.equal(got.statusCode, 200, got.body);
    assert.deepEqual(event.data, withoutLinks(got.json().data), type);
    checked.add(type);
  };

  it('is the resource exactly as GET /v2 returns it at the time of the event, without links, for every resource event type', async () => {
    await assertEventIsResource(ada, 'user.created', 'users', ada.id);

    const post = await send(ada, 'POST', '/v2/posts', { title: 'Hello', content: 'World' });
    await assertEventIsResource(ada, 'post.created', 'posts', post.id);
    await send(ada, 'PATCH', `/v2/posts/${post.id}`, { title: 'Hello again' });
    await assertEventIsResource(ada, 'post.updated', 'posts', post.id);

    // user.updated carries the public profile only: what another user's GET shows.
    await send(ada, 'PATCH', `/v2/users/${ada.id}`, { display_name: 'Ada L.' });
    const bob = await signUp(t.app, { name: 'Bob' });
    await assertEventIsResource(bob, 'user.updated', 'users', ada.id);
    const comment = await send(ada, 'POST', `/v2/posts/${post.id}/comments`, { content: 'First' });
    await assertEventIsResource(ada, 'comment.created', 'comments', comment.id);

    const product = await send(admin, 'POST', '/v2/products', { name: 'Mug', description: 'Blue', category: 'kitchen', price: 1250, currency: 'EUR', stock: 10 });
    await assertEventIsResource(ada, 'product.created', 'products', product.id);
    await send(admin, 'PATCH', `/v2/products/${product.id}`, { price: 1300 });
    await assertEventIsResource(ada, 'product.updated', 'products', product.id);

    const order = await send(ada, 'POST', '/v2/orders', { items: [{ product_id: product.id, quantity: 2 }] });
    await assertEventIsResource(ada, 'order.created', 'orders', order.id);
    await send(admin, 'PATCH', `/v2/orders/${order.id}`, { status: 'confirmed' });
    await assertEventIsResource(ada, 'order.status_changed', 'orders', order.id);
    await assertEventIsResource(ada, 'order.confirmed', 'orders', order.id);
    await send(ada, 'POST', `/v2/orders/${order.id}/cancel`);
    await assertEventIsResource(ada, 'order.cancelled', 'orders', order.id);

    const paidFor = await send(ada, 'POST', '/v2/orders', { items: [{ product_id: product.id, quantity: 1 }] });
    const charge = await send(ada, 'POST', '/v2/charges', { amount: 1300, currency: 'EUR', source: 'tok_slow', order_id: paidFor.id });
    await assertEventIsResource(ada, 'charge.created', 'charges', charge.id);
    const settle = (chargeId: string, status: 'succeeded' | 'failed') =>
      t.container.charges.applyOutcome({ webhookId: `msg_${randomUUID()}`, type: `charge.${status}`, chargeId, status, failureCode: status === 'failed' ? 'card_declined' : null, raw: '{}' });
    assert.equal(await settle(charge.id, 'succeeded'), 'applied');
    await assertEventIsResource(ada, 'charge.succeeded', 'charges', charge.id);
    // The charge confirmed its order in the same transaction.
    await assertEventIsResource(ada, 'order.status_changed', 'orders', paidFor.id);
    const declined = await send(ada, 'POST', '/v2/charges', { amount: 500, currency: 'EUR', source: 'tok_slow' });
    assert.equal(await settle(declined.id, 'failed'), 'applied');
    await assertEventIsResource(ada, 'charge.failed', 'charges', declined.id);

    // An endpoint whose attempts have failed for STOA_WEBHOOK_DISABLE_AFTER (5 days by default) is disabled, with an event.
    t.container.webhookResolver.current = async () => {
      throw new Error('no DNS in tests');
    };
    const endpoint = await send(ada, 'POST', '/v2/webhook-endpoints', { url: 'https://hooks.example.test/stoa', event_types: ['webhook.test'] });
    const test = await t.app.inject({ method: 'POST', url: `/v2/webhook-endpoints/${endpoint.id}/test`, headers: ada.auth });
    assert.equal(test.statusCode, 202, test.body);
    await t.container.webhooks.attempt(test.json().data.id);
    t.clock.advance(5 * 86_400_000 + 1_000);
    await t.container.webhooks.attempt(test.json().data.id);
    t.clock.advance(-(5 * 86_400_000 + 1_000)); // back, so that the access tokens are valid again
    await assertEventIsResource(ada, 'webhook_endpoint.disabled', 'webhook-endpoints', endpoint.id);

    assert.deepEqual([...checked].sort(), EVENT_TYPES.filter((type) => !NOT_RESOURCES.has(type)).sort(), 'every event type that carries a resource is checked');
  });

  it('a deletion records the resource as it was last shown, in the same transaction', async () => {
    const lastOf = async (type: string, id: string) => {
      const events = await t.app.inject({ method: 'GET', url: `/v2/events?type=${type}&sort=-sequence&limit=100`, headers: admin.auth });
      return (events.json().data as { resource_id: string; data: Json }[]).find((e) => e.resource_id === id);
    };
    const post = await send(ada, 'POST', '/v2/posts', { title: 'Going', content: 'soon' });
    const comment = await send(ada, 'POST', `/v2/posts/${post.id}/comments`, { content: 'bye' });
    const product = await send(admin, 'POST', '/v2/products', { name: 'Gone', category: 'kitchen', price: 100, currency: 'EUR', stock: 1 });
    for (const [type, path, resource, who] of [['comment.deleted', 'comments', comment, ada], ['post.deleted', 'posts', post, ada], ['product.deleted', 'products', product, admin]] as const) {
      const shown = withoutLinks((await t.app.inject({ method: 'GET', url: `/v2/${path}/${resource.id}`, headers: who.auth })).json().data);
      const res = await t.app.inject({ method: 'DELETE', url: `/v2/${path}/${resource.id}`, headers: who.auth });
      assert.equal(res.statusCode, 204, res.body);
      const event = await lastOf(type, resource.id);
      assert.ok(event, `no ${type}`);
      assert.deepEqual(event.data, shown, type);
    }
    // A refused deletion records nothing.
    const other = await send(admin, 'POST', '/v2/posts', { title: 'Admin', content: 'post' });
    const refused = await t.app.inject({ method: 'DELETE', url: `/v2/posts/${other.id}`, headers: ada.auth });
    assert.equal(refused.statusCode, 403);
    assert.equal(await lastOf('post.deleted', other.id), undefined);
  });

  it('EventType is a closed union: an unknown type does not compile', () => {
    // @ts-expect-error not one of EVENT_TYPES (typecheck fails if this line compiles)
    const unknown: EventType = 'order.exploded';
    assert.ok(!(EVENT_TYPES as readonly string[]).includes(unknown));
  });
});

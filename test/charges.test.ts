import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { attachPaymentProcessor, standardWebhooks, type AttachedProcessor } from '../src/infra/payment-processor/index.ts';
import { createTestApp, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

const SECRET = 'whsec_' + Buffer.from('a test secret of thirty-two bytes!').toString('base64');
const WEBHOOK = '/v1/webhooks/payment-processor';

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('charges and the payment processor', () => {
  let t: TestApp;
  let processor: AttachedProcessor;
  let ada: SignedUp;
  let bob: SignedUp;
  let admin: SignedUp;
  before(async () => {
    t = await createTestApp({ STOA_PROCESSOR_WEBHOOK_SECRET: SECRET, STOA_PROCESSOR_LATENCY_MS: '10', STOA_PROCESSOR_SLOW_MS: '1500' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as { port: number };
    const { config, container } = t;
    processor = await attachPaymentProcessor(
      { charges: container.charges, gateway: container.processorGateway, clock: container.clock },
      { ...config.processor, processorUrl: config.processor.url, publicUrl: config.publicUrl },
      `http://127.0.0.1:${port}`,
    );
    ada = await signUp(t.app, { name: 'Ada' });
    bob = await signUp(t.app, { name: 'Bob' });
    admin = await signUpAdmin(t);
  });
  after(async () => {
    await processor.close();
    await t.close();
  });

  const create = async (who: SignedUp, payload: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/charges', headers: { ...who.auth, 'idempotency-key': randomUUID() }, payload });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().data as { id: string; status: string; failure_code: string | null; order_id: string | null };
  };
  const get = (who: SignedUp, url: string) => t.app.inject({ method: 'GET', url, headers: who.auth });
  const settled = (who: SignedUp, id: string) =>
    eventually(async () => (await get(who, `/v1/charges/${id}`)).json().data as { status: string; failure_code: string | null }, (c) => c.status !== 'pending');
  const eventsOf = async (type: string, resourceId: string) =>
    (await t.container.database.db.selectFrom('events').select('type').where('type', '=', type).where('resource_id', '=', resourceId).execute()).length;
  const signed = (body: string, options: { id?: string; at?: number; secret?: string } = {}) =>
    standardWebhooks.signedHeaders(options.secret ?? SECRET, options.id ?? `msg_${randomUUID()}`, options.at ?? Math.floor(t.clock.now().getTime() / 1000), body);
  const deliver = (body: string, headers: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: WEBHOOK, headers: { 'content-type': 'application/json', ...headers }, payload: body });

  describe('POST /v1/charges', () => {
    it('answers 201 with a pending ch_ charge and Location; tok_visa then succeeds, with charge.succeeded', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/charges', headers: { ...ada.auth, 'idempotency-key': randomUUID() }, payload: { amount: 500, currency: 'EUR', source: 'tok_visa', description: 'coffee' } });
      assert.equal(res.statusCode, 201, res.body);
      const charge = res.json().data;
      assert.match(charge.id, /^ch_/);
      assert.equal(charge.status, 'pending');
      assert.equal(charge.amount, 500);
      assert.ok(res.headers.location);
      const final = await settled(ada, charge.id);
      assert.equal(final.status, 'succeeded');
      assert.equal(final.failure_code, null);
      assert.equal(await eventsOf('charge.succeeded', charge.id), 1);
    });

    for (const [source, code] of [['tok_declined', 'card_declined'], ['tok_insufficient_funds', 'insufficient_funds']] as const) {
      it(`${source} fails with failure_code ${code} and a charge.failed event`, async () => {
        const charge = await create(ada, { amount: 100, currency: 'EUR', source });
        const final = await settled(ada, charge.id);
        assert.equal(final.status, 'failed');
        assert.equal(final.failure_code, code);
        assert.equal(await eventsOf('charge.failed', charge.id), 1);
      });
    }

    it('tok_error fails transiently at the processor, is retried and succeeds', async () => {
      const charge = await create(ada, { amount: 100, currency: 'EUR', source: 'tok_error' });
      assert.equal((await settled(ada, charge.id)).status, 'succeeded');
    });

    it('tok_slow stays pending for a while, then succeeds', async () => {
      const charge = await create(ada, { amount: 100, currency: 'EUR', source: 'tok_slow' });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await get(ada, `/v1/charges/${charge.id}`)).json().data.status, 'pending');
      assert.equal((await settled(ada, charge.id)).status, 'succeeded');
    });

    it("a successful charge confirms its pending order, with order.status_changed in the same transaction", async () => {
      const product = await t.app.inject({ method: 'POST', url: '/v1/products', headers: admin.auth, payload: { name: 'Lamp', category: 'charges', price: 2500, currency: 'EUR', stock: 3 } });
      const order = await t.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...ada.auth, 'idempotency-key': randomUUID() }, payload: { items: [{ product_id: product.json().data.id, quantity: 1 }] } });
      assert.equal(order.statusCode, 201, order.body);
      const orderId = order.json().data.id;
      const charge = await create(ada, { amount: 2500, currency: 'EUR', source: 'tok_visa', order_id: orderId });
      assert.equal(charge.order_id, orderId);
      assert.equal((await settled(ada, charge.id)).status, 'succeeded');
      assert.equal((await get(ada, `/v1/orders/${orderId}`)).json().data.status, 'confirmed');
      assert.equal(await eventsOf('order.status_changed', orderId), 1);
    });

    it("refuses someone else's order as 422 and an invalid body as 422", async () => {
      const product = await t.app.inject({ method: 'POST', url: '/v1/products', headers: admin.auth, payload: { name: 'Pen', category: 'charges', price: 100, currency: 'EUR', stock: 3 } });
      const order = await t.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...ada.auth, 'idempotency-key': randomUUID() }, payload: { items: [{ product_id: product.json().data.id, quantity: 1 }] } });
      const res = await t.app.inject({ method: 'POST', url: '/v1/charges', headers: { ...bob.auth, 'idempotency-key': randomUUID() }, payload: { amount: 100, currency: 'EUR', source: 'tok_visa', order_id: order.json().data.id } });
      assert.equal(res.statusCode, 422);
      const bad = await t.app.inject({ method: 'POST', url: '/v1/charges', headers: { ...bob.auth, 'idempotency-key': randomUUID() }, payload: { amount: 0, currency: 'EUR', source: 'tok_visa' } });
      assert.equal(bad.statusCode, 422);
      assert.equal(problemOf(bad).code, 'VALIDATION_FAILED');
    });
  });

  describe('GET /v1/charges and /v1/charges/{id}', () => {
    it("shows owners their charges and administrators every charge; another user's charge is 404", async () => {
      const mine = await create(bob, { amount: 42, currency: 'USD', source: 'tok_visa' });
      assert.equal((await get(bob, `/v1/charges/${mine.id}`)).statusCode, 200);
      assert.equal((await get(ada, `/v1/charges/${mine.id}`)).statusCode, 404);
      assert.equal((await get(admin, `/v1/charges/${mine.id}`)).statusCode, 200);
      const list = await get(bob, '/v1/charges');
      assert.equal(list.statusCode, 200, list.body);
      const ids = list.json().data.map((c: { id: string }) => c.id);
      assert.ok(ids.includes(mine.id));
      assert.ok((await get(ada, '/v1/charges')).json().data.every((c: { user_id: string }) => c.user_id === ada.id));
      assert.ok((await get(admin, '/v1/charges?limit=100')).json().data.some((c: { id: string }) => c.id === mine.id));
      assert.equal((await get(bob, '/v1/charges?limit=1')).json().data.length, 1);
    });
  });

  describe('POST /v1/webhooks/payment-processor', () => {
    const pendingCharge = async () => {
      // A charge the processor never hears of: created while the gateway points nowhere useful.
      const charge = await create(ada, { amount: 77, currency: 'EUR', source: 'tok_slow' });
      return charge.id;
    };
    const outcome = (chargeId: string, status = 'succeeded') => JSON.stringify({ type: `charge.${status}`, data: { charge_id: chargeId, status, failure_code: status === 'failed' ? 'card_declined' : null } });

    it('refuses a missing or wrong signature with 401 WEBHOOK_SIGNATURE_INVALID and changes nothing', async () => {
      const id = await pendingCharge();
      const body = outcome(id);
      const missing = await deliver(body, {});
      assert.equal(missing.statusCode, 401);
      assert.equal(problemOf(missing).code, 'WEBHOOK_SIGNATURE_INVALID');
      const wrongSecret = await deliver(body, signed(body, { secret: 'whsec_' + Buffer.from('another secret, thirty-two bytes').toString('base64') }));
      assert.equal(wrongSecret.statusCode, 401);
      const tampered = await deliver(body.replace('succeeded', 'failed').replace('succeeded', 'failed'), signed(body));
      assert.equal(tampered.statusCode, 401);
      assert.equal((await get(ada, `/v1/charges/${id}`)).json().data.status, 'pending');
    });

    it('accepts a timestamp within ±5 minutes and refuses one outside', async () => {
      const id = await pendingCharge();
      const body = outcome(id, 'failed');
      // Whole seconds from a clock that keeps running: stay clear of the ±300 s edges by more than the rounding.
      const now = Math.floor(t.clock.now().getTime() / 1000);
      const stale = await deliver(body, signed(body, { at: now - 310 }));
      assert.equal(stale.statusCode, 401);
      assert.equal(problemOf(stale).reason, 'timestamp_out_of_tolerance');
      const future = await deliver(body, signed(body, { at: now + 310 }));
      assert.equal(future.statusCode, 401);
      assert.equal((await get(ada, `/v1/charges/${id}`)).json().data.status, 'pending');
      const late = await deliver(body, signed(body, { at: now - 290 }));
      assert.equal(late.statusCode, 200, late.body);
      const charge = (await get(ada, `/v1/charges/${id}`)).json().data;
      assert.equal(charge.status, 'failed');
      assert.equal(charge.failure_code, 'card_declined');
    });

    it('processes each webhook-id once: a redelivery answers 200 and changes nothing', async () => {
      const id = await pendingCharge();
      const body = outcome(id);
      const headers = signed(body);
      const first = await deliver(body, headers);
      assert.equal(first.statusCode, 200);
      assert.equal(first.json().data.duplicate, false);
      const again = await deliver(body, headers);
      assert.equal(again.statusCode, 200);
      assert.equal(again.json().data.duplicate, true);
      assert.equal(await eventsOf('charge.succeeded', id), 1);
      const stored = await t.container.database.db.selectFrom('processor_events').select('payload').where('webhook_id', '=', headers['webhook-id']!).execute();
      assert.deepEqual(stored.map((r) => r.payload), [body]);
    });
  });
});

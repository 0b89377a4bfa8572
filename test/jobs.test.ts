import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { WorkRunner } from '../src/platform/jobs/index.ts';
import { createWorker } from '../src/workers/index.ts';
import { world, type World } from './helpers/world.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > until) throw new Error(`condition not met in time; last value ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

const today = () => new Date().toISOString().slice(0, 10);

describe('jobs and reports', () => {
  let w: World;
  let server: Server;
  let port = 0;
  const callbacks: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        callbacks.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    w = await world({ env: { STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32', STOA_WORKER_POLL_MS: '50', STOA_REPORT_STEP_ORDERS: '2', STOA_WEBHOOK_RETRY_SCHEDULE: '100ms' } });
  });
  after(async () => {
    await w.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const report = (who: { authorization: string }, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    w.app.inject({ method: 'POST', url: '/v1/reports', headers: { ...who, ...headers }, payload });
  const job = async (who: { authorization: string }, id: string) => w.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: who });

  it('POST /v1/reports answers 202 with Location, Retry-After and the queued job', async () => {
    const res = await report(w.ada.auth, { type: 'sales', from: '2026-01-01', to: today() });
    assert.equal(res.statusCode, 202, res.body);
    const data = res.json().data;
    assert.match(data.id, /^job_/);
    assert.equal(res.headers.location, `/v1/jobs/${data.id}`);
    assert.match(String(res.headers['retry-after']), /^\d+$/);
    assert.equal(data.type, 'report.sales');
    assert.equal(data.status, 'queued');
    assert.equal(data.progress, 0);
    assert.equal(data.started_at, null);
    assert.equal(data.finished_at, null);
    assert.equal(data.error, null);
    assert.equal(data.links.self, `/v1/jobs/${data.id}`);
    assert.equal(data.links.cancel, `/v1/jobs/${data.id}`);
    assert.equal(data.links.result, undefined);
    assert.equal(data.callback_secret, undefined);
    const got = await job(w.ada.auth, data.id);
    assert.equal(got.statusCode, 200);
    assert.match(String(got.headers['retry-after']), /^\d+$/);
    // Before it has succeeded the report is 409 JOB_NOT_FINISHED with the job's link.
    const early = await w.app.inject({ method: 'GET', url: `/v1/reports/${data.id}`, headers: w.ada.auth });
    assert.equal(early.statusCode, 409);
    assert.equal(early.json().code, 'JOB_NOT_FINISHED');
    assert.equal(early.json().links.job, `/v1/jobs/${data.id}`);
    // Others: 404; administrators see it.
    assert.equal((await job(w.bob.auth, data.id)).statusCode, 404);
    assert.equal((await w.app.inject({ method: 'GET', url: `/v1/reports/${data.id}`, headers: w.bob.auth })).statusCode, 404);
    assert.equal((await w.app.inject({ method: 'DELETE', url: `/v1/jobs/${data.id}`, headers: w.bob.auth })).statusCode, 404);
    assert.equal((await job(w.admin.auth, data.id)).statusCode, 200);
    assert.equal((await job(w.ada.auth, 'job_nope')).statusCode, 404);
  });

  it('refuses bad input with 422 and field codes', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ from: '2026-01-01', to: '2026-01-02' }, 'type', 'required'],
      [{ type: 'inventory', from: '2026-01-01', to: '2026-01-02' }, 'type', 'invalid_value'],
      [{ type: 'sales', from: '01/02/2026', to: '2026-01-02' }, 'from', 'invalid_format'],
      [{ type: 'sales', from: '2026-02-01', to: '2026-01-01' }, 'from', 'invalid_range'],
      [{ type: 'sales', from: '2026-01-01', to: '2026-01-02', callback_url: 'http://10.0.0.1/cb' }, 'callback_url', 'forbidden_address'],
      [{ type: 'sales', from: '2026-01-01', to: '2026-01-02', callback_url: 'http://[::ffff:169.254.169.254]/cb' }, 'callback_url', 'forbidden_address'],
      [{ type: 'sales', from: '2026-01-01', to: '2026-01-02', callback_url: 'ftp://example.com/cb' }, 'callback_url', 'invalid_value'],
      [{ type: 'sales', from: '2026-01-01', to: '2026-01-02', extra: true }, 'extra', 'unknown_field'],
    ];
    for (const [payload, field, code] of cases) {
      const res = await report(w.ada.auth, payload);
      assert.equal(res.statusCode, 422, `${JSON.stringify(payload)}: ${res.body}`);
      assert.ok(res.json().errors.some((e: { field: string; code: string }) => e.field === field && e.code === code), `${JSON.stringify(payload)} → ${res.body}`);
    }
  });

  it('honours Idempotency-Key', async () => {
    const key = randomUUID();
    const first = await report(w.ada.auth, { type: 'sales', from: '2026-01-01', to: '2026-01-31' }, { 'idempotency-key': key });
    const again = await report(w.ada.auth, { type: 'sales', from: '2026-01-01', to: '2026-01-31' }, { 'idempotency-key': key });
    assert.equal(first.statusCode, 202);
    assert.equal(again.statusCode, 202);
    assert.equal(again.json().data.id, first.json().data.id);
    assert.equal(again.headers['idempotent-replayed'], 'true');
  });

  it('runs in steps that each commit: progress rises, and the report covers non-cancelled orders per currency, by day and by product', async () => {
    const eur = await w.product({ price: 300, currency: 'EUR', stock: 100 });
    const usd = await w.product({ price: 1000, currency: 'USD', stock: 100 });
    await w.order(w.ada, [{ product_id: eur, quantity: 2 }]);
    await w.order(w.ada, [{ product_id: eur, quantity: 1 }]);
    await w.order(w.ada, [{ product_id: usd, quantity: 3 }]);
    const cancelled = await w.order(w.ada, [{ product_id: eur, quantity: 5 }]);
    assert.equal((await w.app.inject({ method: 'POST', url: `/v1/orders/${cancelled.id}/cancel`, headers: { ...w.ada.auth, 'idempotency-key': randomUUID() } })).statusCode, 200);
    await w.order(w.bob, [{ product_id: eur, quantity: 7 }]);
    const created = (await report(w.ada.auth, { type: 'sales', from: today(), to: today() })).json().data;
    // One step (two orders) at a time, by hand: the job is running, part done.
    const first = await w.t.container.jobs.step(created.id);
    assert.equal(first.state, 'queued');
    const running = (await job(w.ada.auth, created.id)).json().data;
    assert.equal(running.status, 'running');
    assert.ok(running.progress > 0 && running.progress < 100, String(running.progress));
    assert.ok(running.started_at);
    while ((await w.t.container.jobs.step(created.id)).state === 'queued');
    const done = (await job(w.ada.auth, created.id)).json().data;
    assert.equal(done.status, 'succeeded');
    assert.equal(done.progress, 100);
    assert.ok(done.finished_at);
    assert.equal(done.links.result, `/v1/reports/${created.id}`);
    assert.equal(done.links.cancel, undefined);
    const body = (await w.app.inject({ method: 'GET', url: `/v1/reports/${created.id}`, headers: w.ada.auth })).json().data;
    assert.equal(body.scope, 'user');
    assert.deepEqual(body.totals, [
      { currency: 'EUR', orders: 2, amount: 900 },
      { currency: 'USD', orders: 1, amount: 3000 },
    ]);
    assert.deepEqual(body.by_day, [
      { day: today(), currency: 'EUR', orders: 2, amount: 900 },
      { day: today(), currency: 'USD', orders: 1, amount: 3000 },
    ]);
    assert.deepEqual(
      body.by_product.filter((p: { product_id: string }) => [eur, usd].includes(p.product_id)),
      [
        { product_id: eur, currency: 'EUR', quantity: 3, amount: 900 },
        { product_id: usd, currency: 'USD', quantity: 3, amount: 3000 },
      ].sort((a, b) => a.product_id.localeCompare(b.product_id)),
    );
    const csv = await w.app.inject({ method: 'GET', url: `/v1/reports/${created.id}`, headers: { ...w.ada.auth, accept: 'text/csv' } });
    assert.equal(csv.statusCode, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(csv.body, /^section,day,product_id,currency,orders,quantity,amount/);
    assert.match(csv.body, new RegExp(`product,,${eur},EUR,,3,900`));
    // An administrator's report covers the whole shop (bob's order too).
    const shop = (await report(w.admin.auth, { type: 'sales', from: today(), to: today() })).json().data;
    while ((await w.t.container.jobs.step(shop.id)).state === 'queued');
    const shopReport = (await w.app.inject({ method: 'GET', url: `/v1/reports/${shop.id}`, headers: w.admin.auth })).json().data;
    assert.equal(shopReport.scope, 'shop');
    assert.ok(shopReport.by_product.some((p: { product_id: string; quantity: number }) => p.product_id === eur && p.quantity === 10));
  });

  it('DELETE cancels a queued or running job (200 cancelled); a finished job is 409', async () => {
    const created = (await report(w.ada.auth, { type: 'sales', from: '2026-01-01', to: today() })).json().data;
    const res = await w.app.inject({ method: 'DELETE', url: `/v1/jobs/${created.id}`, headers: w.ada.auth });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().data.status, 'cancelled');
    assert.ok(res.json().data.finished_at);
    assert.equal(res.json().data.links.cancel, undefined);
    const again = await w.app.inject({ method: 'DELETE', url: `/v1/jobs/${created.id}`, headers: w.ada.auth });
    assert.equal(again.statusCode, 409);
    assert.equal((await w.t.container.jobs.step(created.id)).state, 'done', 'a cancelled job does not run');
    assert.equal((await job(w.ada.auth, created.id)).json().data.status, 'cancelled');
    assert.equal((await w.app.inject({ method: 'GET', url: `/v1/reports/${created.id}`, headers: w.ada.auth })).json().code, 'JOB_NOT_FINISHED');
  });

  it('a worker finishes the job and POSTs a callback signed with the callback_secret', async () => {
    const created = await report(w.ada.auth, { type: 'sales', from: today(), to: today(), callback_url: `http://127.0.0.1:${port}/done` });
    assert.equal(created.statusCode, 202);
    const secret = created.json().data.callback_secret as string;
    assert.match(secret, /^whsec_/);
    assert.equal((await job(w.ada.auth, created.json().data.id)).json().data.callback_secret, undefined, 'shown once');
    const worker: WorkRunner = createWorker(w.t.container);
    await worker.start();
    try {
      const [cb] = await eventually(() => callbacks, (c) => c.length === 1);
      const payload = new Webhook(secret).verify(cb!.body, cb!.headers as Record<string, string>) as { id: string; type: string; timestamp: string; data: { id: string; status: string; links: { result: string } } };
      assert.equal(payload.type, 'job.succeeded');
      assert.equal(payload.data.id, created.json().data.id);
      assert.equal(payload.data.status, 'succeeded');
      assert.equal(payload.data.links.result, `/v1/reports/${payload.data.id}`);
      assert.equal(cb!.headers['webhook-id'], payload.id);
      assert.ok(!Number.isNaN(Date.parse(payload.timestamp)));
    } finally {
      await worker.stop(100);
    }
  });

  it('callbacks for a cancelled and a failed job: job.cancelled and job.failed, signed, with the job (a problem object as error)', async () => {
    const cancelled = (await report(w.ada.auth, { type: 'sales', from: today(), to: today(), callback_url: `http://127.0.0.1:${port}/cancelled` })).json().data;
    const failed = (await report(w.ada.auth, { type: 'sales', from: today(), to: today(), callback_url: `http://127.0.0.1:${port}/failed` })).json().data;
    assert.equal((await w.app.inject({ method: 'DELETE', url: `/v1/jobs/${cancelled.id}`, headers: w.ada.auth })).statusCode, 200);
    // A failure is what the worker records when a step throws something it cannot get past.
    await w.t.container.jobs.fail(failed.id, 'the report could not be computed');
    const before = callbacks.length;
    const worker: WorkRunner = createWorker(w.t.container);
    await worker.start();
    try {
      const got = await eventually(
        () => callbacks.slice(before),
        (c) => c.length >= 2,
      );
      const verify = (job: { id: string; callback_secret: string }) => {
        const cb = got.find((c) => c.body.includes(job.id));
        assert.ok(cb, `a callback for ${job.id}`);
        return new Webhook(job.callback_secret).verify(cb.body, cb.headers as Record<string, string>) as { type: string; data: { id: string; status: string; error: { code: string } | null; links: Record<string, string> } };
      };
      const c = verify(cancelled);
      assert.equal(c.type, 'job.cancelled');
      assert.equal(c.data.status, 'cancelled');
      assert.equal(c.data.links.cancel, undefined);
      const f = verify(failed);
      assert.equal(f.type, 'job.failed');
      assert.equal(f.data.status, 'failed');
      assert.equal(f.data.error?.code, 'INTERNAL_ERROR');
      assert.equal(f.data.links.result, undefined);
    } finally {
      await worker.stop(100);
    }
  });
});

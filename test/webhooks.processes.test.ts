import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { createScratchSchema } from './helpers/pg-schema.ts';

const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'webhooks-processes' }]);
const BASE_ENV = {
  STOA_JWT_KEYS: JWT_KEYS,
  STOA_RATE_LIMIT: 'off',
  STOA_LOAD_SHEDDING: 'off',
  STOA_SEED_DEMO: 'false',
  STOA_PASSWORD_HASH_COST: '12',
  STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
  STOA_WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms,200ms',
  STOA_WEBHOOK_TIMEOUT_MS: '20000',
  STOA_WORKER_POLL_MS: '50',
  STOA_WORKER_LEASE_MS: '1500',
  STOA_REPORT_STEP_ORDERS: '1',
  STOA_ADMIN_EMAIL: 'ops@example.com',
  STOA_ADMIN_PASSWORD: 'operations password 1',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > until) throw new Error(`condition not met in time; last value ${JSON.stringify(value).slice(0, 500)}`);
    await sleep(50);
  }
}

/** Records every request; holds `/hold` requests until released; counts overlapping attempts of one webhook-id. */
class Receiver {
  readonly received: Array<{ path: string; headers: IncomingHttpHeaders; body: string }> = [];
  readonly inFlight = new Map<string, number>();
  overlaps = 0;
  held: ServerResponse[] = [];
  hold = false;
  #server: Server | undefined;
  port = 0;
  async start() {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        // One delivery = one endpoint (path) and one event (webhook-id).
        const id = `${req.url}|${String(req.headers['webhook-id'])}`;
        const n = (this.inFlight.get(id) ?? 0) + 1;
        this.inFlight.set(id, n);
        if (n > 1) this.overlaps++;
        this.received.push({ path: req.url ?? '', headers: req.headers, body });
        const finish = () => {
          this.inFlight.set(id, (this.inFlight.get(id) ?? 1) - 1);
          res.writeHead(200).end();
        };
        if (this.hold && req.url === '/hold') {
          this.held.push(res);
          res.on('close', () => this.inFlight.set(id, (this.inFlight.get(id) ?? 1) - 1));
        } else setTimeout(finish, 20);
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as { port: number }).port;
  }
  at(p: string) {
    return this.received.filter((r) => r.path === p);
  }
  async close() {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server?.close(r));
  }
}

async function signUp(url: string): Promise<string> {
  const email = `w.${randomUUID()}@example.com`;
  const password = 'correct horse battery staple';
  const created = await fetch(`${url}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'W', password }) });
  assert.equal(created.status, 201);
  const login = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  return `Bearer ${((await login.json()) as { data: { access_token: string } }).data.access_token}`;
}

const api = async (url: string, auth: string, method: string, p: string, body?: unknown) => {
  const res = await fetch(`${url}${p}`, { method, headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: (await res.json().catch(() => null)) as { data: Record<string, unknown> & { id: string } } };
};

const killed = async (p: StoaProcess) => {
  p.child.kill('SIGKILL');
  await new Promise((r) => (p.child.exitCode !== null || p.child.signalCode !== null ? r(null) : p.child.once('exit', r)));
};

async function schemaEnv(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const scratch = await createScratchSchema('whk');
  return { env: { DATABASE_URL: scratch.databaseUrl }, drop: scratch.drop };
}

describe('workers as processes', () => {
  const receiver = new Receiver();
  const processes: StoaProcess[] = [];
  let store: { env: Record<string, string>; drop(): Promise<void> };
  let dataDir: string | undefined;
  const onPostgres = Boolean(process.env.DATABASE_URL);

  before(async () => {
    await receiver.start();
    if (onPostgres) store = await schemaEnv();
    else {
      dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-webhooks-'));
      store = { env: { STOA_DATA_DIR: dataDir }, drop: async () => rmSync(dataDir!, { recursive: true, force: true }) };
    }
  });
  after(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await receiver.close();
    await store.drop();
  });

  const start = async (role: string, extra: Record<string, string> = {}) => {
    const p = await startStoa({ ...BASE_ENV, ...store.env, STOA_ROLE: role, ...extra });
    processes.push(p);
    return p;
  };

  it('kill -9 mid-delivery and mid-report: every delivery arrives (duplicates share webhook-id), every job finishes', { timeout: 120_000 }, async () => {
    // Embedded: one process (all) at a time on the data dir, restarted. PostgreSQL: an API process and a worker, the worker replaced.
    let apiProcess = await start(onPostgres ? 'api' : 'all');
    let worker = onPostgres ? await start('worker') : apiProcess;
    const auth = await signUp(apiProcess.url);
    const endpoint = await api(apiProcess.url, auth, 'POST', '/v1/webhook-endpoints', { url: `http://127.0.0.1:${receiver.port}/hold`, event_types: ['post.created'] });
    assert.equal(endpoint.status, 201);
    const secret = endpoint.json.data.secret as string;
    receiver.hold = true;
    const post = await api(apiProcess.url, auth, 'POST', '/v1/posts', { title: 'in flight when the worker dies', content: 'x' });
    assert.equal(post.status, 201);
    await eventually(() => receiver.at('/hold').length, (n) => n === 1);
    // The worker is in the middle of the attempt: kill it.
    await killed(worker);
    receiver.hold = false;
    for (const r of receiver.held) r.destroy();
    // The next worker holds a job once it has committed HOLD_AFTER of its steps (a test-only switch), so the kill below falls between two steps.
    const HOLD_AFTER = 5;
    const hold = { STOA_TEST_HOLD_JOB_AFTER_STEP: String(HOLD_AFTER) };
    if (onPostgres) worker = await start('worker', hold);
    else apiProcess = worker = await start('all', hold);
    const arrived = await eventually(() => receiver.at('/hold'), (r) => r.length >= 2);
    assert.equal(new Set(arrived.map((r) => r.headers['webhook-id'])).size, 1, 'the duplicate carries the same webhook-id');
    const payload = new Webhook(secret).verify(arrived.at(-1)!.body, arrived.at(-1)!.headers as Record<string, string>) as { data: { id: string } };
    assert.equal(payload.data.id, post.json.data.id);
    const log = await eventually(
      async () => (await api(apiProcess.url, auth, 'GET', `/v1/webhook-endpoints/${endpoint.json.data.id}/deliveries`)).json.data as unknown as Array<{ status: string }>,
      (ds) => ds[0]?.status === 'succeeded',
    );
    assert.equal(log.length, 1);

    // A report in steps of one order: the worker is killed between two of its steps, another finishes it.
    const login = await fetch(`${apiProcess.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: BASE_ENV.STOA_ADMIN_EMAIL, password: BASE_ENV.STOA_ADMIN_PASSWORD }) });
    const admin = `Bearer ${((await login.json()) as { data: { access_token: string } }).data.access_token}`;
    const product = await api(apiProcess.url, admin, 'POST', '/v1/products', { name: 'Report fodder', category: 'reports', price: 250, currency: 'EUR', stock: 1000 });
    assert.equal(product.status, 201);
    const ORDERS = 40;
    for (let i = 0; i < ORDERS; i++) {
      const res = await fetch(`${apiProcess.url}/v1/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth, 'idempotency-key': randomUUID() },
        body: JSON.stringify({ items: [{ product_id: product.json.data.id, quantity: 1 }] }),
      });
      assert.equal(res.status, 201);
    }
    const created = await api(apiProcess.url, auth, 'POST', '/v1/reports', { type: 'sales', from: '2026-01-01', to: new Date().toISOString().slice(0, 10) });
    assert.equal(created.status, 202);
    const jobId = created.json.data.id;
    // The worker says it holds the job after step HOLD_AFTER; the job row shows those steps committed and the job still running.
    const held = worker;
    await eventually(() => held.output(), (out) => out.includes(`job ${jobId} held after step ${HOLD_AFTER}`), 30_000);
    const atKill = (await api(apiProcess.url, auth, 'GET', `/v1/jobs/${jobId}`)).json.data;
    assert.equal(atKill.status, 'running');
    assert.equal(atKill.progress, Math.floor((HOLD_AFTER / ORDERS) * 100), 'exactly HOLD_AFTER steps of one order committed');
    await killed(worker);
    // Another worker takes the claim over once its lease expires and resumes from the last committed step.
    if (onPostgres) worker = await start('worker');
    else apiProcess = worker = await start('all');
    const done = await eventually(async () => (await api(apiProcess.url, auth, 'GET', `/v1/jobs/${jobId}`)).json.data, (j) => j.status === 'succeeded');
    assert.equal(done.progress, 100);
    const reportRes = await api(apiProcess.url, auth, 'GET', `/v1/reports/${jobId}`);
    assert.equal(reportRes.status, 200);
    // Every order counted exactly once: none lost with the killed worker, none counted again by the next.
    const report = reportRes.json.data as unknown as { totals: unknown[]; by_product: unknown[] };
    assert.deepEqual(report.totals, [{ currency: 'EUR', orders: ORDERS, amount: ORDERS * 250 }]);
    assert.deepEqual(report.by_product, [{ product_id: product.json.data.id, currency: 'EUR', quantity: ORDERS, amount: ORDERS * 250 }]);
    assert.equal(done.progress, 100);
    for (const p of [apiProcess, worker]) if (p.child.exitCode === null) await p.stop();
  });

  it('two workers and one API process on PostgreSQL: every event delivered, none by both workers at once', { skip: !onPostgres && 'needs PostgreSQL (several processes share the queue)', timeout: 120_000 }, async () => {
    const apiProcess = await start('api');
    const workers = [await start('worker'), await start('worker')];
    const auth = await signUp(apiProcess.url);
    const endpoints = [];
    for (let i = 0; i < 3; i++) {
      const e = await api(apiProcess.url, auth, 'POST', '/v1/webhook-endpoints', { url: `http://127.0.0.1:${receiver.port}/many-${i}`, event_types: ['post.created'] });
      assert.equal(e.status, 201);
      endpoints.push(e.json.data);
    }
    const overlapsBefore = receiver.overlaps;
    const posts = 25;
    for (let i = 0; i < posts; i++) assert.equal((await api(apiProcess.url, auth, 'POST', '/v1/posts', { title: `post ${i}`, content: 'x' })).status, 201);
    for (let i = 0; i < 3; i++) {
      const got = await eventually(() => receiver.at(`/many-${i}`), (r) => new Set(r.map((x) => x.headers['webhook-id'])).size === posts, 60_000);
      assert.equal(got.length, posts, `endpoint ${i}: each event once`);
    }
    assert.equal(receiver.overlaps, overlapsBefore, 'no attempt of one delivery ran in two workers at once');
    for (const e of endpoints) {
      // The receiver has answered every attempt; the worker records the outcome just after.
      const log = await eventually(
        async () => (await api(apiProcess.url, auth, 'GET', `/v1/webhook-endpoints/${e.id}/deliveries?limit=100`)).json.data as unknown as Array<{ status: string; attempts: number }>,
        (ds) => ds.length === posts && ds.every((d) => d.status !== 'pending'),
      );
      assert.deepEqual(
        log.filter((d) => d.status !== 'succeeded' || d.attempts !== 1),
        [],
        'every delivery succeeded at its first attempt',
      );
    }
    await Promise.all([apiProcess, ...workers].map((p) => p.stop()));
  });
});

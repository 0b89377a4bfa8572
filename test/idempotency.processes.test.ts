import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { createScratchSchema } from './helpers/pg-schema.ts';

// Processes of one deployment share their signing keys (a token from one verifies on the other, and after a restart).
const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'idem-test' }]);
const BASE_ENV = { STOA_JWT_KEYS: JWT_KEYS, STOA_RATE_LIMIT: 'off', STOA_LOAD_SHEDDING: 'off', STOA_SEED_DEMO: 'false', STOA_PASSWORD_HASH_COST: '12', STOA_PROCESSOR_SLOW_MS: '3000' };
const CHARGE = JSON.stringify({ amount: 1234, currency: 'EUR', source: 'tok_slow' });

/** A schema of its own on the shared server, like test/process.test.ts. */
async function schemaEnv(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const scratch = await createScratchSchema('idem');
  return { env: { DATABASE_URL: scratch.databaseUrl }, drop: scratch.drop };
}

async function signUp(url: string): Promise<string> {
  const email = `p.${randomUUID()}@example.com`;
  const password = 'correct horse battery staple';
  const created = await fetch(`${url}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'P', password }) });
  assert.equal(created.status, 201);
  const login = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  return `Bearer ${((await login.json()) as { data: { access_token: string } }).data.access_token}`;
}

const postCharge = (url: string, auth: string, key: string) =>
  fetch(`${url}/v1/charges`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth, 'idempotency-key': key }, body: CHARGE });

const postOrder = (url: string, auth: string, key: string, product: string) =>
  fetch(`${url}/v1/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: auth, 'idempotency-key': key },
    body: JSON.stringify({ items: [{ product_id: product, quantity: 2 }] }),
  });

async function bearer(url: string, email: string, password: string): Promise<string> {
  const login = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  return `Bearer ${((await login.json()) as { data: { access_token: string } }).data.access_token}`;
}

async function createProduct(url: string, auth: string, stock: number): Promise<string> {
  const res = await fetch(`${url}/v1/products`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: auth },
    body: JSON.stringify({ name: 'Held', category: 'idem', price: 700, currency: 'EUR', stock }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { data: { id: string } }).data.id;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function charges(url: string, auth: string): Promise<Array<{ id: string; status: string }>> {
  const res = await fetch(`${url}/v1/charges?limit=100`, { headers: { authorization: auth } });
  return ((await res.json()) as { data: Array<{ id: string; status: string }> }).data;
}

/** Retries while the key is in flight, as a client honouring Retry-After does. */
async function retryUntilDone(send: () => Promise<Response>): Promise<Response> {
  for (let i = 0; i < 60; i++) {
    const res = await send();
    if (res.status !== 409) return res;
    await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
  }
  throw new Error('the key stayed in flight');
}

async function killedAndRestarted(env: Record<string, string>): Promise<void> {
  let stoa: StoaProcess = await startStoa({ ...BASE_ENV, ...env });
  try {
    const auth = await signUp(stoa.url);
    const key = randomUUID();
    const first = await postCharge(stoa.url, auth, key);
    assert.equal(first.status, 201);
    const charge = ((await first.json()) as { data: { id: string } }).data;
    // The processor is still deciding tok_slow when the process dies.
    stoa.child.kill('SIGKILL');
    await new Promise((r) => stoa.child.once('exit', r));
    stoa = await startStoa({ ...BASE_ENV, ...env });
    const retry = await retryUntilDone(() => postCharge(stoa.url, auth, key));
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(((await retry.json()) as { data: { id: string } }).data.id, charge.id);
    const deadline = Date.now() + 30_000;
    let list = await charges(stoa.url, auth);
    while (list[0]?.status === 'pending' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      list = await charges(stoa.url, auth);
    }
    assert.equal(list.length, 1, 'exactly one charge');
    assert.equal(list[0]!.status, 'succeeded', 'the restarted process finished the charge');
  } finally {
    stoa.child.kill('SIGTERM');
  }
}

describe('idempotency across processes and crashes', () => {
  it('kill -9 during a tok_slow charge, restart, retry with the same key: one charge, settled (embedded PGlite data directory)', { skip: Boolean(process.env.DATABASE_URL) && 'runs on the embedded database' }, async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-idem-'));
    try {
      await killedAndRestarted({ STOA_DATA_DIR: dataDir });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe('on PostgreSQL', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, () => {
    const drops: Array<() => Promise<void>> = [];
    after(async () => {
      for (const drop of drops) await drop();
    });

    it('kill -9 during a tok_slow charge, restart, retry with the same key: one charge, settled', async () => {
      const { env, drop } = await schemaEnv();
      drops.push(drop);
      await killedAndRestarted({ ...env, STOA_DATA_DIR: 'memory' });
    });

    it('kill -9 while a request holds its key mid-transaction: the other process answers 409 until then, and the retry performs the order once, at once', async () => {
      const { env, drop } = await schemaEnv();
      drops.push(drop);
      const admin = { email: `admin.${randomUUID()}@example.com`, password: 'admin password 123' };
      const a = await startStoa({ ...BASE_ENV, ...env, STOA_DATA_DIR: 'memory', STOA_ADMIN_EMAIL: admin.email, STOA_ADMIN_PASSWORD: admin.password });
      const b = await startStoa({ ...BASE_ENV, ...env, STOA_DATA_DIR: 'memory' });
      const holder = new pg.Client({ connectionString: env.DATABASE_URL });
      try {
        const product = await createProduct(a.url, await bearer(a.url, admin.email, admin.password), 5);
        const auth = await signUp(b.url);
        const key = randomUUID();
        // Another transaction holds the product row: the order on A waits on it, inside its transaction, holding its key.
        await holder.connect();
        const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [product]);
        void postOrder(a.url, auth, key, product).catch(() => {});
        await waitFor(async () => (await holder.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [holderPid])).rows[0]!.n > 0);

        const busy = await postOrder(b.url, auth, key, product);
        assert.equal(busy.status, 409);
        assert.equal(((await busy.json()) as { code: string }).code, 'IDEMPOTENCY_KEY_IN_USE');

        a.child.kill('SIGKILL');
        await new Promise((r) => a.child.once('exit', r));
        await holder.query('ROLLBACK');
        const started = Date.now();
        const retry = await retryUntilDone(() => postOrder(b.url, auth, key, product));
        assert.equal(retry.status, 201, await retry.clone().text());
        assert.equal(retry.headers.get('idempotent-replayed'), null, 'the dead request left nothing to replay');
        assert.ok(Date.now() - started < 5_000, `the key was free ${Date.now() - started} ms after the kill`);
        assert.equal((await postOrder(b.url, auth, key, product)).headers.get('idempotent-replayed'), 'true');
        const orders = (await (await fetch(`${b.url}/v1/orders`, { headers: { authorization: auth } })).json()) as { data: unknown[] };
        assert.equal(orders.data.length, 1, 'exactly one order');
        const stock = (await (await fetch(`${b.url}/v1/products/${product}`, { headers: { authorization: auth } })).json()) as { data: { stock: number } };
        assert.equal(stock.data.stock, 3, 'stock taken once');
      } finally {
        await holder.end().catch(() => {});
        a.child.kill('SIGKILL');
        await b.stop();
      }
    });

    it('100 concurrent identical requests with one key against two processes make exactly one charge', async () => {
      const { env, drop } = await schemaEnv();
      drops.push(drop);
      const a = await startStoa({ ...BASE_ENV, ...env, STOA_DATA_DIR: 'memory' });
      const b = await startStoa({ ...BASE_ENV, ...env, STOA_DATA_DIR: 'memory' });
      try {
        const auth = await signUp(a.url);
        const key = randomUUID();
        const results = await Promise.all(
          Array.from({ length: 100 }, async (_, i) => {
            const res = await postCharge(i % 2 ? a.url : b.url, auth, key);
            return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', body: (await res.json()) as { data?: { id: string }; code?: string } };
          }),
        );
        for (const r of results) assert.ok(r.status === 201 || (r.status === 409 && r.body.code === 'IDEMPOTENCY_KEY_IN_USE'), JSON.stringify(r));
        const created = results.filter((r) => r.status === 201);
        assert.equal(created.filter((r) => !r.replayed).length, 1);
        assert.equal(new Set(created.map((r) => r.body.data!.id)).size, 1);
        assert.equal((await charges(b.url, auth)).length, 1);
      } finally {
        await a.stop();
        await b.stop();
      }
    });
  });
});

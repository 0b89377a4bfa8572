import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { createScratchSchema, type ScratchSchema } from './helpers/pg-schema.ts';

// One deployment: the processes share the database schema and their signing keys.
const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'race-test' }]);
const ADMIN = { email: `admin.${randomUUID()}@example.com`, password: 'admin password 123' };
const ENV = { STOA_JWT_KEYS: JWT_KEYS, STOA_RATE_LIMIT: 'off', STOA_LOAD_SHEDDING: 'off', STOA_SEED_DEMO: 'false', STOA_PASSWORD_HASH_COST: '12', STOA_DATA_DIR: 'memory' };

type Json = Record<string, unknown>;

async function send(url: string, method: string, auth: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: Json }> {
  const res = await fetch(url, {
    method,
    headers: { ...(auth ? { authorization: auth } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Json) : {} };
}

async function signIn(base: string, email: string, password: string): Promise<string> {
  const res = await send(`${base}/v2/auth/login`, 'POST', undefined, { email, password });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return `Bearer ${(res.json.data as { access_token: string }).access_token}`;
}

async function newBuyer(base: string): Promise<string> {
  const email = `buyer.${randomUUID()}@example.com`;
  const password = 'correct horse battery staple';
  assert.equal((await send(`${base}/v2/users`, 'POST', undefined, { email, display_name: 'Buyer', password })).status, 201);
  return signIn(base, email, password);
}

describe('three processes on PostgreSQL', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, () => {
  let scratch: ScratchSchema;
  const processes: StoaProcess[] = [];
  let urls: string[] = [];
  let admin: string;

  before(async () => {
    scratch = await createScratchSchema('race');
    const env = { ...ENV, DATABASE_URL: scratch.databaseUrl, ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}) };
    // The first migrates and makes the administrator; the others join it.
    processes.push(await startStoa({ ...env, STOA_ADMIN_EMAIL: ADMIN.email, STOA_ADMIN_PASSWORD: ADMIN.password }));
    processes.push(...(await Promise.all([startStoa(env), startStoa(env)])));
    urls = processes.map((p) => p.url);
    admin = await signIn(urls[0]!, ADMIN.email, ADMIN.password);
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await scratch?.drop();
  });

  it('concurrent orders on the last units, spread over the three processes, never oversell', async () => {
    const stock = 9;
    const product = await send(`${urls[0]}/v2/products`, 'POST', admin, { name: 'Last units', category: 'race', price: 300, currency: 'EUR', stock });
    assert.equal(product.status, 201, JSON.stringify(product.json));
    const productId = (product.json.data as { id: string }).id;
    const buyers = await Promise.all(urls.map((url) => newBuyer(url)));
    const quantities = Array.from({ length: 45 }, (_, i) => 1 + (i % 2));
    const results = await Promise.all(
      quantities.map((quantity, i) =>
        send(`${urls[i % 3]}/v2/orders`, 'POST', buyers[(i + 1) % 3], { items: [{ product_id: productId, quantity }] }, { 'idempotency-key': randomUUID() }),
      ),
    );
    let sold = 0;
    const refused: number[] = [];
    results.forEach((res, i) => {
      if (res.status === 201) sold += quantities[i]!;
      else {
        assert.equal(res.status, 409, JSON.stringify(res.json));
        assert.equal(res.json.code, 'OUT_OF_STOCK');
        refused.push(quantities[i]!);
      }
    });
    assert.ok(sold <= stock, `sold ${sold} of ${stock}`);
    for (const url of urls) {
      const left = (await send(`${url}/v2/products/${productId}`, 'GET', undefined)).json.data as { stock: number };
      assert.equal(left.stock, stock - sold, `${url}: the stock accounts for every unit sold`);
      assert.ok(left.stock < Math.min(...refused), `${left.stock} left, yet an order for ${Math.min(...refused)} was refused`);
    }
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      const rows = await client.query<{ units: number }>(`SELECT coalesce(sum(quantity), 0)::int AS units FROM ${scratch.name}.order_items WHERE product_id = $1`, [productId]);
      assert.equal(rows.rows[0]!.units, sold, 'the order items hold exactly the units sold');
    } finally {
      await client.end();
    }
  });

  it('concurrent PATCHes with the same If-Match over the three processes: exactly one 200, the rest 412', async () => {
    const author = await newBuyer(urls[1]!);
    const post = await send(`${urls[1]}/v2/posts`, 'POST', author, { title: 'Contended', content: 'Three processes race to edit this' });
    assert.equal(post.status, 201);
    const id = (post.json.data as { id: string }).id;
    const etag = String(post.headers.get('etag'));
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, n) => send(`${urls[n % 3]}/v2/posts/${id}`, 'PATCH', author, { title: `racer ${n}` }, { 'if-match': etag })),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 412).length, 11, statuses.join(','));
    const winner = results.find((r) => r.status === 200)!;
    const stored = await send(`${urls[2]}/v2/posts/${id}`, 'GET', author);
    assert.equal((stored.json.data as { title: string }).title, (winner.json.data as { title: string }).title);
  });
});

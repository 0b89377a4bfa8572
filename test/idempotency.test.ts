import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { AppError } from '../src/domain/shared/errors.ts';
import { canonicalJson, checkIdempotencyKey, keyError, operationFingerprint } from '../src/platform/idempotency/index.ts';
import { createTestApp, login, onPostgres, PASSWORD, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';
import { world, type World } from './helpers/world.ts';

const CHARGE = { amount: 1999, currency: 'EUR', source: 'tok_visa' };

describe('idempotency core', () => {
  it('accepts 1 to 255 printable ASCII characters and nothing else', () => {
    assert.equal(checkIdempotencyKey('a'), null);
    assert.equal(checkIdempotencyKey('x'.repeat(255)), null);
    assert.equal(checkIdempotencyKey(' ~!'), null);
    assert.equal(checkIdempotencyKey(undefined), 'missing');
    assert.equal(checkIdempotencyKey(''), 'missing');
    assert.equal(checkIdempotencyKey('x'.repeat(256)), 'too_long');
    assert.equal(checkIdempotencyKey('a\tb'), 'not_printable');
    assert.equal(checkIdempotencyKey('clé'), 'not_printable');
  });

  it('fingerprints the operation and its canonical input, whatever the key order', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: null }], u: undefined }), '{"a":[{"c":null,"d":2}],"b":1}');
    assert.equal(operationFingerprint('charges.create', { a: 1, b: 2 }), operationFingerprint('charges.create', { b: 2, a: 1, c: undefined }));
    assert.notEqual(operationFingerprint('charges.create', { a: 1 }), operationFingerprint('orders.create', { a: 1 }));
    assert.notEqual(operationFingerprint('charges.create', { a: 1 }), operationFingerprint('charges.create', { a: 2 }));
  });

  it('refuses a missing key only where the operation requires one, and a malformed key everywhere', () => {
    const context = { call: 'mutation createOrder', field: 'idempotencyKey', noun: 'idempotencyKey argument' };
    assert.equal(keyError({ idempotencyKey: 'required' }, undefined, context)?.code, 'IDEMPOTENCY_KEY_REQUIRED');
    assert.match(String(keyError({ idempotencyKey: 'required' }, undefined, context)?.message), /^mutation createOrder requires an idempotencyKey argument /);
    assert.equal(keyError({ idempotencyKey: 'optional' }, undefined, context), null);
    assert.equal(keyError({ idempotencyKey: 'optional' }, 'x'.repeat(256), context)?.errors?.[0]?.field, 'idempotencyKey');
    assert.equal(keyError({ idempotencyKey: 'required' }, '', context)?.code, 'IDEMPOTENCY_KEY_INVALID');
    assert.equal(keyError({ idempotencyKey: 'required' }, 'k', context), null);
  });
});

describe('Idempotency-Key over HTTP', () => {
  let w: World;
  let t: TestApp;
  let ada: SignedUp;
  let bob: SignedUp;
  let admin: SignedUp;
  before(async () => {
    w = await world();
    ({ t, ada, bob, admin } = w);
  });
  after(() => w.close());

  const charge = (who: SignedUp, key: string | undefined, payload: unknown = CHARGE) =>
    t.app.inject({ method: 'POST', url: '/v1/charges', headers: { ...who.auth, ...(key === undefined ? {} : { 'idempotency-key': key }) }, payload: payload as Record<string, unknown> });
  const chargeCount = async (userId: string) =>
    Number((await t.container.database.db.selectFrom('charges').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n);
  const createProduct = (stock: number): Promise<string> => w.product({ name: 'Last one', category: 'idem', price: 700, currency: 'EUR', stock });
  const stockOf = async (id: string) => (await t.container.database.db.selectFrom('products').select('stock').where('id', '=', id).executeTakeFirstOrThrow()).stock;
  const replayed = (res: LightMyRequestResponse) => res.headers['idempotent-replayed'] === 'true';

  describe('POST /v1/charges and POST /v1/orders', () => {
    it('answer 400 IDEMPOTENCY_KEY_REQUIRED without a key, and do nothing', async () => {
      const user = await signUp(t.app);
      const res = await charge(user, undefined);
      assert.equal(res.statusCode, 400);
      assert.equal(problemOf(res).code, 'IDEMPOTENCY_KEY_REQUIRED');
      const order = await t.app.inject({ method: 'POST', url: '/v1/orders', headers: user.auth, payload: { items: [{ product_id: await createProduct(1), quantity: 1 }] } });
      assert.equal(order.statusCode, 400);
      assert.equal(problemOf(order).code, 'IDEMPOTENCY_KEY_REQUIRED');
      assert.equal(await chargeCount(user.id), 0);
    });

    it('answer 400 IDEMPOTENCY_KEY_INVALID for a key over 255 characters or with non-printable characters', async () => {
      for (const key of ['k'.repeat(256), 'a\tb']) {
        const res = await charge(ada, key);
        assert.equal(res.statusCode, 400, key);
        assert.equal(problemOf(res).code, 'IDEMPOTENCY_KEY_INVALID');
      }
      assert.equal((await charge(ada, 'k'.repeat(255))).statusCode, 201);
    });
  });

  it('replays a completed request with its status, body and Location, plus Idempotent-Replayed: true', async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const first = await charge(user, key);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.match(first.json().data.id, /^ch_/);
    assert.equal(first.json().data.status, 'pending');
    assert.match(String(first.headers.location), new RegExp(`^/v[12]/charges/${first.json().data.id}$`));

    // Same request, keys of the body in another order.
    const again = await charge(user, key, { source: 'tok_visa', currency: 'EUR', amount: 1999 });
    assert.equal(again.statusCode, 201);
    assert.ok(replayed(again));
    assert.equal(again.body, first.body);
    assert.equal(again.headers.location, first.headers.location);
    assert.equal(await chargeCount(user.id), 1);
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED for the same key with another body or path', async () => {
    const key = randomUUID();
    assert.equal((await charge(ada, key)).statusCode, 201);
    const other = await charge(ada, key, { ...CHARGE, amount: 2000 });
    assert.equal(other.statusCode, 422);
    assert.equal(problemOf(other).code, 'IDEMPOTENCY_KEY_REUSED');
    const elsewhere = await t.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...ada.auth, 'idempotency-key': key }, payload: { items: [{ product_id: await createProduct(1), quantity: 1 }] } });
    assert.equal(elsewhere.statusCode, 422);
  });

  it('scopes keys to the principal: two users may use the same key', async () => {
    const key = randomUUID();
    const a = await charge(ada, key);
    const b = await charge(bob, key);
    assert.equal(a.statusCode, 201);
    assert.equal(b.statusCode, 201);
    assert.ok(!replayed(b));
    assert.notEqual(a.json().data.id, b.json().data.id);
  });

  /** Replaces ChargesService.create for one test: `around` runs before the real one. */
  const aroundCreate = (around: () => Promise<void>): (() => void) => {
    const service = t.container.charges as unknown as { create: (...args: unknown[]) => Promise<unknown> };
    const original = service.create;
    service.create = async function (this: unknown, ...args: unknown[]) {
      await around();
      return original.apply(this, args);
    };
    return () => delete (service as { create?: unknown }).create;
  };

  /** A real charge's record, and a way to commit a copy of it under `key` from another connection: the winner of a race. */
  const winnerUnder = async (user: SignedUp, key: string) => {
    const earlier = await charge(user, randomUUID());
    assert.equal(earlier.statusCode, 201);
    const db = t.container.database.db;
    const record = await db.selectFrom('idempotency_keys').selectAll().where('principal', '=', user.id).executeTakeFirstOrThrow();
    const commit = async () => {
      await db
        .insertInto('idempotency_keys')
        .values({ ...record, key, outcome: JSON.stringify(record.outcome), rendering: JSON.stringify(record.rendering) })
        .execute();
    };
    return { earlier, commit };
  };

  it('answers 409 IDEMPOTENCY_KEY_IN_USE with Retry-After while a request with the key is running (on the embedded database, it waits and replays)', async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    let entered!: () => void;
    const running = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const restore = aroundCreate(async () => {
      entered();
      await gate;
    });
    try {
      const first = charge(user, key);
      await running;
      const second = charge(user, key);
      if (onPostgres) {
        const busy = await second;
        assert.equal(busy.statusCode, 409);
        assert.equal(problemOf(busy).code, 'IDEMPOTENCY_KEY_IN_USE');
        assert.match(String(busy.headers['retry-after']), /^\d+$/);
      }
      release();
      const done = await first;
      assert.equal(done.statusCode, 201, done.body);
      assert.ok(!replayed(done));
      // PGlite has one connection: the second request queued behind the first's transaction.
      const after = onPostgres ? await charge(user, key) : await second;
      assert.ok(replayed(after));
      assert.equal(after.body, done.body);
    } finally {
      restore();
    }
    assert.equal(await chargeCount(user.id), 1);
  });

  it('a request that finds its key recorded by another only at the end rolls its work back and replays that record', { skip: !onPostgres && 'needs a second connection (PostgreSQL)' }, async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const { earlier, commit } = await winnerUnder(user, key);
    // Commits, from another connection, while this request holds the key: what this request meets when it is a
    // retry of a finished one (its record is only looked for when this one's insert finds it in the way).
    const restore = aroundCreate(commit);
    try {
      const res = await charge(user, key);
      assert.equal(res.statusCode, 201, res.body);
      assert.ok(replayed(res));
      assert.equal(res.body, earlier.body);
      assert.equal(res.headers.location, earlier.headers.location);
    } finally {
      restore();
    }
    assert.equal(await chargeCount(user.id), 1, 'the losing request made no charge');
  });

  it('a refused request whose key was recorded by another meanwhile answers with that record, not its refusal', { skip: !onPostgres && 'needs a second connection (PostgreSQL)' }, async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const { earlier, commit } = await winnerUnder(user, key);
    const restore = aroundCreate(async () => {
      await commit();
      throw new AppError('INVALID_STATE_TRANSITION', 'refused after another request recorded the key');
    });
    try {
      const res = await charge(user, key);
      assert.equal(res.statusCode, 201, res.body);
      assert.ok(replayed(res));
      assert.equal(res.body, earlier.body);
    } finally {
      restore();
    }
    assert.equal(await chargeCount(user.id), 1);
  });

  it('replays a record written before operations (migration 0008) to the same method, URL and body, and refuses another body', async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const legacy = createHash('sha256').update(`POST /v1/charges\n${canonicalJson(CHARGE)}`).digest('base64url');
    const earlier = await charge(user, randomUUID());
    assert.equal(earlier.statusCode, 201);
    const db = t.container.database.db;
    const record = await db.selectFrom('idempotency_keys').selectAll().where('principal', '=', user.id).executeTakeFirstOrThrow();
    await db
      .insertInto('idempotency_keys')
      .values({ ...record, key, fingerprint: legacy, operation: '', outcome: JSON.stringify(record.outcome), rendering: JSON.stringify(record.rendering) })
      .execute();
    const res = await charge(user, key);
    assert.equal(res.statusCode, 201, res.body);
    assert.ok(replayed(res));
    assert.equal(res.body, earlier.body);
    assert.equal((await charge(user, key, { ...CHARGE, amount: 5 })).statusCode, 422);
    assert.equal(await chargeCount(user.id), 1);
  });

  it('does not record a request refused by validation: the corrected request may use the key', async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const invalid = await charge(user, key, { ...CHARGE, amount: -5 });
    assert.equal(invalid.statusCode, 422);
    assert.equal(problemOf(invalid).code, 'VALIDATION_FAILED');
    const fixed = await charge(user, key);
    assert.equal(fixed.statusCode, 201);
    assert.ok(!replayed(fixed));
  });

  it('records and replays a 4xx of a request that began executing (409 OUT_OF_STOCK), with nothing ordered', async () => {
    const product = await createProduct(1);
    const key = randomUUID();
    const order = (quantity: number) =>
      t.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...ada.auth, 'idempotency-key': key }, payload: { items: [{ product_id: product, quantity }] } });
    const first = await order(5);
    assert.equal(first.statusCode, 409);
    assert.equal(problemOf(first).code, 'OUT_OF_STOCK');
    assert.equal(await stockOf(product), 1);
    await t.app.inject({ method: 'PATCH', url: `/v1/products/${product}`, headers: admin.auth, payload: { stock: 50 } });
    const again = await order(5);
    assert.equal(again.statusCode, 409);
    assert.ok(replayed(again));
    assert.equal(again.body, first.body);
    assert.equal(problemOf(again).code, 'OUT_OF_STOCK');
    assert.equal(await stockOf(product), 50);
  });

  it('releases the key after a 5xx: the retry performs the request', async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const service = t.container.charges as unknown as { create: unknown };
    service.create = async () => {
      throw new Error('the database fell over');
    };
    try {
      const failed = await charge(user, key);
      assert.equal(failed.statusCode, 500);
    } finally {
      delete service.create;
    }
    const retry = await charge(user, key);
    assert.equal(retry.statusCode, 201, retry.body);
    assert.ok(!replayed(retry));
    assert.equal(await chargeCount(user.id), 1);
  });

  it('replays a finished request even when the retry’s own run fails with a 5xx', async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const first = await charge(user, key);
    assert.equal(first.statusCode, 201, first.body);
    const service = t.container.charges as unknown as { create: unknown };
    service.create = async () => {
      throw new Error('the database fell over');
    };
    try {
      const retry = await charge(user, key);
      assert.equal(retry.statusCode, 201, retry.body);
      assert.ok(replayed(retry));
      assert.equal(retry.body, first.body);
      assert.equal(retry.headers.location, first.headers.location);
    } finally {
      delete service.create;
    }
    assert.equal(await chargeCount(user.id), 1);
  });

  it('honours a key on PATCH when one is sent', async () => {
    const product = await createProduct(3);
    const key = randomUUID();
    const patch = () => t.app.inject({ method: 'PATCH', url: `/v1/products/${product}`, headers: { ...admin.auth, 'idempotency-key': key }, payload: { stock: 9 } });
    const first = await patch();
    assert.equal(first.statusCode, 200, first.body);
    const second = await patch();
    assert.ok(replayed(second));
    assert.equal(second.body, first.body);
  });

  it('100 concurrent identical requests with one key make exactly one charge; each answer is the 201, its replay or a 409', async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 100 }, () => charge(user, key)));
    const created = results.filter((r) => r.statusCode === 201);
    assert.ok(created.length >= 1);
    for (const r of results) assert.ok(r.statusCode === 201 || r.statusCode === 409, `${r.statusCode} ${r.body}`);
    for (const r of results.filter((r) => r.statusCode === 409)) assert.equal(problemOf(r).code, 'IDEMPOTENCY_KEY_IN_USE');
    assert.equal(new Set(created.map((r) => r.json().data.id)).size, 1);
    assert.equal(created.filter((r) => !replayed(r)).length, 1);
    assert.equal(await chargeCount(user.id), 1);
  });

  it('forgets records after STOA_IDEMPOTENCY_TTL: the key is new again', async () => {
    const user = await signUp(t.app);
    const key = randomUUID();
    assert.equal((await charge(user, key)).statusCode, 201);
    t.clock.advance(24 * 3600_000 + 1000);
    const tokens = await login(t.app, user.email, PASSWORD);
    const later = await charge({ ...user, auth: { authorization: `Bearer ${tokens.accessToken}` } }, key, { ...CHARGE, amount: 5 });
    assert.equal(later.statusCode, 201);
    assert.ok(!replayed(later));
    assert.ok((await t.container.idempotencyStore.sweep(new Date(t.clock.now().getTime() + 25 * 3600_000))) >= 1);
  });
});

describe('STOA_IDEMPOTENCY_LOCK_TIMEOUT', { skip: !onPostgres && 'a PostgreSQL statement_timeout; the embedded database has one connection' }, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ STOA_IDEMPOTENCY_LOCK_TIMEOUT: '1s' });
  });
  after(() => t.close());

  it('a request stuck longer than the timeout fails and gives its key up: the retry performs the order once', async () => {
    const admin = await signUpAdmin(t);
    const user = await signUp(t.app);
    const created = await t.app.inject({ method: 'POST', url: '/v1/products', headers: admin.auth, payload: { name: 'Held', category: 'idem', price: 700, currency: 'EUR', stock: 5 } });
    const product: string = created.json().data.id;
    const key = randomUUID();
    const db = t.container.database.db;
    const order = () => t.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...user.auth, 'idempotency-key': key }, payload: { items: [{ product_id: product, quantity: 2 }] } });
    const stock = async () => (await db.selectFrom('products').select('stock').where('id', '=', product).executeTakeFirstOrThrow()).stock;

    // Another transaction holds the product row, so the order waits on it while holding its key.
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let locked!: (pid: number) => void;
    const rowLocked = new Promise<number>((resolve) => (locked = resolve));
    const holder = db.transaction().execute(async (trx) => {
      await trx.selectFrom('products').select('id').where('id', '=', product).forUpdate().execute();
      locked((await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx)).rows[0]!.pid);
      await holding;
    });
    try {
      const holderPid = await rowLocked;
      const started = Date.now();
      const stuck = order();
      const blocked = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${holderPid}::int = ANY(pg_blocking_pids(pid))`.execute(db)).rows[0]!.n > 0;
      while (!(await blocked())) await new Promise((r) => setTimeout(r, 20));
      const busy = await order();
      assert.equal(busy.statusCode, 409);
      assert.equal(problemOf(busy).code, 'IDEMPOTENCY_KEY_IN_USE');
      const failed = await stuck;
      assert.equal(failed.statusCode, 500, failed.body);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      release();
      await holder;
    }
    const retry = await order();
    assert.equal(retry.statusCode, 201, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], undefined);
    assert.ok((await order()).headers['idempotent-replayed'] === 'true');
    assert.equal(await stock(), 3);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader, type JWK } from 'jose';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../src/infra/db/database.ts';
import { migrate } from '../src/infra/db/migrate.ts';
import { openSigningKeys, rotateSigningKey, type SigningKeys } from '../src/infra/keys/signing-key-store.ts';
import { createAccessTokens, generateSigningKey, type AccessTokens } from '../src/platform/auth/index.ts';
import { AppError } from '../src/domain/shared/errors.ts';
import { onPostgres, TestClock } from './helpers/app.ts';
import { runStoa, startStoa } from './helpers/process.ts';

const TTL = 900;
const GRACE = TTL + 30 + 60;

/** A migrated database of its own: PGlite in memory, or a fresh schema on the PostgreSQL server. */
async function freshDatabase(onQuery?: (sql: string) => void): Promise<{ database: DatabaseHandle; drop(): Promise<void> }> {
  const schema = onPostgres ? `keys_${randomBytes(6).toString('hex')}` : undefined;
  const database = await openDatabase({
    databaseUrl: process.env.DATABASE_URL,
    dataDir: 'memory',
    schema,
    ...(onQuery ? { onQuery: (event) => onQuery(event.query.sql) } : {}),
  });
  await migrate(database);
  return {
    database,
    async drop() {
      await database.close();
      if (!schema) return;
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/** One simulated process: its key set (reloading every `reloadMs`) and the tokens it signs and verifies. */
async function processOn(database: DatabaseHandle, clock: TestClock, reloadMs = 3_600_000, extra: { dataDir?: string; configured?: string; encryptionKey?: Buffer } = {}) {
  const keys = await openSigningKeys({
    configured: extra.configured,
    dataDir: extra.dataDir ?? 'memory',
    db: database.db,
    clock,
    reloadIntervalMs: reloadMs,
    previousKeyGraceSeconds: GRACE,
    encryptionKey: extra.encryptionKey,
  });
  const tokens = await createAccessTokens({ keys: keys.source, issuer: 'https://stoa.test', audience: 'stoa-api', ttlSeconds: TTL, clock });
  return { keys, tokens };
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const rejects = (tokens: AccessTokens, token: string) => assert.rejects(tokens.verify(token), (e: unknown) => e instanceof AppError && e.code === 'INVALID_TOKEN');

describe(`signing keys shared through the database (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  const opened: SigningKeys[] = [];
  const clock = new TestClock();
  let queries: string[] = [];
  before(async () => {
    db = await freshDatabase((sql) => queries.push(sql));
  });
  after(async () => {
    for (const keys of opened) keys.close();
    await db.drop();
  });
  const open = async (reloadMs?: number) => {
    const p = await processOn(db.database, clock, reloadMs);
    opened.push(p.keys);
    return p;
  };

  let a: Awaited<ReturnType<typeof open>>;
  let b: Awaited<ReturnType<typeof open>>;
  let c: Awaited<ReturnType<typeof open>>;

  it('processes starting together agree on one key, created once, and publish the same JWKS without private parts', async () => {
    [a, b, c] = await Promise.all([open(), open(), open()]);
    const rows = await db.database.db.selectFrom('signing_keys').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.verify_until, null);
    const jwks = a.tokens.jwks();
    assert.deepEqual(b.tokens.jwks(), jwks);
    assert.deepEqual(c.tokens.jwks(), jwks);
    assert.deepEqual(jwks.keys.map((k) => k.kid), [rows[0]!.kid]);
    for (const key of jwks.keys) assert.equal(key.d, undefined);
    assert.equal(a.keys.cursorSecret, b.keys.cursorSecret);
    assert.ok(a.keys.cursorSecret.length > 20);

    const token = await a.tokens.sign('usr_1');
    assert.equal(await b.tokens.verify(token), 'usr_1');
    assert.equal(await c.tokens.verify(token), 'usr_1');
  });

  it('after a rotation, a process that has not reloaded yet verifies the new kid at once, and the old tokens keep verifying', async () => {
    const oldKid = a.tokens.jwks().keys[0]!.kid!;
    const oldToken = await a.tokens.sign('usr_old');
    const now = clock.now();
    const rotation = await rotateSigningKey(db.database.db, { now, previousKeyGraceSeconds: GRACE });
    assert.notEqual(rotation.kid, oldKid);
    assert.deepEqual(rotation.retired.map((r) => r.kid), [oldKid]);
    assert.equal(rotation.retired[0]!.verifyUntil.getTime(), now.getTime() + GRACE * 1000);

    // A process started after the rotation signs with the new key.
    const d = await open();
    const newToken = await d.tokens.sign('usr_new');
    assert.equal(kidOf(newToken), rotation.kid);
    assert.deepEqual(d.tokens.jwks().keys.map((k) => k.kid), [rotation.kid, oldKid]);

    // a, b and c reload only hourly: meeting the new kid makes them reload.
    for (const p of [a, b, c]) assert.equal(await p.tokens.verify(newToken), 'usr_new');
    for (const p of [a, b, c, d]) assert.equal(await p.tokens.verify(oldToken), 'usr_old');
    assert.equal(kidOf(await a.tokens.sign('usr_1')), rotation.kid, 'a reloaded, so it signs with the new key');
    assert.deepEqual(a.tokens.jwks(), d.tokens.jwks());
  });

  it('unknown kids reload the key set at most once a second', async () => {
    const token = await a.tokens.sign('usr_1');
    const [header, payload, signature] = token.split('.');
    const forge = (i: number) => `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header!, 'base64url').toString()), kid: `kid-${i}` })).toString('base64url')}.${payload}.${signature}`;
    await new Promise((r) => setTimeout(r, 1_100));
    queries = [];
    const started = Date.now();
    // Bursts of forged kids, one after another: those asking within a second of a reload wait for the next one.
    for (let burst = 0; burst < 3; burst++) await Promise.all(Array.from({ length: 50 }, (_, i) => rejects(b.tokens, forge(burst * 50 + i))));
    const seconds = (Date.now() - started) / 1000;
    const reads = queries.filter((q) => /from "signing_keys"/i.test(q));
    assert.ok(seconds >= 1.9, `${seconds} s`);
    assert.ok(reads.length >= 2 && reads.length <= Math.floor(seconds) + 1, `${reads.length} reads in ${seconds} s`);
  });

  it('the previous key stops verifying (and leaves the JWKS) once its grace has passed; a later rotation deletes it', async () => {
    const e = await open(50);
    const before = e.tokens.jwks().keys.map((k) => k.kid!);
    assert.equal(before.length, 2);
    clock.advance((GRACE + 1) * 1000);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(e.tokens.jwks().keys.map((k) => k.kid), [before[0]]);

    const genesis = before[1]!;
    const second = await rotateSigningKey(db.database.db, { now: clock.now(), previousKeyGraceSeconds: GRACE });
    const third = await rotateSigningKey(db.database.db, { now: new Date(clock.now().getTime() + (GRACE + 1) * 1000), previousKeyGraceSeconds: GRACE });
    const kids = (await db.database.db.selectFrom('signing_keys').select('kid').execute()).map((r) => r.kid).sort();
    // The genesis key stays (it keys the cursors); the expired one between is gone.
    assert.deepEqual(kids, [genesis, second.kid, third.kid].sort());
    assert.ok(!kids.includes(before[0]!));
  });
});

describe('where signing keys come from', () => {
  it('STOA_JWT_KEYS wins over the database, which is left untouched', async () => {
    const db = await freshDatabase();
    try {
      const configured = [await generateSigningKey()];
      const p = await processOn(db.database, new TestClock(), undefined, { configured: JSON.stringify(configured) });
      assert.equal(p.keys.origin, 'configured');
      assert.deepEqual(p.tokens.jwks().keys.map((k) => k.kid), [configured[0]!.kid]);
      assert.equal(kidOf(await p.tokens.sign('usr_1')), configured[0]!.kid);
      assert.equal((await db.database.db.selectFrom('signing_keys').select('kid').execute()).length, 0);

      // Keys given without a kid are named by their thumbprint.
      const { kid: _kid, ...unnamed } = configured[0]!;
      const q = await processOn(db.database, new TestClock(), undefined, { configured: JSON.stringify([unnamed]) });
      assert.equal(kidOf(await q.tokens.sign('usr_1')), configured[0]!.kid);
      assert.equal(await q.tokens.verify(await p.tokens.sign('usr_2')), 'usr_2');
    } finally {
      await db.drop();
    }
  });

  it('a key file left in the data directory by an earlier version is adopted, so its tokens and cursors stay valid', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-keys-'));
    const db = await freshDatabase();
    try {
      const legacy: JWK[] = [await generateSigningKey()];
      writeFileSync(path.join(dataDir, 'jwt-signing-keys.json'), JSON.stringify(legacy));
      const legacyTokens = await createAccessTokens({ keys: legacy, issuer: 'https://stoa.test', audience: 'stoa-api', ttlSeconds: TTL, clock: new TestClock() });
      const token = await legacyTokens.sign('usr_legacy');
      const p = await processOn(db.database, new TestClock(), undefined, { dataDir });
      p.keys.close();
      assert.equal(p.keys.origin, 'database');
      assert.equal(p.keys.cursorSecret, legacy[0]!.d);
      assert.equal(await p.tokens.verify(token), 'usr_legacy');
      assert.equal(kidOf(await p.tokens.sign('usr_1')), legacy[0]!.kid);
    } finally {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('STOA_JWT_KEYS_ENCRYPTION_KEY', () => {
  it('encrypts private keys at rest, also those written before it was set, and rotations keep them encrypted', async () => {
    const db = await freshDatabase();
    const opened: SigningKeys[] = [];
    try {
      const clock = new TestClock();
      const plain = await processOn(db.database, clock);
      opened.push(plain.keys);
      const token = await plain.tokens.sign('usr_before');
      const stored = async () => db.database.db.selectFrom('signing_keys').select(['kid', 'private_key']).orderBy('created_at').execute();
      assert.ok((await stored())[0]!.private_key.includes('"d"'), 'in the clear without the setting');

      const key = randomBytes(32);
      const sealed = await processOn(db.database, clock, undefined, { encryptionKey: key });
      opened.push(sealed.keys);
      assert.equal(sealed.keys.cursorSecret, plain.keys.cursorSecret);
      assert.equal(await sealed.tokens.verify(token), 'usr_before');
      await rotateSigningKey(db.database.db, { now: clock.now(), previousKeyGraceSeconds: GRACE, encryptionKey: key });
      const rows = await stored();
      assert.equal(rows.length, 2);
      const secret = String(JSON.parse(JSON.stringify(plain.keys.source.current()[0])).d);
      for (const row of rows) {
        assert.match(row.private_key, /^sealed:v1:/);
        assert.ok(!row.private_key.includes('"d"') && !row.private_key.includes(secret));
      }
      const again = await processOn(db.database, clock, undefined, { encryptionKey: key });
      opened.push(again.keys);
      assert.equal(kidOf(await again.tokens.sign('usr_1')), rows[1]!.kid);
      assert.equal(await again.tokens.verify(token), 'usr_before');

      await assert.rejects(processOn(db.database, clock), /stored encrypted: set STOA_JWT_KEYS_ENCRYPTION_KEY/);
      await assert.rejects(processOn(db.database, clock, undefined, { encryptionKey: randomBytes(32) }), /cannot be decrypted: STOA_JWT_KEYS_ENCRYPTION_KEY is not the key/);
    } finally {
      for (const keys of opened) keys.close();
      await db.drop();
    }
  });
});

describe('stoa keys rotate-signing on the embedded database', { skip: onPostgres ? 'the PostgreSQL run covers it in signing-keys.processes.test.ts' : false }, () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-rotate-'));
  // Limits and load shedding off: this is about keys; a fresh process on a loaded CI machine can briefly shed (503 OVERLOADED).
  const env = { STOA_DATA_DIR: dataDir, STOA_SEED_DEMO: 'false', STOA_PASSWORD_HASH_COST: '12', STOA_RATE_LIMIT: 'off', STOA_LOAD_SHEDDING: 'off' };
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('gives the next start a new signing key while tokens signed with the previous one still verify', async () => {
    const email = `rot.${randomBytes(4).toString('hex')}@example.com`;
    const password = 'correct horse battery staple';
    const login = async (url: string) => {
      const res = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
      if (res.status !== 200) assert.fail(`login answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { data: { access_token: string } }).data.access_token;
    };
    let stoa = await startStoa(env, 240_000);
    let oldToken: string;
    try {
      const created = await fetch(`${stoa.url}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'R', password }) });
      assert.equal(created.status, 201);
      oldToken = await login(stoa.url);
    } finally {
      assert.equal(await stoa.stop(), 0);
    }

    const rotated = await runStoa(['keys', 'rotate-signing'], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    const [, newKid] = /signing key (\S+) signs from now on/.exec(rotated.stdout) ?? [];
    assert.ok(newKid, rotated.stdout);
    assert.match(rotated.stdout, new RegExp(`signing key ${kidOf(oldToken)} verifies until \\d{4}-`));
    assert.doesNotMatch(rotated.stdout + rotated.stderr, /"d"\s*:/, 'no private key material in the output');

    stoa = await startStoa(env, 240_000);
    try {
      const me = await fetch(`${stoa.url}/v1/me`, { headers: { authorization: `Bearer ${oldToken}` } });
      assert.equal(me.status, 200, 'a token signed before the rotation still verifies');
      const newToken = await login(stoa.url);
      assert.equal(kidOf(newToken), newKid);
      const jwks = (await (await fetch(`${stoa.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
      assert.deepEqual(jwks.keys.map((k) => k.kid), [newKid, kidOf(oldToken)]);
    } finally {
      assert.equal(await stoa.stop(), 0);
    }
  });

  it('is refused while STOA_JWT_KEYS supplies the keys', async () => {
    const res = await runStoa(['keys', 'rotate-signing'], { ...env, STOA_JWT_KEYS: JSON.stringify([await generateSigningKey()]) });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /STOA_JWT_KEYS is set/);
  });
});

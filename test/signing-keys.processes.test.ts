import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader, type JWK } from 'jose';
import pg from 'pg';
import { runStoa, startStoa, type StoaProcess } from './helpers/process.ts';
import { createScratchSchema, type ScratchSchema } from './helpers/pg-schema.ts';

const PUBLIC_URL = 'https://api.stoa.test';
const PASSWORD = 'correct horse battery staple';
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

async function query<T>(text: string, schema: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(`SET search_path = ${schema}`);
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

async function login(url: string, email: string): Promise<string> {
  const res = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { data: { access_token: string } }).data.access_token;
}

async function me(url: string, token: string): Promise<{ status: number; id?: string; body: string }> {
  const res = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  return { status: res.status, body, ...(res.status === 200 ? { id: (JSON.parse(body) as { data: { id: string } }).data.id } : {}) };
}

async function jwks(url: string): Promise<JWK[]> {
  const res = await fetch(`${url}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { keys: JWK[] }).keys;
}

describe('three processes on one PostgreSQL and Redis share their JWT signing keys', { skip: process.env.DATABASE_URL ? false : 'needs DATABASE_URL' }, () => {
  let scratch: ScratchSchema;
  const dataDirs = [0, 1, 2].map(() => mkdtempSync(path.join(tmpdir(), 'stoa-keys-proc-')));
  let env: Record<string, string>;
  let processes: StoaProcess[] = [];
  let userId = '';
  const email = `keys.${randomUUID()}@example.com`;
  let firstToken = '';

  before(async () => {
    scratch = await createScratchSchema('keys');
    const schema = scratch.name;
    env = {
      DATABASE_URL: scratch.databaseUrl,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      STOA_PUBLIC_URL: PUBLIC_URL,
      STOA_RATE_LIMIT_PREFIX: `${schema}:`,
      STOA_RATE_LIMIT_LOGIN_IP: '1000/1m',
      STOA_RATE_LIMIT_LOGIN_ACCOUNT: '1000/1m',
      STOA_SEED_DEMO: 'false',
      STOA_PASSWORD_HASH_COST: '12',
      STOA_JWT_KEYS_RELOAD: '2s',
    };
    // Started together, as a deployment does: they race to create the first key.
    // A generous start timeout: three compiling processes at once are slow on a busy machine.
    processes = await Promise.all(dataDirs.map((dir) => startStoa({ ...env, STOA_DATA_DIR: dir }, 240_000)));
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    await scratch?.drop();
  });

  it('one key is created for all of them, and every process publishes the same JWKS', async () => {
    const rows = await query<{ kid: string; verify_until: Date | null }>('SELECT kid, verify_until FROM signing_keys', scratch.name);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.verify_until, null);
    const sets = await Promise.all(processes.map((p) => jwks(p.url)));
    assert.deepEqual(sets.map((keys) => keys.map((k) => k.kid)), [[rows[0]!.kid], [rows[0]!.kid], [rows[0]!.kid]]);
    assert.deepEqual(sets[1], sets[0]);
    assert.deepEqual(sets[2], sets[0]);
    for (const key of sets[0]!) assert.equal(key.d, undefined);
  });

  it('an access token issued by one process is accepted by the other two', async () => {
    const created = await fetch(`${processes[0]!.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, name: 'Keys', password: PASSWORD }),
    });
    assert.equal(created.status, 201);
    userId = ((await created.json()) as { data: { id: string } }).data.id;
    for (const issuer of processes) {
      const token = await login(issuer.url, email);
      for (const verifier of processes) {
        const res = await me(verifier.url, token);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.id, userId);
      }
    }
    firstToken = await login(processes[0]!.url, email);
  });

  it('after stoa keys rotate-signing, new logins everywhere carry the new kid and are accepted everywhere, and old tokens still verify', async () => {
    const oldKid = kidOf(firstToken);
    const rotated = await runStoa(['keys', 'rotate-signing'], { ...env, STOA_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'stoa-keys-cli-')) });
    assert.equal(rotated.code, 0, rotated.stderr);
    const [, newKid] = /signing key (\S+) signs from now on/.exec(rotated.stdout) ?? [];
    assert.ok(newKid && newKid !== oldKid, rotated.stdout);
    assert.match(rotated.stdout, new RegExp(`signing key ${oldKid} verifies until`));

    const rows = await query<{ kid: string; private_key: string }>('SELECT kid, private_key FROM signing_keys', scratch.name);
    assert.deepEqual(rows.map((r) => r.kid).sort(), [newKid, oldKid].sort());

    // Every process switches to the new key by itself, without a restart (STOA_JWT_KEYS_RELOAD=2s).
    const newTokens: string[] = [];
    for (const p of processes) {
      const deadline = Date.now() + 60_000;
      let token = await login(p.url, email);
      while (kidOf(token) !== newKid) {
        assert.ok(Date.now() < deadline, `${p.url} still signs with ${kidOf(token)}`);
        await new Promise((r) => setTimeout(r, 250));
        token = await login(p.url, email);
      }
      newTokens.push(token);
      // Verified at once by all three, whether or not they have reloaded yet (an unknown kid makes them look).
      for (const verifier of processes) assert.equal((await me(verifier.url, token)).status, 200);
    }
    for (const token of [...newTokens, firstToken]) {
      for (const verifier of processes) {
        const res = await me(verifier.url, token);
        assert.equal(res.status, 200, `${kidOf(token)} on ${verifier.url}: ${res.body}`);
        assert.equal(res.id, userId);
      }
    }

    const sets = await Promise.all(processes.map((p) => jwks(p.url)));
    assert.deepEqual(sets[0]!.map((k) => k.kid), [newKid, oldKid]);
    assert.deepEqual(sets[1], sets[0]);
    assert.deepEqual(sets[2], sets[0]);

    // Private keys are never served nor logged.
    for (const row of rows) {
      const secret = String((JSON.parse(row.private_key) as JWK).d);
      for (const p of processes) assert.ok(!p.output().includes(secret));
      assert.ok(!rotated.stdout.includes(secret) && !rotated.stderr.includes(secret));
      for (const key of sets[0]!) assert.equal(key.d, undefined);
    }
  });

  it('a forged token with an unknown kid is still 401 INVALID_TOKEN on every process', async () => {
    const [header, payload, signature] = firstToken.split('.');
    const forged = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header!, 'base64url').toString()), kid: 'not-ours' })).toString('base64url')}.${payload}.${signature}`;
    for (const p of processes) {
      const res = await me(p.url, forged);
      assert.equal(res.status, 401);
      assert.equal((JSON.parse(res.body) as { code: string }).code, 'INVALID_TOKEN');
    }
  });
});

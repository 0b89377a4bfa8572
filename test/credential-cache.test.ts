import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { world, type World } from './helpers/world.ts';
import { createScratchSchema, type ScratchSchema } from './helpers/pg-schema.ts';

// Authentication answers from an in-process cache; these tests hold it to the contract that revocation,
// suspension and key changes take effect at once — in one process and across three.

describe('credentials cached in a process still change at once', () => {
  let w: World;
  before(async () => {
    w = await world();
  });
  after(() => w.close());

  const me = (headers: Record<string, string>) => w.app.inject({ method: 'GET', url: '/v1/me', headers });

  it('a cached API key is refused by the very next request after DELETE returns, and costs no query while cached', async () => {
    const user = await w.newUser();
    const key = await w.apiKey(user, ['users:read']);
    assert.equal((await me(key)).statusCode, 200);
    const before = w.t.queries();
    assert.equal((await me(key)).statusCode, 200);
    const perRequest = w.t.queries() - before;
    const list = await w.app.inject({ method: 'GET', url: '/v1/api-keys', headers: user.auth });
    const id = (list.json() as { data: Array<{ id: string }> }).data[0]!.id;
    assert.equal((await w.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: user.auth })).statusCode, 204);
    const refused = await me(key);
    assert.equal(refused.statusCode, 401, refused.body);
    assert.equal((refused.json() as { code: string }).code, 'INVALID_API_KEY');
    // On the embedded default or PostgreSQL with Redis, the key was not read again for the cached request.
    if (!process.env.DATABASE_URL || process.env.REDIS_URL) assert.equal(perRequest, 1, 'one statement: the user row of /v1/me');
  });

  it('suspending an account refuses its cached API key and its access token at once', async () => {
    const user = await w.newUser();
    const key = await w.apiKey(user, ['users:read']);
    assert.equal((await me(key)).statusCode, 200);
    assert.equal((await me(user.auth)).statusCode, 200);
    const suspended = await w.app.inject({ method: 'PATCH', url: `/v1/users/${user.id}`, headers: w.admin.auth, payload: { status: 'suspended' } });
    assert.equal(suspended.statusCode, 200, suspended.body);
    for (const headers of [key, user.auth]) {
      const res = await me(headers);
      assert.equal(res.statusCode, 401, res.body);
      assert.equal((res.json() as { code: string }).code, 'ACCOUNT_SUSPENDED');
    }
    await w.app.inject({ method: 'PATCH', url: `/v1/users/${user.id}`, headers: w.admin.auth, payload: { status: 'active' } });
    assert.equal((await me(key)).statusCode, 200);
  });

  it('pinning a cached key to a version changes the version its next request is answered in', async () => {
    const user = await w.newUser();
    const key = await w.apiKey(user, ['users:read']);
    assert.equal((await w.app.inject({ method: 'GET', url: '/me', headers: key })).headers['stoa-version'], '2');
    const list = await w.app.inject({ method: 'GET', url: '/v1/api-keys', headers: user.auth });
    const id = (list.json() as { data: Array<{ id: string }> }).data[0]!.id;
    const pinned = await w.app.inject({ method: 'PATCH', url: `/v1/api-keys/${id}`, headers: user.auth, payload: { api_version: '1' } });
    assert.equal(pinned.statusCode, 200, pinned.body);
    assert.equal((await w.app.inject({ method: 'GET', url: '/me', headers: key })).headers['stoa-version'], '1');
  });

  it('deleting a user refuses its cached access token at once', async () => {
    const user = await w.newUser();
    assert.equal((await me(user.auth)).statusCode, 200);
    const deleted = await w.app.inject({ method: 'DELETE', url: `/v1/users/${user.id}`, headers: w.admin.auth });
    assert.equal(deleted.statusCode, 204, deleted.body);
    assert.equal((await me(user.auth)).statusCode, 401);
  });
});

describe('three processes on PostgreSQL and Redis: a revoked or suspended credential is refused by all at once', { skip: process.env.DATABASE_URL && process.env.REDIS_URL ? false : 'needs DATABASE_URL and REDIS_URL' }, () => {
  let scratch: ScratchSchema;
  const dataDirs = [0, 1, 2].map(() => mkdtempSync(path.join(tmpdir(), 'stoa-creds-proc-')));
  const adminEmail = `admin.${randomUUID()}@example.com`;
  const password = 'correct horse battery staple';
  let processes: StoaProcess[] = [];

  before(async () => {
    scratch = await createScratchSchema('creds');
    const schema = scratch.name;
    const env = {
      DATABASE_URL: scratch.databaseUrl,
      REDIS_URL: process.env.REDIS_URL!,
      STOA_RATE_LIMIT_PREFIX: `${schema}:`,
      STOA_RATE_LIMIT_LOGIN_IP: '1000/1m',
      STOA_RATE_LIMIT_LOGIN_ACCOUNT: '1000/1m',
      STOA_SEED_DEMO: 'false',
      STOA_PASSWORD_HASH_COST: '12',
      STOA_ADMIN_EMAIL: adminEmail,
      STOA_ADMIN_PASSWORD: password,
    };
    // Started together, as a deployment does (they race to create the administrator); every one that started is stopped.
    const started = await Promise.allSettled(dataDirs.map((dir) => startStoa({ ...env, STOA_DATA_DIR: dir }, 240_000)));
    processes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    await scratch?.drop();
  });

  const call = async (url: string, method: string, route: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${url}${route}`, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text, json: () => JSON.parse(text) as { data: Record<string, unknown>; code?: string } };
  };
  const login = async (url: string, email: string) => {
    const res = await call(url, 'POST', '/v1/auth/login', {}, { email, password });
    assert.equal(res.status, 200, res.body);
    return { authorization: `Bearer ${res.json().data.access_token as string}` };
  };

  it('revoking a key on one process refuses it on the other two by the next request, though each had it cached', async () => {
    const email = `keys.${randomUUID()}@example.com`;
    assert.equal((await call(processes[0]!.url, 'POST', '/v1/users', {}, { email, name: 'Keys', password })).status, 201);
    const auth = await login(processes[0]!.url, email);
    const created = await call(processes[0]!.url, 'POST', '/v1/api-keys', auth, { name: 'k', scopes: ['users:read'] });
    assert.equal(created.status, 201, created.body);
    const key = { 'x-api-key': created.json().data.secret as string };
    for (const p of processes) for (let i = 0; i < 3; i++) assert.equal((await call(p.url, 'GET', '/v1/me', key)).status, 200);
    assert.equal((await call(processes[0]!.url, 'DELETE', `/v1/api-keys/${created.json().data.id as string}`, auth)).status, 204);
    for (const p of processes) {
      const res = await call(p.url, 'GET', '/v1/me', key);
      assert.equal(res.status, 401, `${p.url}: ${res.body}`);
    }
  });

  it('suspending an account on one process refuses its token and key on the other two at once', async () => {
    const admin = await login(processes[1]!.url, adminEmail);
    const email = `suspend.${randomUUID()}@example.com`;
    const signedUp = await call(processes[0]!.url, 'POST', '/v1/users', {}, { email, name: 'Suspend', password });
    const id = signedUp.json().data.id as string;
    const auth = await login(processes[0]!.url, email);
    const created = await call(processes[0]!.url, 'POST', '/v1/api-keys', auth, { name: 'k', scopes: ['users:read'] });
    const key = { 'x-api-key': created.json().data.secret as string };
    for (const p of processes) {
      assert.equal((await call(p.url, 'GET', '/v1/me', key)).status, 200);
      assert.equal((await call(p.url, 'GET', '/v1/me', auth)).status, 200);
    }
    const suspended = await call(processes[1]!.url, 'PATCH', `/v1/users/${id}`, admin, { status: 'suspended' });
    assert.equal(suspended.status, 200, suspended.body);
    for (const p of processes) {
      for (const headers of [key, auth]) {
        const res = await call(p.url, 'GET', '/v1/me', headers);
        assert.equal(res.status, 401, `${p.url}: ${res.body}`);
        assert.match(res.body, /ACCOUNT_SUSPENDED/);
      }
    }
  });
});

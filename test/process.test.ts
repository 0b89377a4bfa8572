import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { runStoa, startStoa } from './helpers/process.ts';

const json = async (res: Response) => (await res.json()) as { data: Record<string, unknown> };

describe('the embedded two-command start', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  let accessToken = '';

  it('a first start seeds demo data and prints working URLs, admin login and API key; SIGTERM exits 0', async () => {
    const stoa = await startStoa({ STOA_DATA_DIR: dataDir });
    try {
      const out = stoa.output();
      assert.match(out, /Docs\s+http:\/\/localhost:\d+\/docs/);
      assert.match(out, /Metrics\s+http:\/\/localhost:\d+\/metrics/);
      const [, email, password] = /Admin login\s+(\S+) \/ (\S+)/.exec(out) ?? [];
      const [, apiKey] = /Admin API key\s+(sk_\S+)/.exec(out) ?? [];
      assert.ok(email && password && apiKey, out);

      assert.equal((await fetch(`${stoa.url}/healthz`)).status, 200);
      const login = await fetch(`${stoa.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
      assert.equal(login.status, 200);
      accessToken = String((await json(login)).data.access_token);
      const me = await fetch(`${stoa.url}/v1/me`, { headers: { 'x-api-key': apiKey! } });
      assert.equal(me.status, 200);
      assert.equal((await json(me)).data.role, 'admin');
      const docs = await fetch(`${stoa.url}/docs/`);
      assert.equal(docs.status, 200);
    } finally {
      assert.equal(await stoa.stop(), 0);
    }
  });

  it('a second start keeps the data and the signing keys, and seeds nothing again', async () => {
    const stoa = await startStoa({ STOA_DATA_DIR: dataDir });
    try {
      assert.doesNotMatch(stoa.output(), /Admin API key/);
      const me = await fetch(`${stoa.url}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      assert.equal(me.status, 200, 'a token from the first run still verifies');
    } finally {
      assert.equal(await stoa.stop(), 0);
    }
  });
});

describe('STOA_ADMIN_EMAIL and STOA_ADMIN_PASSWORD', () => {
  it('make sure that administrator exists with that password', async () => {
    const env: Record<string, string> = { STOA_DATA_DIR: 'memory', STOA_ADMIN_EMAIL: 'root@example.org', STOA_ADMIN_PASSWORD: 'first password 1' };
    let schema: string | undefined;
    if (process.env.DATABASE_URL) {
      schema = `proc_${Date.now().toString(36)}`;
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.end();
      const url = new URL(process.env.DATABASE_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      env.DATABASE_URL = url.toString();
    }
    try {
      const signIn = async (url: string, password: string) =>
        fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'root@example.org', password }) });
      let stoa = await startStoa(env);
      try {
        const res = await signIn(stoa.url, 'first password 1');
        assert.equal(res.status, 200);
        const token = String((await json(res)).data.access_token);
        const me = await fetch(`${stoa.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal((await json(me)).data.role, 'admin');
      } finally {
        await stoa.stop();
      }
      if (schema) {
        // Same database, new password: the start resets it.
        stoa = await startStoa({ ...env, STOA_ADMIN_PASSWORD: 'second password 2' });
        try {
          assert.equal((await signIn(stoa.url, 'first password 1')).status, 401);
          assert.equal((await signIn(stoa.url, 'second password 2')).status, 200);
        } finally {
          await stoa.stop();
        }
      }
    } finally {
      if (schema) {
        const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await client.connect();
        await client.query(`DROP SCHEMA ${schema} CASCADE`);
        await client.end();
      }
    }
  });
});

describe('configuration errors', () => {
  const cases: Array<[string, Record<string, string>]> = [
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['STOA_ADMIN_PASSWORD', { STOA_ADMIN_EMAIL: 'a@example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'not a url' }],
    ['STOA_JWT_KEYS', { STOA_JWT_KEYS: '{"nope"' }],
  ];
  for (const [name, env] of cases) {
    it(`a bad ${name} stops the start with one line naming it`, async () => {
      const { code, stderr } = await runStoa(['serve'], { STOA_DATA_DIR: 'memory', ...env });
      assert.equal(code, 1);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, new RegExp(name));
    });
  }
});

describe('the CLI', () => {
  it('keys create prints a working key for a user', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'stoa-cli-'));
    try {
      const seeded = await runStoa(['seed', '--scale', '50'], { STOA_DATA_DIR: dataDir });
      assert.equal(seeded.code, 0, seeded.stderr);
      assert.match(seeded.stdout, /seeded 50 posts by 10 users/);
      const created = await runStoa(['keys', 'create', '--user', 'admin@stoa.local', '--scopes', 'users:read'], { STOA_DATA_DIR: dataDir });
      assert.equal(created.code, 0, created.stderr);
      const secret = /^(sk_\S+)$/m.exec(created.stdout)?.[1];
      assert.ok(secret);
      const listed = await runStoa(['keys', 'list', '--user', 'admin@stoa.local'], { STOA_DATA_DIR: dataDir });
      assert.match(listed.stdout, new RegExp(secret.slice(0, 11)));
      assert.doesNotMatch(listed.stdout, new RegExp(secret));
      const bad = await runStoa(['keys', 'create', '--user', 'admin@stoa.local', '--scopes', 'root:all'], { STOA_DATA_DIR: dataDir });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /VALIDATION_FAILED/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { createScratchSchema, type ScratchSchema } from './helpers/pg-schema.ts';

// Usage counts written in batches by several processes of one deployment on PostgreSQL, and across a restart.
const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'usage-test' }]);

describe('usage across processes and restarts', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, () => {
  let scratch: ScratchSchema | undefined;
  let env: Record<string, string>;
  const procs: StoaProcess[] = [];
  let auth: string;

  const start = async (flushMs: string) => {
    const proc = await startStoa({ ...env, STOA_USAGE_FLUSH_MS: flushMs });
    procs.push(proc);
    return proc;
  };
  const notFound = async (proc: StoaProcess, times: number) => {
    for (let i = 0; i < times; i++) {
      const res = await fetch(`${proc.url}/v1/posts/pst_missing${i}`, { headers: { authorization: auth } });
      assert.equal(res.status, 404);
      await res.arrayBuffer();
    }
  };
  /** The caller's 4xx count as one process answers it (the usage calls themselves are 2xx). */
  const fourXx = async (proc: StoaProcess) => {
    const res = await fetch(`${proc.url}/v1/usage?group_by=status_class`, { headers: { authorization: auth } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: { series: Array<{ key: string; total: number }> } };
    return body.data.series.find((s) => s.key === '4xx')!.total;
  };

  before(async () => {
    scratch = await createScratchSchema('usage');
    env = {
      DATABASE_URL: scratch.databaseUrl,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      STOA_JWT_KEYS: JWT_KEYS,
      STOA_RATE_LIMIT: 'off',
      STOA_LOAD_SHEDDING: 'off',
      STOA_SEED_DEMO: 'false',
      STOA_PASSWORD_HASH_COST: '12',
    };
    // Two processes that only write on their timer after ten minutes — that is, at shutdown or when asked.
    const [a] = await Promise.all([start('600000'), start('600000')]);
    const email = `usage.${randomUUID()}@example.com`;
    const password = 'correct horse battery staple';
    const created = await fetch(`${a!.url}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, name: 'U', password }) });
    assert.equal(created.status, 201);
    const login = await fetch(`${a!.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    auth = `Bearer ${((await login.json()) as { data: { access_token: string } }).data.access_token}`;
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await scratch?.drop();
  });

  it('adds up what each process counted, written in batches, and keeps it across a restart', async () => {
    const [a, b] = procs as [StoaProcess, StoaProcess];
    await notFound(a, 5);
    await notFound(b, 7);
    // A shows its own counts (written before it answers); B's are still only in B's memory: no write per request.
    assert.equal(await fourXx(a), 5);
    assert.equal(await fourXx(b), 12);
    // B stops: it writes the rest at shutdown. A new process answers from the database.
    assert.equal(await b.stop(), 0);
    procs.splice(procs.indexOf(b), 1);
    await notFound(a, 1);
    assert.equal(await a.stop(), 0);
    procs.splice(procs.indexOf(a), 1);
    const c = await start('200');
    assert.equal(await fourXx(c), 13);
  });

  it('writes on a timer: another process sees the counts within a few intervals', async () => {
    const c = procs[0]!;
    const d = await start('600000');
    await notFound(c, 4);
    // D never writes C's counts; C's 200 ms timer does.
    let seen = 0;
    for (let i = 0; i < 50 && seen !== 17; i++) {
      seen = await fourXx(d);
      if (seen !== 17) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(seen, 17);
  });
});

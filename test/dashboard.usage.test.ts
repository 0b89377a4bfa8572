import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UsageRecorder } from '../src/platform/usage/index.ts';
import type { UsageCount, UsageRepository } from '../src/domain/usage/index.ts';
import { createTestApp, problemOf, signUp, signUpAdmin, type SignedUp, type TestApp } from './helpers/app.ts';

interface Series {
  key: string;
  total: number;
  counts: number[];
}
interface Usage {
  from: string;
  to: string;
  granularity: string;
  group_by: string;
  buckets: string[];
  series: Series[];
}

describe('GET /v1/usage', () => {
  let t: TestApp;
  let alice: SignedUp;
  let bob: SignedUp;
  let admin: SignedUp;

  const usage = async (who: SignedUp | Record<string, string>, query = ''): Promise<Usage> => {
    const headers = 'auth' in who ? (who as SignedUp).auth : (who as Record<string, string>);
    const res = await t.app.inject({ method: 'GET', url: `/v2/usage${query}`, headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().data;
  };
  const total = (report: Usage, key: string) => report.series.find((s) => s.key === key)?.total ?? 0;

  before(async () => {
    t = await createTestApp({ STOA_USAGE_FLUSH_MS: '600000' });
    alice = await signUp(t.app);
    bob = await signUp(t.app);
    admin = await signUpAdmin(t);
  });
  after(() => t.close());

  it("counts the caller's requests per minute by status class, 429 apart", async () => {
    for (let i = 0; i < 3; i++) assert.equal((await t.app.inject({ method: 'GET', url: '/v2/api-keys', headers: alice.auth })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/posts/pst_nothing', headers: alice.auth })).statusCode, 404);
    const report = await usage(alice);
    assert.equal(report.granularity, 'minute');
    assert.equal(report.group_by, 'status_class');
    assert.deepEqual(report.series.map((s) => s.key), ['1xx', '2xx', '3xx', '4xx', '429', '5xx']);
    assert.equal(total(report, '2xx'), 3);
    assert.equal(total(report, '4xx'), 1);
    assert.equal(total(report, '5xx'), 0);
    // The last hour, whole minutes, one count per bucket.
    assert.ok(report.buckets.length >= 60 && report.buckets.length <= 61, String(report.buckets.length));
    for (const series of report.series) assert.equal(series.counts.length, report.buckets.length);
    const last = report.series.find((s) => s.key === '2xx')!;
    assert.equal(last.counts.reduce((a, b) => a + b, 0), 3);
    assert.equal(new Date(report.buckets[0]!).getUTCSeconds(), 0);
    // The usage request itself is counted once answered.
    assert.equal(total(await usage(alice), '2xx'), 4);
  });

  it('groups by API version and by API key (a session is "session")', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/v2/api-keys', headers: bob.auth, payload: { name: 'ci', scopes: ['posts:read'] } });
    assert.equal(created.statusCode, 201);
    const key = created.json().data;
    for (let i = 0; i < 2; i++) assert.equal((await t.app.inject({ method: 'GET', url: '/v1/posts', headers: { 'x-api-key': key.secret } })).statusCode, 200);
    // Unversioned, forwarded in process: counted once, in the version that served it.
    assert.equal((await t.app.inject({ method: 'GET', url: '/posts', headers: { 'x-api-key': key.secret } })).statusCode, 200);
    const versions = await usage(bob, '?group_by=api_version');
    assert.equal(total(versions, '1'), 2);
    assert.equal(total(versions, '2'), 2); // POST /v2/api-keys and GET /posts (served by v2)
    const keys = await usage(bob, '?group_by=api_key');
    assert.equal(total(keys, key.id), 3);
    assert.equal(total(keys, 'session'), 2); // the key creation and the api_version query
    assert.deepEqual(keys.series.map((s) => s.key).sort(), [key.id, 'session'].sort());
    // Two dimensions: each client's API versions.
    const both = await usage(bob, '?group_by=api_key,api_version');
    assert.equal(both.group_by, 'api_key,api_version');
    assert.equal(total(both, `${key.id}/1`), 2);
    assert.equal(total(both, `${key.id}/2`), 1);
    assert.equal(total(both, 'session/2'), 3); // the key's creation and the two usage queries before this one
    const reversed = await usage(bob, '?group_by=api_version,api_key');
    assert.equal(total(reversed, `1/${key.id}`), 2);
  });

  it("shows nobody else's traffic; administrators may ask for anyone's, or all", async () => {
    const bobs = await usage(bob);
    assert.equal(total(bobs, '4xx'), 0); // alice's 404 is hers
    const refused = await t.app.inject({ method: 'GET', url: `/v2/usage?user_id=${alice.id}`, headers: bob.auth });
    assert.equal(refused.statusCode, 403);
    assert.equal(problemOf(refused).code, 'FORBIDDEN');
    assert.equal((await t.app.inject({ method: 'GET', url: '/v2/usage?user_id=all', headers: bob.auth })).statusCode, 403);
    const alices = await usage(admin, `?user_id=${alice.id}`);
    assert.equal(total(alices, '4xx'), 1);
    const everyone = await usage(admin, '?user_id=all&group_by=api_key');
    const keyIds = everyone.series.map((s) => s.key);
    // Everybody's sessions are told apart by user.
    assert.ok(keyIds.includes(`session:${alice.id}`), keyIds.join());
    assert.ok(keyIds.includes(`session:${bob.id}`));
    assert.equal(keyIds.includes('session'), false);
    assert.ok(everyone.series.reduce((n, s) => n + s.total, 0) >= total(alices, '2xx') + total(alices, '4xx') + 3);
    // Asking about oneself by id is allowed to anyone; the two refusals were bob's own 403s.
    assert.equal(total(await usage(bob, `?user_id=${bob.id}`), '4xx'), 2);
  });

  it('sums minutes into hours, and counts in the minute the request was answered', async () => {
    const carol = await signUp(t.app);
    await t.app.inject({ method: 'GET', url: '/v2/api-keys', headers: carol.auth });
    t.clock.advance(5 * 60_000);
    await t.app.inject({ method: 'GET', url: '/v2/api-keys', headers: carol.auth });
    await t.app.inject({ method: 'GET', url: '/v2/api-keys', headers: carol.auth });
    const byMinute = await usage(carol);
    const counts = byMinute.series.find((s) => s.key === '2xx')!.counts.filter((n) => n > 0);
    assert.deepEqual(counts, [1, 2]);
    const byHour = await usage(carol, '?granularity=hour');
    assert.equal(byHour.granularity, 'hour');
    assert.ok(byHour.buckets.length >= 24 && byHour.buckets.length <= 25);
    assert.equal(new Date(byHour.buckets[0]!).getUTCMinutes(), 0);
    assert.equal(total(byHour, '2xx'), 4); // three calls and the minute query
    // An explicit range that excludes them shows none.
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const from = new Date(hour - 3 * 86_400_000).toISOString();
    const to = new Date(hour - 2 * 86_400_000).toISOString();
    const old = await usage(carol, `?granularity=hour&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    assert.equal(old.buckets.length, 24);
    assert.equal(old.series.reduce((n, s) => n + s.total, 0), 0);
  });

  it('answers bad parameters with registry errors', async () => {
    const now = Date.now();
    const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const cases: Array<[string, number, string, string | undefined]> = [
      [`?from=${iso(now)}&to=${iso(now - 60_000)}`, 400, 'INVALID_PARAMETER', 'invalid_range'],
      [`?from=${iso(now)}&to=${iso(now)}`, 400, 'INVALID_PARAMETER', 'invalid_range'],
      [`?from=${iso(now - 25 * 3_600_000)}&to=${iso(now)}`, 400, 'INVALID_PARAMETER', 'out_of_range'],
      [`?granularity=hour&from=${iso(now - 32 * 86_400_000)}&to=${iso(now)}`, 400, 'INVALID_PARAMETER', 'out_of_range'],
      ['?group_by=country', 400, 'INVALID_PARAMETER', 'invalid_value'],
      ['?group_by=api_key,api_key', 400, 'INVALID_PARAMETER', 'invalid_value'],
      ['?group_by=api_key,api_version,status_class', 400, 'INVALID_PARAMETER', 'invalid_value'],
      ['?group_by=api_key,', 400, 'INVALID_PARAMETER', 'invalid_value'],
      ['?granularity=second', 400, 'INVALID_PARAMETER', undefined],
      ['?from=yesterday', 400, 'INVALID_PARAMETER', undefined],
      ['?to=2026-13-45T99:00:00Z', 400, 'INVALID_PARAMETER', undefined],
      ['?window=1h', 400, 'UNKNOWN_PARAMETER', undefined],
    ];
    for (const [query, status, code, fieldCode] of cases) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/usage${query}`, headers: alice.auth });
      assert.equal(res.statusCode, status, `${query}: ${res.body}`);
      const problem = problemOf(res);
      assert.equal(problem.code, code, query);
      if (fieldCode) assert.equal((problem.errors as Array<{ code: string }>)[0]!.code, fieldCode, query);
    }
    // Thirty days by hour is within bounds.
    const ok = await t.app.inject({ method: 'GET', url: `/v1/usage?granularity=hour&from=${iso(now - 30 * 86_400_000)}&to=${iso(now)}`, headers: alice.auth });
    assert.equal(ok.statusCode, 200);
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/usage' });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(problemOf(anonymous).code, 'UNAUTHENTICATED');
  });

  it('writes in batches, not per request: nothing is stored until a flush, then one row per minute and class', async () => {
    const dave = await signUp(t.app);
    await t.container.usageRecorder.flush();
    for (let i = 0; i < 20; i++) await t.app.inject({ method: 'GET', url: '/v2/api-keys', headers: dave.auth });
    const rows = () => t.container.database.db.selectFrom('usage_counts').selectAll().where('user_id', '=', dave.id).execute();
    assert.equal((await rows()).length, 0);
    assert.equal(t.container.usageRecorder.pending, 20);
    await t.container.usageRecorder.flush();
    const stored = await rows();
    assert.ok(stored.length >= 1 && stored.length <= 2, String(stored.length)); // a minute boundary may fall between the requests
    assert.equal(stored.reduce((n, r) => n + Number(r.count), 0), 20);
    assert.equal(t.container.usageRecorder.pending, 0);
  });
});

describe('usage: the recorder', () => {
  it('keeps the counts of a failed write for the next one, and never loses a request counted meanwhile', async () => {
    const written: UsageCount[] = [];
    let failing = true;
    const store: UsageRepository = {
      async add(counts) {
        if (failing) throw new Error('database down');
        written.push(...counts);
      },
      async sum() {
        return [];
      },
    };
    const errors: unknown[] = [];
    const recorder = new UsageRecorder({ store, flushIntervalMs: 60_000, onError: (e) => errors.push(e) });
    const at = Date.UTC(2026, 10, 30, 18, 0, 30);
    recorder.record({ userId: 'usr_a', apiKeyId: null, apiVersion: '2', status: 200, at });
    recorder.record({ userId: 'usr_a', apiKeyId: null, apiVersion: '2', status: 201, at: at + 1_000 });
    recorder.record({ userId: 'usr_a', apiKeyId: 'key_1', apiVersion: '1', status: 429, at });
    await assert.rejects(recorder.flush(), /database down/);
    assert.equal(errors.length, 1);
    assert.equal(recorder.pending, 3);
    recorder.record({ userId: 'usr_a', apiKeyId: null, apiVersion: '2', status: 204, at });
    recorder.record({ userId: 'usr_a', apiKeyId: null, apiVersion: '2', status: 429, rateLimitPolicy: 'burst', at });
    recorder.record({ userId: 'usr_a', apiKeyId: null, apiVersion: '2', status: 429, rateLimitPolicy: 'burst', at });
    failing = false;
    await recorder.close();
    assert.equal(recorder.pending, 0);
    const byClass = new Map(written.map((c) => [`${c.apiKeyId}/${c.apiVersion}/${c.statusClass}`, c]));
    assert.equal(byClass.get('/2/2xx')?.count, 3);
    assert.equal(byClass.get('key_1/1/429')?.count, 1);
    assert.equal(byClass.get('/2/2xx')?.bucket.toISOString(), '2026-11-30T18:00:00.000Z');
    const burst = written.find((c) => c.rateLimitPolicy === 'burst');
    assert.equal(burst?.count, 2);
    assert.equal(burst?.statusClass, '429');
    assert.equal(written.length, 3);
  });
});

describe('usage: rate-limit rejections', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ STOA_RATE_LIMIT: 'on', STOA_RATE_LIMIT_FREE: '3/1m', STOA_RATE_LIMIT_STORE: 'memory', STOA_USAGE_FLUSH_MS: '600000' });
  });
  after(() => t.close());

  it('counts 429s in their own class', async () => {
    const erin = await signUp(t.app);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.app.inject({ method: 'GET', url: '/v2/api-keys', headers: erin.auth })).statusCode);
    const rejected = statuses.filter((s) => s === 429).length;
    assert.ok(rejected >= 1, statuses.join(','));
    // The usage call itself may be limited too: read the store through the service.
    const report = await t.container.usage.report(
      { userId: erin.id, role: 'user', plan: 'free', via: 'session', apiKeyId: null, scopes: null, apiVersion: null },
      {},
    );
    assert.equal(report.series.find((s) => s.key === '429')!.total, rejected);
    assert.equal(report.series.find((s) => s.key === '4xx')!.total, 0);
    // By policy: only the rejections, named by the policy that refused them.
    const byPolicy = await t.container.usage.report(
      { userId: erin.id, role: 'user', plan: 'free', via: 'session', apiKeyId: null, scopes: null, apiVersion: null },
      { group_by: 'rate_limit_policy' },
    );
    assert.deepEqual(
      byPolicy.series.map((s) => [s.key, s.total]),
      [['free', rejected]],
    );
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startStoa, type StoaProcess } from './helpers/process.ts';

/**
 * Three `stoa serve` processes share one Redis. Each exact algorithm guards a
 * different class, each scenario comes from its own client address, and the
 * requests are spread over the three processes with many in flight: the
 * admitted count must be exactly the limit.
 */
describe('three processes sharing Redis', { skip: process.env.REDIS_URL ? false : 'needs REDIS_URL' }, () => {
  const processes: StoaProcess[] = [];
  let v = '/v1';

  before(async () => {
    const env = {
      REDIS_URL: process.env.REDIS_URL!,
      STOA_DATA_DIR: 'memory',
      STOA_SEED_DEMO: 'false',
      STOA_PASSWORD_HASH_COST: '10',
      STOA_RATE_LIMIT_PREFIX: `test:procs:${randomBytes(4).toString('hex')}:`,
      STOA_TRUSTED_PROXIES: '127.0.0.1',
      STOA_RATE_LIMIT_FREE: '30/1h sliding-log',
      STOA_RATE_LIMIT_SEARCH: '25/1h gcra',
      STOA_RATE_LIMIT_WRITES: '20/1h token-bucket',
      STOA_RATE_LIMIT_LOGIN_IP: '15/1h fixed-window',
      STOA_RATE_LIMIT_LOGIN_ACCOUNT: 'off',
      STOA_LOAD_SHEDDING: 'off',
      // Exactness of the shared algorithms is under test, not the fail-open path: on a loaded
      // machine a 100 ms command timeout falls back to per-process counters and admits extra.
      STOA_RATE_LIMIT_TIMEOUT_MS: '3000',
    };
    processes.push(...(await Promise.all([0, 1, 2].map(() => startStoa(env, 90_000)))));
    if ((await fetch(`${processes[0]!.url}/v1/products`, { headers: { 'x-forwarded-for': '192.0.2.250' } })).status === 404) v = '';
  });
  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
  });

  /** Sends `total` requests, `inFlight` at a time, round-robin over the processes; returns the statuses. */
  async function hammer(total: number, inFlight: number, request: (base: string, i: number) => Promise<Response>): Promise<number[]> {
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < total) {
          const i = next++;
          const res = await request(processes[i % processes.length]!.url, i);
          await res.arrayBuffer();
          statuses.push(res.status);
        }
      }),
    );
    return statuses;
  }

  const scenarios: [string, number, (base: string, i: number) => Promise<Response>][] = [
    ['sliding log (plan)', 30, (base) => fetch(`${base}/`, { headers: { 'x-forwarded-for': '192.0.2.1' } })],
    ['GCRA (search)', 25, (base) => fetch(`${base}${v}/products?q=lamp`, { headers: { 'x-forwarded-for': '192.0.2.2' } })],
    [
      'token bucket (writes)',
      20,
      (base) => fetch(`${base}${v}/users`, { method: 'POST', headers: { 'x-forwarded-for': '192.0.2.3', 'content-type': 'application/json' }, body: '{"email":"x"}' }),
    ],
    [
      'fixed window (login per address)',
      15,
      (base, i) =>
        fetch(`${base}${v}/auth/login`, {
          method: 'POST',
          headers: { 'x-forwarded-for': '192.0.2.4', 'content-type': 'application/json' },
          body: JSON.stringify({ email: `p${i}@example.com`, password: 'wrong' }),
        }),
    ],
  ];

  for (const [name, limit, request] of scenarios) {
    it(`${name}: admits exactly ${limit} of 120 concurrent requests`, async () => {
      const statuses = await hammer(120, 40, request);
      const admitted = statuses.filter((s) => s !== 429);
      assert.ok(
        statuses.every((s) => s < 500),
        `5xx: ${statuses.filter((s) => s >= 500).join(', ')}`,
      );
      const histogram = statuses.reduce<Record<number, number>>((h, s) => ({ ...h, [s]: (h[s] ?? 0) + 1 }), {});
      assert.equal(admitted.length, limit, `statuses: ${JSON.stringify(histogram)}`);
    });
  }
});

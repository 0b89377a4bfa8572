import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisStore } from '../src/infra/redis/rate-limit.redis-store.ts';
import { ALGORITHMS, createMemoryStore, RateLimiter, type AlgorithmName, type Policy, type RateLimitCheck, type RateLimitStore } from '../src/platform/rate-limit/index.ts';

/** A clock the suite moves by hand; the Redis store takes it instead of TIME. */
class ManualClock {
  // A multiple of every window below, so aligned windows start at t = 0 of each test.
  ms = 1_800_000_000_000;
  now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

interface StoreCase {
  name: string;
  make(clock: ManualClock): RateLimitStore;
}

const redisClients: Redis[] = [];
const STORES: StoreCase[] = [{ name: 'memory store', make: (clock) => createMemoryStore({ now: clock.now }) }];
if (process.env.REDIS_URL) {
  STORES.push({
    name: 'Redis store',
    make(clock) {
      const client = new Redis(process.env.REDIS_URL!, { lazyConnect: true, commandTimeout: 2_000 });
      redisClients.push(client);
      return createRedisStore({ client, prefix: `test:rl:${randomBytes(4).toString('hex')}:`, now: clock.now });
    },
  });
}
after(() => {
  for (const client of redisClients) client.disconnect();
});

const WINDOW = 10_000;

function policy(algorithm: AlgorithmName, limit = 5, name = 'p', windowMs = WINDOW): Policy {
  return { name, algorithm, limit, windowMs, scope: 'subject', failMode: 'open', twoTier: false };
}

let partitions = 0;
function check(p: Policy, partition = `user:${++partitions}`): RateLimitCheck {
  return { policy: p, partition };
}

for (const store of STORES) {
  describe(`rate-limit algorithms on the ${store.name}`, () => {
    for (const algorithm of ALGORITHMS) {
      describe(algorithm, () => {
        it('admits exactly the limit at one instant, counting remaining down to zero', async () => {
          const clock = new ManualClock();
          const s = store.make(clock);
          const c = check(policy(algorithm));
          const remaining: number[] = [];
          for (let i = 0; i < 5; i++) {
            const [o] = await s.decide([c], 1);
            assert.equal(o!.allowed, true, `request ${i + 1}`);
            remaining.push(o!.remaining);
          }
          assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
          const [rejected] = await s.decide([c], 1);
          assert.equal(rejected!.allowed, false);
          assert.equal(rejected!.remaining, 0);
          assert.ok(rejected!.retryAfterMs > 0);
        });

        it('gives an honest retry-after: one millisecond early is still refused, on time is admitted', async () => {
          const clock = new ManualClock();
          const s = store.make(clock);
          const c = check(policy(algorithm));
          for (let i = 0; i < 5; i++) {
            await s.decide([c], 1);
            clock.advance(300);
          }
          const [rejected] = await s.decide([c], 1);
          assert.equal(rejected!.allowed, false);
          const wait = rejected!.retryAfterMs;
          clock.advance(wait - 1);
          assert.equal((await s.decide([c], 1))[0]!.allowed, false, 'admitted before retry-after');
          clock.advance(1);
          assert.equal((await s.decide([c], 1))[0]!.allowed, true, 'still refused at retry-after');
        });

        it('restores the whole quota once reset has passed', async () => {
          const clock = new ManualClock();
          const s = store.make(clock);
          const c = check(policy(algorithm));
          let last;
          for (let i = 0; i < 5; i++) last = (await s.decide([c], 1))[0]!;
          assert.ok(last!.resetMs > 0 && last!.resetMs <= 2 * WINDOW);
          clock.advance(last!.resetMs);
          const [fresh] = await s.decide([c], 1);
          assert.equal(fresh!.allowed, true);
          assert.equal(fresh!.remaining, 4);
        });

        it('keeps partitions apart', async () => {
          const clock = new ManualClock();
          const s = store.make(clock);
          const p = policy(algorithm, 1);
          const a = check(p);
          const b = check(p);
          assert.equal((await s.decide([a], 1))[0]!.allowed, true);
          assert.equal((await s.decide([a], 1))[0]!.allowed, false);
          assert.equal((await s.decide([b], 1))[0]!.allowed, true);
        });

        it('charges no policy when another rejects, whatever their partitions', async () => {
          const clock = new ManualClock();
          const s = store.make(clock);
          const wide = policy(algorithm, 5, 'wide');
          const narrow = policy(algorithm, 2, 'narrow');
          const subject = `user:${++partitions}`;
          const checks = [check(wide, subject), check(narrow, `ip:${partitions}`)];
          await s.decide(checks, 1);
          await s.decide(checks, 1);
          for (let i = 0; i < 3; i++) {
            const [w, n] = await s.decide(checks, 1);
            assert.equal(n!.allowed, false);
            assert.equal(w!.allowed, true, 'the wide policy alone would admit');
            assert.equal(w!.remaining, 3, 'the wide policy was charged by a rejected request');
          }
          const [alone] = await s.decide([checks[0]!], 1);
          assert.equal(alone!.remaining, 2);
        });

        it('gives a refunded unit back', async () => {
          const clock = new ManualClock();
          const s = store.make(clock);
          const c = check(policy(algorithm));
          await s.decide([c], 1);
          await s.decide([c], 1);
          await s.refund([c], 1);
          assert.equal((await s.decide([c], 1))[0]!.remaining, 3);
        });

        it('never admits more than the limit among concurrent decisions', async () => {
          const clock = new ManualClock();
          const s = store.make(clock);
          const c = check(policy(algorithm, 50));
          const outcomes = await Promise.all(Array.from({ length: 120 }, () => s.decide([c], 1)));
          assert.equal(outcomes.filter(([o]) => o!.allowed).length, 50);
        });
      });
    }

    describe('semantics that set the algorithms apart', () => {
      it('fixed window: the window opens at the first request and admits the full limit again when it ends', async () => {
        const clock = new ManualClock();
        const s = store.make(clock);
        const c = check(policy('fixed-window', 2));
        clock.advance(3_000);
        await s.decide([c], 1);
        clock.advance(5_000);
        const [second] = await s.decide([c], 1);
        assert.equal(second!.resetMs, 5_000);
        clock.advance(4_999);
        assert.equal((await s.decide([c], 1))[0]!.allowed, false);
        clock.advance(1);
        assert.deepEqual(await s.decide([c], 1), [{ policy: c.policy, allowed: true, remaining: 1, resetMs: WINDOW, retryAfterMs: 0 }]);
      });

      it('sliding log: a slot frees exactly one window after the request that took it', async () => {
        const clock = new ManualClock();
        const s = store.make(clock);
        const c = check(policy('sliding-log', 3));
        for (let i = 0; i < 3; i++) {
          await s.decide([c], 1);
          clock.advance(1_000);
        }
        const [rejected] = await s.decide([c], 1);
        assert.equal(rejected!.retryAfterMs, WINDOW - 3_000);
        clock.advance(WINDOW - 3_000);
        const [admitted] = await s.decide([c], 1);
        assert.deepEqual(admitted, { policy: c.policy, allowed: true, remaining: 0, resetMs: WINDOW, retryAfterMs: 0 });
        assert.equal((await s.decide([c], 1))[0]!.retryAfterMs, 1_000);
      });

      it('sliding window: the previous window weighs in by its overlap', async () => {
        const clock = new ManualClock();
        const s = store.make(clock);
        const c = check(policy('sliding-window', 10));
        for (let i = 0; i < 10; i++) await s.decide([c], 1);
        clock.advance(WINDOW + WINDOW / 4);
        // 10 × 3/4 of the previous window still counts: 7.5, so two more fit, not three.
        const [o] = await s.decide([c], 1);
        assert.equal(o!.remaining, 1);
        assert.equal((await s.decide([c], 1))[0]!.allowed, true);
        assert.equal((await s.decide([c], 1))[0]!.allowed, false);
      });

      it('token bucket: refills one token per window/limit and bursts up to the limit', async () => {
        const clock = new ManualClock();
        const s = store.make(clock);
        const c = check(policy('token-bucket', 5));
        for (let i = 0; i < 5; i++) await s.decide([c], 1);
        clock.advance(WINDOW / 5);
        assert.equal((await s.decide([c], 1))[0]!.allowed, true);
        assert.equal((await s.decide([c], 1))[0]!.allowed, false);
        clock.advance(10 * WINDOW);
        assert.equal((await s.decide([c], 1))[0]!.remaining, 4);
      });

      it('GCRA: spaces requests by the emission interval once the burst is spent', async () => {
        const clock = new ManualClock();
        const s = store.make(clock);
        const c = check(policy('gcra', 5));
        for (let i = 0; i < 5; i++) await s.decide([c], 1);
        const [rejected] = await s.decide([c], 1);
        assert.equal(rejected!.retryAfterMs, WINDOW / 5);
        assert.equal(rejected!.resetMs, WINDOW);
        clock.advance(WINDOW / 5);
        assert.equal((await s.decide([c], 1))[0]!.allowed, true);
      });

      it('fixed window: a pending delta is applied even when the decision rejects', async () => {
        const clock = new ManualClock();
        const s = store.make(clock);
        const p = policy('fixed-window', 5);
        const partition = `user:${++partitions}`;
        const [synced] = await s.decide([{ policy: p, partition, delta: 3 }], 0);
        assert.equal(synced!.remaining, 2);
        const [o] = await s.decide([{ policy: p, partition, delta: 2 }], 1);
        assert.equal(o!.allowed, false);
        assert.equal(o!.remaining, 0);
      });
    });
  });
}

describe('two-tier mode', () => {
  it('decides locally far from the limit, synchronises, and goes to the store near it', async () => {
    const clock = new ManualClock();
    const store = createMemoryStore({ now: clock.now });
    // Stand-in for the Redis store: the limiter only keeps local counts for a shared store.
    const shared: RateLimitStore = { ...store, kind: 'redis' };
    const calls = { count: 0 };
    const counting: RateLimitStore = { ...shared, decide: (checks, cost) => (calls.count++, shared.decide(checks, cost)) };
    const processes = [0, 1, 2].map(() => new RateLimiter({ store: counting, now: clock.now, nearLimit: 0.1 }));
    const p: Policy = { ...policy('fixed-window', 1_000, 'tt', 60_000), twoTier: true };
    const c = check(p);
    let admitted = 0;
    for (let round = 0; round < 40; round++) {
      for (const limiter of processes) {
        for (let i = 0; i < 10; i++) if ((await limiter.decide([c])).allowed) admitted++;
      }
      if (round % 2 === 1) await Promise.all(processes.map((l) => l.sync()));
      clock.advance(10);
    }
    assert.equal(admitted, 1_000, 'admitted more or fewer than the limit');
    assert.ok(calls.count < 1_200 * 0.5, `too many store calls: ${calls.count}`);
    const [state] = await store.decide([c], 0);
    assert.equal(state!.remaining, 0);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { Redis, type Cluster } from 'ioredis';
import { createRedisStore } from '../src/infra/redis/rate-limit.redis-store.ts';
import { ALGORITHMS, RateLimiter, type AlgorithmName, type CheckOutcome, type Policy, type RateLimitCheck, type RateLimitStore } from '../src/platform/rate-limit/index.ts';
import { redisClusterUnavailable, startRedisCluster, type ClusterNode, type RedisCluster } from './helpers/redis-cluster.ts';

/**
 * The Redis store on a real Redis Cluster of three masters started here (never
 * the shared server): decisions under one hash tag, decisions whose checks
 * span hash tags on different nodes (split per tag and compensated), NOSCRIPT
 * recovery, and many decisions in flight. The single-node server at REDIS_URL
 * is the reference: a Cluster must give the same answers.
 */
const skip = process.env.REDIS_URL ? redisClusterUnavailable() : 'needs REDIS_URL (the run against real Redis servers)';

/** A clock moved by hand; the stores take it instead of Redis TIME. */
class ManualClock {
  // A multiple of every window below, so aligned windows start at t = 0.
  ms = 1_800_000_000_000;
  now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

function policy(name: string, algorithm: AlgorithmName, limit: number, windowMs = 10_000): Policy {
  return { name, algorithm, limit, windowMs, scope: 'subject', failMode: 'open', twoTier: false };
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

const freshPrefix = () => `test:cl:${randomBytes(4).toString('hex')}:`;
/** The key format the store documents: `<prefix>{<partition>}:<policy>`. */
const keyOf = (prefix: string, check: RateLimitCheck) => `${prefix}{${check.partition}}:${check.policy.name}`;

describe('the Redis store on a 3-master Redis Cluster', { skip }, () => {
  let cluster: RedisCluster;
  let client: Cluster;
  let reference: Redis;
  let nodes: readonly ClusterNode[];
  let serial = 0;

  /** A partition (`<label>:<n>`, never used before) whose keys live on `node`. */
  async function partitionOn(node: ClusterNode, label: string): Promise<string> {
    for (;;) {
      const partition = `${label}:${++serial}`;
      if ((await cluster.nodeOf(`{${partition}}`)) === node) return partition;
    }
  }

  const clusterStore = (prefix = freshPrefix(), clock?: ManualClock): RateLimitStore => createRedisStore({ client, prefix, now: clock?.now });
  const singleStore = (prefix = freshPrefix(), clock?: ManualClock): RateLimitStore => createRedisStore({ client: reference, prefix, now: clock?.now });

  before(async () => {
    cluster = await startRedisCluster(3);
    nodes = cluster.nodes;
    client = cluster.client();
    await client.connect();
    reference = new Redis(process.env.REDIS_URL!, { lazyConnect: true, commandTimeout: 2_000 });
    await reference.connect();
    // No node has the script yet. Decide once on every node until it answers, so that the tests
    // below are about their own contract; loading it is tested on its own at the end.
    const warm = clusterStore();
    for (const node of nodes) {
      const check = { policy: policy('warm', 'fixed-window', 1), partition: await partitionOn(node, 'warm') };
      for (let attempt = 0; ; attempt++) {
        try {
          await warm.decide([check], 0);
          break;
        } catch (error) {
          if (attempt > 30) throw error;
        }
      }
    }
  });
  after(async () => {
    reference?.disconnect();
    await cluster?.stop();
  });

  describe('decisions whose checks share one hash tag', () => {
    it('admit exactly the limit then reject, all-or-nothing across policies, for every algorithm on every node', async () => {
      for (const algorithm of ALGORITHMS) {
        const clock = new ManualClock();
        const store = clusterStore(freshPrefix(), clock);
        const burst = policy('burst', algorithm, 3, 1_000);
        const sustained = policy('sustained', algorithm, 5);
        for (const node of nodes) {
          const partition = await partitionOn(node, 'user');
          const checks = [
            { policy: burst, partition },
            { policy: sustained, partition },
          ];
          const at = `${algorithm} on :${node.port}`;
          const remaining: number[][] = [];
          for (let i = 0; i < 3; i++) {
            const outcomes = await store.decide(checks, 1);
            assert.ok(
              outcomes.every((o) => o.allowed),
              `${at}: request ${i + 1} refused`,
            );
            remaining.push(outcomes.map((o) => o.remaining));
          }
          assert.deepEqual(remaining, [
            [2, 4],
            [1, 3],
            [0, 2],
          ], at);
          for (let i = 0; i < 3; i++) {
            const [b, s] = await store.decide(checks, 1);
            assert.equal(b!.allowed, false, `${at}: admitted beyond the burst limit`);
            assert.ok(b!.retryAfterMs > 0, at);
            assert.equal(s!.allowed, true, at);
            assert.equal(s!.remaining, 2, `${at}: the sustained policy was charged by a rejected request`);
          }
          const [alone] = await store.decide([checks[1]!], 1);
          assert.equal(alone!.remaining, 1, `${at}: the sustained policy was charged by a rejected request`);
        }
      }
    });

    it('give the same answers as the single-node store over a run of decisions, refunds and clock moves', async () => {
      const parts = await Promise.all(nodes.map((node) => partitionOn(node, 'user')));
      for (const algorithm of ALGORITHMS) {
        const run = async (store: RateLimitStore, clock: ManualClock) => {
          const burst = policy('burst', algorithm, 3, 1_000);
          const sustained = policy('sustained', algorithm, 8);
          const log: CheckOutcome[][] = [];
          for (let step = 0; step < 40; step++) {
            const partition = parts[step % parts.length]!;
            const checks = [
              { policy: burst, partition },
              { policy: sustained, partition },
            ];
            const outcomes = await store.decide(checks, step % 7 === 6 ? 2 : 1);
            log.push(outcomes);
            if (step % 5 === 4 && outcomes.every((o) => o.allowed)) await store.refund(checks, 1);
            clock.advance(97 * (step % 4));
          }
          return log;
        };
        const onCluster = new ManualClock();
        const onSingle = new ManualClock();
        const got = await run(clusterStore(freshPrefix(), onCluster), onCluster);
        const want = await run(singleStore(freshPrefix(), onSingle), onSingle);
        assert.ok(
          want.some((o) => o.some((c) => !c.allowed)),
          'the run never reaches a limit',
        );
        assert.deepEqual(got, want, `${algorithm}: the Cluster answers differently from a single node`);
      }
    });

    it('keep each partition on the node that serves its hash slot, spread over every node', async () => {
      const prefix = freshPrefix();
      const store = clusterStore(prefix);
      const policies = [policy('a', 'fixed-window', 5), policy('b', 'sliding-log', 5)];
      const expected = new Map<ClusterNode, string[]>();
      for (const node of nodes) {
        const keys: string[] = [];
        for (let i = 0; i < 4; i++) {
          const partition = await partitionOn(node, 'key');
          const checks = policies.map((p) => ({ policy: p, partition }));
          const outcomes = await store.decide(checks, 1);
          assert.ok(outcomes.every((o) => o.allowed));
          keys.push(...checks.map((c) => keyOf(prefix, c)));
        }
        expected.set(node, keys.sort());
      }
      for (const node of nodes) {
        const held = (await node.admin.keys(`${prefix}*`)).sort();
        assert.deepEqual(held, expected.get(node), `keys held by :${node.port}`);
        for (const key of held) assert.equal(await cluster.nodeOf(key), node, `${key} is not on the node that serves its slot`);
      }
    });
  });

  describe('decisions whose checks span hash tags on different nodes', () => {
    it('charge every policy when all admit, and none when one rejects, whichever side rejects', async () => {
      for (const algorithm of ALGORITHMS) {
        const clock = new ManualClock();
        const limiter = new RateLimiter({ store: clusterStore(freshPrefix(), clock), now: clock.now });
        const loginIp = policy('login-ip', algorithm, 5);
        const loginAccount = policy('login-account', algorithm, 2);
        const ip = { policy: loginIp, partition: await partitionOn(nodes[0]!, 'ip') };
        const account = { policy: loginAccount, partition: await partitionOn(nodes[1]!, 'acct') };
        const left = async (check: RateLimitCheck) => (await limiter.decide([check], 0)).results[0]!.remaining;

        for (let i = 1; i <= 2; i++) {
          const d = await limiter.decide([ip, account]);
          assert.equal(d.degraded, null);
          assert.equal(d.allowed, true, `${algorithm}: login ${i} refused`);
          assert.deepEqual(
            d.results.map((r) => r.remaining),
            [5 - i, 2 - i],
            algorithm,
          );
        }
        assert.equal(await left(ip), 3, `${algorithm}: the per-IP policy was not charged`);
        assert.equal(await left(account), 0, `${algorithm}: the per-account policy was not charged`);

        // The account is spent: its rejection must leave the per-IP count alone.
        for (let i = 0; i < 3; i++) {
          const d = await limiter.decide([ip, account]);
          assert.equal(d.degraded, null);
          assert.equal(d.allowed, false, `${algorithm}: admitted beyond the per-account limit`);
          assert.deepEqual(
            d.violated.map((p) => p.name),
            ['login-account'],
          );
          assert.equal(d.results[0]!.remaining, 3, `${algorithm}: the rejected login reports the per-IP policy charged`);
          assert.equal(await left(ip), 3, `${algorithm}: a rejected login charged the per-IP policy`);
        }
        assert.equal((await limiter.decide([ip])).results[0]!.remaining, 2, `${algorithm}: the per-IP count is off`);

        // The other way round: the IP is spent, a fresh account must stay uncharged.
        const other = { policy: loginAccount, partition: await partitionOn(nodes[2]!, 'acct') };
        while ((await limiter.decide([ip])).allowed);
        for (let i = 0; i < 3; i++) {
          const d = await limiter.decide([ip, other]);
          assert.equal(d.allowed, false, `${algorithm}: admitted beyond the per-IP limit`);
          assert.deepEqual(
            d.violated.map((p) => p.name),
            ['login-ip'],
          );
          assert.equal(d.results[1]!.remaining, 2);
          assert.equal(await left(other), 2, `${algorithm}: a rejected login charged the per-account policy`);
        }
        assert.equal((await limiter.decide([other])).results[0]!.remaining, 1, `${algorithm}: the per-account count is off`);
      }
    });

    it('leave the other two nodes uncharged when one of three rejects', async () => {
      const clock = new ManualClock();
      const limiter = new RateLimiter({ store: clusterStore(freshPrefix(), clock), now: clock.now });
      const checks = [
        { policy: policy('free', 'gcra', 10), partition: await partitionOn(nodes[0]!, 'user') },
        { policy: policy('login-ip', 'sliding-log', 10), partition: await partitionOn(nodes[1]!, 'ip') },
        { policy: policy('login-account', 'fixed-window', 1), partition: await partitionOn(nodes[2]!, 'acct') },
      ];
      assert.equal((await limiter.decide(checks)).allowed, true);
      for (let i = 0; i < 4; i++) {
        const d = await limiter.decide(checks);
        assert.equal(d.allowed, false);
        assert.deepEqual(
          d.results.map((r) => r.remaining),
          [9, 9, 0],
        );
      }
      const after = await Promise.all(checks.map(async (check) => (await limiter.decide([check], 0)).results[0]!.remaining));
      assert.deepEqual(after, [9, 9, 0], 'rejected decisions charged the policies that admitted');
    });

    it('answer as the single-node store does, remaining and reset included, when one side rejects', async () => {
      const got: Record<string, CheckOutcome[][]> = {};
      const want: Record<string, CheckOutcome[][]> = {};
      for (const algorithm of ALGORITHMS) {
        const ip = await partitionOn(nodes[0]!, 'ip');
        const account = await partitionOn(nodes[1]!, 'acct');
        const otherIp = await partitionOn(nodes[2]!, 'ip');
        const untouched = await partitionOn(nodes[1]!, 'acct');
        const run = async (store: RateLimitStore, clock: ManualClock) => {
          const loginIp = policy('login-ip', algorithm, 5);
          const loginAccount = policy('login-account', algorithm, 2);
          const checks = [
            { policy: loginIp, partition: ip },
            { policy: loginAccount, partition: account },
          ];
          const log: CheckOutcome[][] = [];
          for (let i = 0; i < 4; i++) {
            log.push(await store.decide(checks, 1));
            clock.advance(250);
          }
          // An IP that is spent tries an account never used: the account's state must stay blank.
          const spent = { policy: policy('login-ip', algorithm, 1), partition: otherIp };
          log.push(await store.decide([spent], 1));
          log.push(await store.decide([spent, { policy: loginAccount, partition: untouched }], 1));
          return log;
        };
        const onCluster = new ManualClock();
        const onSingle = new ManualClock();
        got[algorithm] = await run(clusterStore(freshPrefix(), onCluster), onCluster);
        want[algorithm] = await run(singleStore(freshPrefix(), onSingle), onSingle);
        assert.equal(want[algorithm]![3]![1]!.allowed, false);
        assert.equal(want[algorithm]![5]![0]!.allowed, false);
      }
      // Logins 3 and 4 are refused by the per-account policy, the last one by the per-IP policy; the
      // other policy admitted them and was given its unit back, so its state (the RateLimit header's
      // r= and t=) is that of an uncharged policy, as the single node reports it.
      const differ = ALGORITHMS.filter((a) => !isDeepStrictEqual(got[a], want[a]));
      assert.deepEqual(got, want, `the Cluster reports the compensated policy differently from a single node (${differ.join(', ')})`);
    });
  });

  describe('many decisions in flight', () => {
    it('admit exactly the limit per partition: 500 decisions over 50 partitions', async () => {
      const limiter = new RateLimiter({ store: clusterStore() });
      const checks = Array.from({ length: 50 }, (_, i) => ({
        policy: policy(`p${i % ALGORITHMS.length}`, ALGORITHMS[i % ALGORITHMS.length]!, 7, 60_000),
        partition: `burst:${randomBytes(4).toString('hex')}`,
      }));
      const served = new Set(await Promise.all(checks.map((c) => cluster.nodeOf(`{${c.partition}}`))));
      assert.equal(served.size, 3, 'the partitions do not cover every node');
      const requests = checks.flatMap((check) => Array.from({ length: 10 }, () => check));
      shuffle(requests); // every event-loop turn mixes partitions and nodes
      const decisions = await Promise.all(requests.map((check) => limiter.decide([check])));
      assert.equal(decisions.filter((d) => d.degraded !== null).length, 0, 'decisions fell back to the local store');
      const admitted = new Map<string, number>();
      decisions.forEach((d, i) => {
        if (d.allowed) admitted.set(requests[i]!.partition, (admitted.get(requests[i]!.partition) ?? 0) + 1);
      });
      for (const check of checks) assert.equal(admitted.get(check.partition), 7, `${check.policy.algorithm} on ${check.partition}`);
    });

    it('leak no charge when concurrent logins span two hash tags', async () => {
      const clock = new ManualClock();
      const limiter = new RateLimiter({ store: clusterStore(freshPrefix(), clock), now: clock.now });
      const loginIp = policy('login-ip', 'fixed-window', 12);
      const loginAccount = policy('login-account', 'gcra', 3);
      const ips = await Promise.all(nodes.map((node) => partitionOn(node, 'ip')));
      const accounts = await Promise.all(Array.from({ length: 15 }, (_, i) => partitionOn(nodes[i % 3]!, 'acct')));
      const requests = Array.from({ length: 300 }, (_, i) => [
        { policy: loginIp, partition: ips[i % ips.length]! },
        { policy: loginAccount, partition: accounts[Math.floor(Math.random() * accounts.length)]! },
      ]);
      const decisions = await Promise.all(requests.map((checks) => limiter.decide(checks)));
      assert.equal(decisions.filter((d) => d.degraded !== null).length, 0);
      const admitted = new Map<string, number>();
      decisions.forEach((d, i) => {
        if (!d.allowed) return;
        for (const c of requests[i]!) admitted.set(c.partition, (admitted.get(c.partition) ?? 0) + 1);
      });
      for (const [partition, p] of [...ips.map((ip) => [ip, loginIp] as const), ...accounts.map((a) => [a, loginAccount] as const)]) {
        const count = admitted.get(partition) ?? 0;
        assert.ok(count <= p.limit, `${partition}: admitted ${count} over a limit of ${p.limit}`);
        const [state] = (await limiter.decide([{ policy: p, partition }], 0)).results;
        assert.equal(state!.remaining, p.limit - count, `${partition}: charged for ${p.limit - state!.remaining} but admitted ${count}`);
      }
    });
  });

  describe('NOSCRIPT', () => {
    it('keeps deciding when the script cache of every node is flushed mid-run', async () => {
      const limiter = new RateLimiter({ store: clusterStore() });
      const checks = await Promise.all(nodes.map(async (node) => ({ policy: policy('free', 'fixed-window', 20, 60_000), partition: await partitionOn(node, 'user') })));
      for (const check of checks) assert.equal((await limiter.decide([check])).results[0]!.remaining, 19);
      // Several rounds: a store that reloads the script on the wrong node may get lucky once, not five times.
      for (let round = 1; round <= 5; round++) {
        await Promise.all(nodes.map((node) => node.admin.script('FLUSH')));
        for (const [n, check] of checks.entries()) {
          const d = await limiter.decide([check]);
          assert.equal(d.degraded, null, `round ${round}: the decision on :${nodes[n]!.port} failed after SCRIPT FLUSH and fell back to the local store`);
          assert.equal(d.results[0]!.remaining, 19 - round, `round ${round}: the decision did not come from the Cluster`);
        }
      }
    });
  });
});

import type { Config } from '../../config.ts';
import {
  createClientIpResolver,
  createMemoryStore,
  LoadShedder,
  PolicySet,
  RateLimiter,
  type ClientIpResolver,
  type RateLimitStore,
} from '../../platform/rate-limit/index.ts';
import { createRedisClient } from './redis-client.ts';
import { createRedisStore } from './rate-limit.redis-store.ts';

/** Rate limiting and load shedding, wired from the configuration. */
export interface RateLimiting {
  /** null when STOA_RATE_LIMIT=off. */
  limiter: RateLimiter | null;
  policies: PolicySet;
  clientIp: ClientIpResolver;
  /** null when STOA_LOAD_SHEDDING=off. */
  shedder: LoadShedder | null;
  close(): Promise<void>;
}

export interface RateLimitingOptions {
  /** Milliseconds since the epoch. Only tests pass one: it then replaces Redis TIME too. */
  now?: () => number;
}

/**
 * Builds the limiter over the configured store. The Redis store gets a
 * connection of its own: short command timeout, no offline queue (a lost
 * server fails fast and each policy's fail mode applies), reconnecting on
 * its own so limiting resumes when Redis returns.
 */
export function createRateLimiting(config: Config, options: RateLimitingOptions = {}): RateLimiting {
  const rl = config.rateLimit;
  const shedder = config.loadShedding ? new LoadShedder(config.loadShedding) : null;
  const policies = new PolicySet({ specs: rl?.policies ?? {}, algorithm: rl?.algorithm ?? 'fixed-window', failMode: rl?.failMode ?? 'open' });
  const clientIp = createClientIpResolver({ trustedProxies: rl?.trustedProxies ?? [], ipv6Prefix: rl?.ipv6Prefix ?? 56 });
  if (!rl) return { limiter: null, policies, clientIp, shedder, close: async () => shedder?.stop() };

  const client = rl.store === 'redis' && config.redisUrl ? createRedisClient(config.redisUrl, { commandTimeoutMs: rl.timeoutMs, offlineQueue: false }) : undefined;
  const store: RateLimitStore = client ? createRedisStore({ client, prefix: rl.prefix, now: options.now }) : createMemoryStore({ now: options.now });
  client?.connect().catch(() => {});
  const limiter = new RateLimiter({ store, now: options.now, syncIntervalMs: rl.twoTierSyncMs });
  return {
    limiter,
    policies,
    clientIp,
    shedder,
    async close() {
      shedder?.stop();
      limiter.close();
      await store.close();
      client?.disconnect();
    },
  };
}

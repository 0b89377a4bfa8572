import { Redis } from 'ioredis';

export interface RedisClientOptions {
  /** Per-command timeout in ms (1,000 by default). */
  commandTimeoutMs?: number;
  /**
   * Queue commands while disconnected (the default) or reject them at once.
   * Latency-critical callers (the rate limiter) fail fast instead of waiting.
   */
  offlineQueue?: boolean;
}

/**
 * A Redis client that fails fast: commands error after a short timeout instead
 * of queueing forever while the server is away, and it reconnects on its own.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: options.offlineQueue ?? true,
    connectTimeout: 2_000,
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // Connection errors surface through commands and readiness; do not crash on the event.
  client.on('error', () => {});
  return client;
}

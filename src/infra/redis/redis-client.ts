import { Redis } from 'ioredis';

/**
 * A Redis client that fails fast: commands error after a short timeout instead
 * of queueing forever while the server is away, and it reconnects on its own.
 */
export function createRedisClient(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // Connection errors surface through commands and readiness; do not crash on the event.
  client.on('error', () => {});
  return client;
}

import type { Redis } from 'ioredis';
import { BusListeners, decodeBusMessage, encodeBusMessage, type RealtimeBus } from '../../platform/realtime/bus.ts';
import { createRedisClient } from './redis-client.ts';

/**
 * The realtime bus over Redis pub/sub: one subscriber connection per process
 * on `channel` (prefixed per deployment, so deployments and parallel tests
 * sharing a Redis never hear each other), publishing over `publisher`.
 * After a reconnect it reports a `commit`: something may have been missed.
 */
export function createRedisBus(redisUrl: string, publisher: Redis, channel: string): RealtimeBus & { ready: Promise<void> } {
  const listeners = new BusListeners();
  const subscriber = createRedisClient(redisUrl, { commandTimeoutMs: 5_000 });
  let connectedOnce = false;
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const decoded = decodeBusMessage(message);
    if (decoded) listeners.emit(decoded[0], decoded[1]);
  });
  subscriber.on('ready', () => {
    if (connectedOnce) listeners.emit('commit', '');
    connectedOnce = true;
  });
  const ready = subscriber
    .connect()
    .then(() => subscriber.subscribe(channel))
    .then(
      () => {},
      () => {},
    );
  return {
    kind: 'redis',
    ready,
    async publish(topic, payload) {
      await publisher.publish(channel, encodeBusMessage(topic, payload));
    },
    subscribe: (listener) => listeners.add(listener),
    async close() {
      await ready;
      subscriber.disconnect();
    },
  };
}

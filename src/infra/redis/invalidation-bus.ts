import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { InvalidationBus } from '../../platform/auth/credential-cache.ts';
import { createRedisClient } from './redis-client.ts';

export interface RedisInvalidationBusOptions {
  url: string;
  /** Channel name; processes of one deployment share it (tests give each database schema its own). */
  channel: string;
  /** How long `publish` waits for every listener's acknowledgement. */
  ackTimeoutMs?: number;
  onTimeout?: (missing: number) => void;
  onUnreachable?: (error: unknown) => void;
}

interface Message {
  id: string;
  from: string;
  tags: string[];
}

/**
 * Redis pub/sub with acknowledgements. PUBLISH answers how many connections received the message; each process
 * applies it and acknowledges on the publisher's own channel, and `publish` resolves when as many
 * acknowledgements as receivers have come back (the publisher itself included). A process whose subscriber
 * connection is down is unhealthy, and its cache serves nothing until it is subscribed again.
 */
export function createRedisInvalidationBus(options: RedisInvalidationBusOptions): InvalidationBus {
  const ackTimeoutMs = options.ackTimeoutMs ?? 1_000;
  const self = randomUUID();
  const ackChannel = `${options.channel}:ack:${self}`;
  const subscriber: Redis = createRedisClient(options.url, { offlineQueue: true });
  const publisher: Redis = createRedisClient(options.url);
  const handlers: Array<(tags: readonly string[]) => void> = [];
  const waiting = new Map<string, { acks: number; expected: number | undefined; done: () => void }>();
  let subscribed = false;

  subscriber.on('message', (channel: string, raw: string) => {
    if (channel === ackChannel) {
      const wait = waiting.get(raw);
      if (!wait) return;
      wait.acks++;
      if (wait.expected !== undefined && wait.acks >= wait.expected) wait.done();
      return;
    }
    let message: Message;
    try {
      message = JSON.parse(raw) as Message;
    } catch {
      return;
    }
    if (!Array.isArray(message.tags)) return;
    for (const handler of handlers) handler(message.tags);
    void publisher.publish(`${options.channel}:ack:${message.from}`, message.id).catch(() => {});
  });
  const markUnsubscribed = () => {
    subscribed = false;
  };
  subscriber.on('close', markUnsubscribed);
  subscriber.on('reconnecting', markUnsubscribed);
  // ioredis subscribes again after a reconnect; the cache is usable once it has.
  subscriber.on('ready', () => {
    void subscriber.subscribe(options.channel, ackChannel).then(
      () => (subscribed = true),
      () => {},
    );
  });
  // Redis being down must not stop a process from starting: the cache stays unhealthy (serves nothing) until the
  // subscription is in place, and ioredis keeps reconnecting.
  subscriber.connect().catch(() => {});
  publisher.connect().catch(() => {});

  return {
    get healthy() {
      return subscribed;
    },
    async publish(tags) {
      const id = randomUUID();
      let resolve!: () => void;
      const acknowledged = new Promise<void>((r) => (resolve = r));
      const wait: { acks: number; expected: number | undefined; done: () => void } = { acks: 0, expected: undefined, done: resolve };
      waiting.set(id, wait);
      try {
        try {
          wait.expected = await publisher.publish(options.channel, JSON.stringify({ id, from: self, tags: [...tags] } satisfies Message));
        } catch (error) {
          // Redis is unreachable: processes that cannot reach it serve nothing from memory either. The write stands.
          options.onUnreachable?.(error);
          return;
        }
        // Acknowledgements may have arrived before the count did.
        if (wait.acks >= wait.expected) return;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ackTimeoutMs)));
        const outcome = await Promise.race([acknowledged, timedOut]);
        clearTimeout(timer);
        if (outcome === 'timeout') options.onTimeout?.(wait.expected - wait.acks);
      } finally {
        waiting.delete(id);
      }
    },
    subscribe(handler) {
      handlers.push(handler);
    },
    async close() {
      subscribed = false;
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}

/**
 * The signal bus between the processes of one deployment: `commit` (new
 * events may be in the log), `chat` (a chat message, never stored) and
 * `revoke` (a credential was revoked). Implementations: in-process (the
 * embedded default, one process by nature), PostgreSQL LISTEN/NOTIFY
 * (infra/db/event-feed.pg-notify.ts) and Redis pub/sub
 * (infra/redis/event-feed.redis-pubsub.ts), each namespaced so deployments
 * (and parallel tests, one schema each) sharing a server never hear each other.
 */
export type BusTopic = 'commit' | 'chat';

export type BusListener = (topic: BusTopic, payload: string) => void;

export interface RealtimeBus {
  /** Sends to every process, this one included (at most once each; may be lost). */
  publish(topic: BusTopic, payload: string): Promise<void>;
  /** Hears every publication; also called with `commit` after a reconnect (something may have been missed). */
  subscribe(listener: BusListener): () => void;
  readonly kind: 'in-process' | 'postgres' | 'redis';
  close(): Promise<void>;
}

/** Listeners of one bus; the implementations share it. */
export class BusListeners {
  readonly #listeners = new Set<BusListener>();
  add(listener: BusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  emit(topic: BusTopic, payload: string): void {
    for (const listener of this.#listeners) {
      try {
        listener(topic, payload);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}

/** Encodes a publication as one string (`topic` newline `payload`) for transports with one channel. */
export function encodeBusMessage(topic: BusTopic, payload: string): string {
  return `${topic}\n${payload}`;
}

export function decodeBusMessage(message: string): [BusTopic, string] | null {
  const newline = message.indexOf('\n');
  const topic = newline < 0 ? message : message.slice(0, newline);
  if (topic !== 'commit' && topic !== 'chat') return null;
  return [topic, newline < 0 ? '' : message.slice(newline + 1)];
}

/** The embedded default: one process, delivery on the next tick. */
export function createInProcessBus(): RealtimeBus {
  const listeners = new BusListeners();
  return {
    kind: 'in-process',
    async publish(topic, payload) {
      queueMicrotask(() => listeners.emit(topic, payload));
    },
    subscribe: (listener) => listeners.add(listener),
    async close() {},
  };
}

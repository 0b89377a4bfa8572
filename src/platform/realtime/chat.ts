import { AppError } from '../../domain/shared/errors.ts';
import type { RealtimeBus } from './bus.ts';

/** A chat message as every subscriber of its room receives it. */
export interface ChatMessage {
  room: string;
  data: Record<string, unknown>;
  from: string;
  sent_at: string;
}

export const CHAT_ROOM = /^[a-z0-9-]{1,64}$/;
/** The largest `data` of a chat message, as JSON bytes. */
export const CHAT_DATA_MAX_BYTES = 4096;

/**
 * The size rule of a chat message, for every transport that publishes one;
 * `field` names what carried the data in that transport (`data` on the
 * WebSocket, `text` on gRPC).
 */
export function checkChatData(data: Record<string, unknown>, field: string): void {
  if (Buffer.byteLength(JSON.stringify(data)) <= CHAT_DATA_MAX_BYTES) return;
  throw new AppError('VALIDATION_FAILED', `A chat message may be at most ${CHAT_DATA_MAX_BYTES} bytes of JSON`, {
    errors: [{ field, code: 'too_long', message: `at most ${CHAT_DATA_MAX_BYTES} bytes as JSON` }],
  });
}

/**
 * Chat rooms across processes: messages go through the bus (never the event
 * log) and reach the local listeners of their room on every process.
 */
export class ChatRelay {
  readonly #bus: RealtimeBus;
  readonly #rooms = new Map<string, Set<(message: ChatMessage) => void>>();
  readonly #unsubscribe: () => void;

  constructor(bus: RealtimeBus) {
    this.#bus = bus;
    this.#unsubscribe = bus.subscribe((topic, payload) => {
      if (topic !== 'chat') return;
      let message: ChatMessage;
      try {
        message = JSON.parse(payload) as ChatMessage;
      } catch {
        return;
      }
      for (const listener of this.#rooms.get(message.room) ?? []) listener(message);
    });
  }

  join(room: string, listener: (message: ChatMessage) => void): () => void {
    let listeners = this.#rooms.get(room);
    if (!listeners) this.#rooms.set(room, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#rooms.delete(room);
    };
  }

  async publish(message: ChatMessage): Promise<void> {
    await this.#bus.publish('chat', JSON.stringify(message));
  }

  close(): void {
    this.#unsubscribe();
    this.#rooms.clear();
  }
}

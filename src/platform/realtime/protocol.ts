import type { StoredEvent } from '../../domain/events/index.ts';
import type { Clock } from '../../domain/shared/clock.ts';
import { AppError, type ErrorCode } from '../../domain/shared/errors.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import { asAppError } from '../errors/index.ts';
import { resolveChannel, type ChannelDeps } from './channels.ts';
import { checkChatData, type ChatMessage, type ChatRelay } from './chat.ts';
import type { EventHub, HubSubscription } from './hub.ts';

/** What the server sends, as JSON objects. */
export type ServerMessage =
  | { type: 'subscribed'; id: string; channel: string }
  | { type: 'event'; id: string; channel: string; event: Record<string, unknown> }
  | { type: 'message'; channel: string; data: Record<string, unknown>; from: string; sent_at: string }
  | { type: 'pong' }
  | { type: 'error'; id?: string; code: ErrorCode; message: string };

/** The socket as the protocol sees it: the adapter serializes, frames and watches backpressure. */
export interface ProtocolSocket {
  send(message: ServerMessage): void;
}

export interface ProtocolDeps extends ChannelDeps {
  hub: EventHub;
  chat: ChatRelay;
  clock: Clock;
  /** Client messages allowed per second on one connection; the excess is dropped with an error. */
  messagesPerSecond: number;
  /** The event as `GET /v1/events` shows it. */
  present(event: StoredEvent): Record<string, unknown>;
}

const SUBSCRIPTION_ID = /^[\x21-\x7e]{1,128}$/;

type Active = { close(): void };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The WebSocket protocol of `/v1/ws`, apart from any socket (as graphql-ws
 * keeps its machine apart from `ws`): the adapter feeds it text frames and
 * sends what it emits. Malformed JSON or an unknown type is an `error`
 * BAD_REQUEST; more than `messagesPerSecond` messages a second is an `error`
 * RATE_LIMITED with the excess dropped; the connection stays open either way.
 */
export class RealtimeSession {
  readonly #principal: Principal;
  readonly #socket: ProtocolSocket;
  readonly #deps: ProtocolDeps;
  readonly #subscriptions = new Map<string, Active | null>();
  #windowStart = 0;
  #windowCount = 0;
  #closed = false;

  constructor(principal: Principal, socket: ProtocolSocket, deps: ProtocolDeps) {
    this.#principal = principal;
    this.#socket = socket;
    this.#deps = deps;
  }

  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  /** One text frame from the client. */
  receive(text: string): void {
    if (this.#closed) return;
    const now = this.#deps.clock.now().getTime();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    this.#windowCount += 1;
    if (this.#windowCount > this.#deps.messagesPerSecond) {
      // One answer per second of excess; the rest is dropped silently.
      if (this.#windowCount === this.#deps.messagesPerSecond + 1) {
        this.#error(undefined, 'RATE_LIMITED', `More than ${this.#deps.messagesPerSecond} messages a second: the excess is dropped`);
      }
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.#error(undefined, 'BAD_REQUEST', 'The message is not valid JSON');
      return;
    }
    if (!isObject(message) || typeof message.type !== 'string') {
      this.#error(undefined, 'BAD_REQUEST', 'A message is a JSON object with a string "type"');
      return;
    }
    switch (message.type) {
      case 'ping':
        this.#socket.send({ type: 'pong' });
        return;
      case 'subscribe':
        void this.#subscribe(message);
        return;
      case 'unsubscribe':
        this.#unsubscribe(message);
        return;
      case 'publish':
        void this.#publish(message);
        return;
      default:
        this.#error(undefined, 'BAD_REQUEST', `Unknown message type "${message.type.slice(0, 40)}": use subscribe, unsubscribe, publish or ping`);
    }
  }

  /** The connection is gone: every subscription ends. */
  close(): void {
    this.#closed = true;
    for (const active of this.#subscriptions.values()) active?.close();
    this.#subscriptions.clear();
  }

  #error(id: string | undefined, code: ErrorCode, message: string): void {
    if (this.#closed) return;
    this.#socket.send({ type: 'error', ...(id !== undefined ? { id } : {}), code, message });
  }

  #fail(id: string | undefined, thrown: unknown): void {
    const error = asAppError(thrown);
    const fields = error.errors?.map((e) => `${e.field} ${e.message}`).join('; ');
    this.#error(id, error.code, fields ? `${error.message}: ${fields}` : error.message);
  }

  async #subscribe(message: Record<string, unknown>): Promise<void> {
    const { id, channel, after, types } = message;
    if (typeof id !== 'string' || !SUBSCRIPTION_ID.test(id)) {
      this.#error(undefined, 'VALIDATION_FAILED', 'subscribe needs an "id": 1 to 128 printable characters');
      return;
    }
    if (typeof channel !== 'string' || channel.length > 200) {
      this.#error(id, 'VALIDATION_FAILED', 'subscribe needs a "channel": events, orders, posts:<user id> or chat:<room>');
      return;
    }
    if (after !== undefined && (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0)) {
      this.#error(id, 'VALIDATION_FAILED', '"after" must be the sequence of an event (a non-negative integer)');
      return;
    }
    // How many patterns and which is resolveChannel's check (the domain's, as over REST).
    if (types !== undefined && (!Array.isArray(types) || !types.every((t) => typeof t === 'string'))) {
      this.#error(id, 'VALIDATION_FAILED', '"types" must be an array of event types or patterns like order.*');
      return;
    }
    if (this.#subscriptions.has(id)) {
      this.#error(id, 'CONFLICT', `A subscription with id "${id}" already exists on this connection`);
      return;
    }
    this.#subscriptions.set(id, null);
    try {
      const resolved = await resolveChannel(this.#principal, channel, types as string[] | undefined, this.#deps);
      if (this.#closed || !this.#subscriptions.has(id)) return;
      if (resolved.kind === 'chat') {
        const leave = this.#deps.chat.join(resolved.room, (chat: ChatMessage) => {
          if (!this.#closed) this.#socket.send({ type: 'message', channel, data: chat.data, from: chat.from, sent_at: chat.sent_at });
        });
        this.#subscriptions.set(id, { close: leave });
        this.#socket.send({ type: 'subscribed', id, channel });
        return;
      }
      // "The present" is fixed before the acknowledgement: an event committed once the client has it is never missed.
      const from = (after as number | undefined) ?? (await this.#deps.hub.present());
      if (this.#closed || !this.#subscriptions.has(id)) return;
      this.#socket.send({ type: 'subscribed', id, channel });
      let subscription: HubSubscription | null = null;
      let cancelled = false;
      this.#subscriptions.set(id, {
        close: () => {
          cancelled = true;
          subscription?.close();
        },
      });
      subscription = await this.#deps.hub.subscribe(
        {
          principal: this.#principal,
          accepts: resolved.accepts,
          deliver: (event) => {
            if (!cancelled && !this.#closed) this.#socket.send({ type: 'event', id, channel, event: this.#deps.present(event) });
          },
        },
        from,
      );
      if (cancelled) subscription.close();
    } catch (error) {
      this.#subscriptions.delete(id);
      this.#fail(id, error);
    }
  }

  #unsubscribe(message: Record<string, unknown>): void {
    const { id } = message;
    if (typeof id !== 'string' || !this.#subscriptions.has(id)) {
      this.#error(typeof id === 'string' ? id : undefined, 'NOT_FOUND', 'No subscription with this id on this connection');
      return;
    }
    this.#subscriptions.get(id)?.close();
    this.#subscriptions.delete(id);
  }

  async #publish(message: Record<string, unknown>): Promise<void> {
    const { channel, data } = message;
    if (typeof channel !== 'string' || !channel.startsWith('chat:')) {
      this.#error(undefined, 'VALIDATION_FAILED', 'publish needs a "channel" chat:<room>');
      return;
    }
    try {
      const resolved = await resolveChannel(this.#principal, channel, undefined, this.#deps);
      if (resolved.kind !== 'chat') throw new AppError('VALIDATION_FAILED', 'Only chat channels take publications');
      if (!isObject(data)) throw new AppError('VALIDATION_FAILED', '"data" must be a JSON object');
      checkChatData(data, 'data');
      await this.#deps.chat.publish({ room: resolved.room, data, from: this.#principal.userId, sent_at: this.#deps.clock.now().toISOString() });
    } catch (error) {
      this.#fail(undefined, error);
    }
  }
}

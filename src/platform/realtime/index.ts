import type { EventLog } from '../../domain/events/index.ts';
import type { Clock } from '../../domain/shared/clock.ts';
import { RealtimeTickets, type CredentialStatus, type TicketStore } from '../auth/tickets.ts';
import type { RealtimeBus } from './bus.ts';
import { ChatRelay } from './chat.ts';
import { createEventFeed, type LiveEventFeed } from './feed.ts';
import { EventHub } from './hub.ts';
import { SendBuffers, StreamCounter } from './streams.ts';
import { CredentialWatch } from './watch.ts';

export * from './bus.ts';
export * from './channels.ts';
export * from './chat.ts';
export * from './feed.ts';
export * from './hub.ts';
export * from './protocol.ts';
export * from './streams.ts';
export * from './upgrade-auth.ts';
export * from './watch.ts';

export interface RealtimeConfig {
  /** SSE comment heartbeat (STOA_SSE_HEARTBEAT_MS). */
  readonly sseHeartbeatMs: number;
  /** Open SSE streams per principal on one process (STOA_STREAMS_PER_PRINCIPAL). */
  readonly streamsPerPrincipal: number;
  /** Unsent bytes past which a stream or socket is dropped (STOA_STREAM_MAX_BUFFERED_BYTES). */
  readonly streamMaxBufferedBytes: number;
  /** WebSocket ping interval (STOA_WS_PING_MS). */
  readonly wsPingMs: number;
  /** Client messages a second on one WebSocket (STOA_WS_MESSAGES_PER_SECOND). */
  readonly wsMessagesPerSecond: number;
  /** Largest client frame; larger closes with 1009 (STOA_WS_MAX_MESSAGE_BYTES). */
  readonly wsMaxMessageBytes: number;
  /** Safety poll of the log, so a lost wake-up only delays (STOA_REALTIME_POLL_MS). */
  readonly pollMs: number;
  /** How often live connections' credentials are re-checked (revocation, suspension, expiry). */
  readonly revalidateMs: number;
}

/** Everything the push transports (SSE, WebSocket, later GraphQL subscriptions and gRPC streams) share in one process. */
export interface Realtime {
  config: RealtimeConfig;
  bus: RealtimeBus;
  feed: LiveEventFeed;
  hub: EventHub;
  chat: ChatRelay;
  tickets: RealtimeTickets;
  watch: CredentialWatch;
  streams: StreamCounter;
  /** The bound on each connection's unsent data, and the peak held. */
  sendBuffers: SendBuffers;
  close(): Promise<void>;
}

export function createRealtime(deps: {
  config: RealtimeConfig;
  log: Pick<EventLog, 'after' | 'head'>;
  bus: RealtimeBus;
  clock: Clock;
  tickets: TicketStore;
  credentials: CredentialStatus;
  onError?: (error: unknown) => void;
}): Realtime {
  const feed = createEventFeed(deps.log, deps.bus, { pollMs: deps.config.pollMs });
  const hub = new EventHub(feed, deps.onError ? { onError: deps.onError } : {});
  const chat = new ChatRelay(deps.bus);
  const watch = new CredentialWatch({ status: deps.credentials, clock: deps.clock, intervalMs: deps.config.revalidateMs });
  return {
    config: deps.config,
    bus: deps.bus,
    feed,
    hub,
    chat,
    tickets: new RealtimeTickets({ store: deps.tickets, status: deps.credentials, clock: deps.clock }),
    watch,
    streams: new StreamCounter(deps.config.streamsPerPrincipal),
    sendBuffers: new SendBuffers(deps.config.streamMaxBufferedBytes),
    async close() {
      hub.stop();
      watch.stop();
      chat.close();
      feed.close();
      await deps.bus.close();
    },
  };
}

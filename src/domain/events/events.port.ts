import type { Page, PageRequest } from '../shared/page.ts';
import type { NewEvent, StoredEvent } from './events.types.ts';

export interface EventFilter {
  /** Only these event ids. */
  ids?: readonly string[];
  /** Only events whose audience meets one of these; undefined for every event (administrators). */
  audience?: readonly string[];
  /** Type patterns: exact (`order.created`) or a family (`order.*`). */
  types?: readonly string[];
  /** Event type families the caller may not see (scopes an API key lacks). */
  excludeFamilies?: readonly string[];
  /** Events of these types only when `reader` is in their audience, even with no audience filter (administrators). */
  confidential?: { types: readonly string[]; reader: string };
}

/** The append-only event log (the outbox). */
export interface EventLog {
  /** Appends inside the caller's transaction; sequences follow commit order. */
  append(event: NewEvent, now: Date): Promise<StoredEvent>;
  list(filter: EventFilter, page: PageRequest): Promise<Page<StoredEvent>>;
  /** Up to `limit` events with a sequence above `sequence`, in sequence order (the filter applied when given). */
  after(sequence: number, limit: number, filter?: EventFilter): Promise<StoredEvent[]>;
  /** The highest committed sequence (0 for an empty log). */
  head(): Promise<number>;
}

/**
 * The live end of the log, for push channels (SSE, WebSocket, GraphQL
 * subscriptions, gRPC streams): reads after a sequence, and a wake-up when
 * new events commit. A wake-up is only a signal — what a subscriber receives
 * is always read from the log — so a lost one delays an event, never loses it.
 */
export interface EventFeed {
  after(sequence: number, limit: number): Promise<StoredEvent[]>;
  head(): Promise<number>;
  /** Calls `listener` when events may have committed (on any process); returns the unsubscribe function. */
  onCommit(listener: () => void): () => void;
}

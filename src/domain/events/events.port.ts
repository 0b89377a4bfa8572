import type { Page, PageRequest } from '../shared/page.ts';
import type { NewEvent, StoredEvent } from './events.types.ts';

export interface EventFilter {
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
}

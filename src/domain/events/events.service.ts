import type { Page, PageRequest, SortFields } from '../shared/page.ts';
import type { Principal } from '../shared/principal.ts';
import type { EventLog } from './events.port.ts';
import type { StoredEvent } from './events.types.ts';
import { checkTypePatterns, visibilityFilter } from './events.visibility.ts';

export const EVENT_SORTS: SortFields<StoredEvent> = { sequence: (e) => e.sequence, created_at: (e) => e.createdAt };

export interface EventQuery {
  /** Event types or families: `order.created`, `order.*`, `*`. */
  types?: readonly string[] | undefined;
}

/**
 * Reads the event log with the caller's visibility: its own events, public ones
 * (administrators: every event but other users' confidential ones), and only the
 * families its scopes cover.
 */
export class EventsService {
  readonly #log: EventLog;

  constructor(log: EventLog) {
    this.#log = log;
  }

  async list(actor: Principal, query: EventQuery, page: PageRequest): Promise<Page<StoredEvent>> {
    checkTypePatterns(query.types);
    return this.#log.list(
      visibilityFilter(actor, query.types),
      page,
    );
  }
}

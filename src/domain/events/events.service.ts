import { notFound } from '../shared/errors.ts';
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

  /** One event by id; NOT_FOUND for one the caller may not see, as for one that does not exist. */
  async get(actor: Principal, id: string): Promise<StoredEvent> {
    const [event] = await this.#log.after(0, 1, { ...visibilityFilter(actor), ids: [id] });
    if (!event) throw notFound('Event');
    return event;
  }

  async list(actor: Principal, query: EventQuery, page: PageRequest): Promise<Page<StoredEvent>> {
    checkTypePatterns(query.types);
    return this.#log.list(
      visibilityFilter(actor, query.types),
      page,
    );
  }
}

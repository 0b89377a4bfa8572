import { AppError } from '../shared/errors.ts';
import type { Page, PageRequest, SortFields } from '../shared/page.ts';
import { isAdmin, type Principal } from '../shared/principal.ts';
import type { EventLog } from './events.port.ts';
import { CONFIDENTIAL_EVENT_TYPES, EVERYONE, scopeForEventType, type StoredEvent } from './events.types.ts';

export const EVENT_SORTS: SortFields<StoredEvent> = { sequence: (e) => e.sequence, created_at: (e) => e.createdAt };

const TYPE_PATTERN = /^[a-z_]+(\.([a-z_]+|\*))?$|^\*$/;
const FAMILIES = ['user', 'post', 'comment', 'follow', 'product', 'order', 'charge', 'webhook', 'webhook_endpoint', 'job'];

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
    const types = query.types;
    if (types?.some((t) => !TYPE_PATTERN.test(t))) {
      throw new AppError('INVALID_PARAMETER', 'Invalid query parameter type: use event types or families like order.created,order.*', {
        errors: [{ field: 'type', code: 'invalid_value', message: 'must be a comma-separated list of event types or patterns like order.*' }],
      });
    }
    const excludeFamilies = actor.scopes === null ? [] : FAMILIES.filter((f) => {
      const scope = scopeForEventType(`${f}.x`);
      return scope !== null && !actor.scopes!.has(scope);
    });
    return this.#log.list(
      {
        ...(isAdmin(actor) ? {} : { audience: [actor.userId, EVERYONE] }),
        ...(types && !types.includes('*') ? { types } : {}),
        excludeFamilies,
        confidential: { types: CONFIDENTIAL_EVENT_TYPES, reader: actor.userId },
      },
      page,
    );
  }
}

import { AppError } from '../shared/errors.ts';
import { isAdmin, type Principal } from '../shared/principal.ts';
import type { EventFilter } from './events.port.ts';
import { CONFIDENTIAL_EVENT_TYPES, EVENT_FAMILY_SCOPES, EVERYONE, scopeForEventType, type StoredEvent } from './events.types.ts';

/**
 * Who may see an event, written once and stated twice: as a filter the log
 * turns into SQL (`visibilityFilter`, for lists and replays) and as a
 * predicate over one event (`canSee`, for fanning a committed event out to
 * many subscribers). test/events.visibility.test.ts checks they agree on
 * every event type for users, administrators and API keys with partial scopes.
 *
 * The rule: a user sees the events whose audience holds it or everyone;
 * an administrator sees every event, except other users' confidential ones;
 * an API key sees only the families its scopes cover.
 */

const TYPE_PATTERN = /^[a-z_]+(\.([a-z_]+|\*))?$|^\*$/;

/** Families an API key may not see (its scopes lack theirs); none for a person. */
export function hiddenFamilies(actor: Principal): string[] {
  if (actor.scopes === null) return [];
  return Object.entries(EVENT_FAMILY_SCOPES)
    .filter(([, scope]) => scope !== null && !actor.scopes!.has(scope))
    .map(([family]) => family);
}

/** The most patterns one type filter holds, and the longest pattern: the same bound on every transport. */
export const TYPE_PATTERNS_MAX = 50;
export const TYPE_PATTERN_MAX_LENGTH = 64;
/** The longest comma-separated filter (REST's `type=`) within those bounds. */
export const TYPE_FILTER_MAX_LENGTH = TYPE_PATTERNS_MAX * (TYPE_PATTERN_MAX_LENGTH + 1) - 1;

/**
 * Throws 400 INVALID_PARAMETER (field `type`) unless there are at most
 * TYPE_PATTERNS_MAX patterns of at most TYPE_PATTERN_MAX_LENGTH characters,
 * each an event type, a family (`order.*`) or `*`.
 */
export function checkTypePatterns(types: readonly string[] | undefined, field = 'type'): void {
  if (types && types.length > TYPE_PATTERNS_MAX) {
    throw new AppError('INVALID_PARAMETER', `Invalid ${field === 'type' ? 'query parameter type' : field}: at most ${TYPE_PATTERNS_MAX} event types or patterns`, {
      errors: [{ field, code: 'too_many_items', message: `must hold at most ${TYPE_PATTERNS_MAX} event types or patterns` }],
    });
  }
  if (types?.some((t) => t.length > TYPE_PATTERN_MAX_LENGTH || !TYPE_PATTERN.test(t))) {
    throw new AppError('INVALID_PARAMETER', `Invalid ${field === 'type' ? 'query parameter type' : field}: use event types or families like order.created,order.*`, {
      errors: [{ field, code: 'invalid_value', message: 'must be a comma-separated list of event types or patterns like order.*' }],
    });
  }
}

/** Type patterns as a filter: undefined means every type. */
export function effectiveTypes(types: readonly string[] | undefined): readonly string[] | undefined {
  return types && types.length > 0 && !types.includes('*') ? types : undefined;
}

/** The visibility rule (and an optional type filter) as the log's filter. */
export function visibilityFilter(actor: Principal, types?: readonly string[]): EventFilter {
  const only = effectiveTypes(types);
  return {
    ...(isAdmin(actor) ? {} : { audience: [actor.userId, EVERYONE] }),
    ...(only ? { types: only } : {}),
    excludeFamilies: hiddenFamilies(actor),
    confidential: { types: CONFIDENTIAL_EVENT_TYPES, reader: actor.userId },
  };
}

/** True when `type` matches one of the patterns (`order.created`, `order.*`, `*`); undefined matches all. */
export function matchesTypes(types: readonly string[] | undefined, type: string): boolean {
  const only = effectiveTypes(types);
  if (!only) return true;
  return only.some((pattern) => (pattern.endsWith('.*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type));
}

/** The same rule as `visibilityFilter`, over one event. */
export function canSee(actor: Principal, event: Pick<StoredEvent, 'type' | 'audience'>): boolean {
  if (!isAdmin(actor) && !event.audience.some((a) => a === actor.userId || a === EVERYONE)) return false;
  if (actor.scopes !== null) {
    const scope = scopeForEventType(event.type);
    if (scope !== null && !actor.scopes.has(scope)) return false;
  }
  if ((CONFIDENTIAL_EVENT_TYPES as readonly string[]).includes(event.type) && !event.audience.includes(actor.userId)) return false;
  return true;
}

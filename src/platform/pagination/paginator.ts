import { createHash } from 'node:crypto';
import { AppError } from '../../domain/shared/errors.ts';
import { keysetOf, LIMIT_DEFAULT, LIMIT_MAX, type Page, type PageRequest, type SortFields, type SortTerm } from '../../domain/shared/page.ts';
import type { CursorCodec } from './cursor.ts';

/** What a collection allows, whatever the transport: its sort allow-list and default order. */
export interface ListSpec<T> {
  /** Allow-listed sort fields and how to read each from a row (for cursors). */
  sorts: SortFields<T>;
  defaultSort: readonly SortTerm[];
}

/**
 * What a cursor is bound to. Every transport names a collection the same way
 * (the resource path without version and ids, dot-joined: `posts`,
 * `users.posts`, `users.followers`), so a cursor minted over one transport or
 * API version walks the same list over another.
 */
export interface ListScope {
  collection: string;
  /** The id of the resource the collection hangs off (`usr_…` for `users.posts`). */
  parent?: string | undefined;
  /** The query's filters and search, by name; absent values are ignored. */
  filters?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * A page as a transport asks for it. `after`/`before` (Relay) walk forward or
 * backward from any cursor of this list; `cursor` (REST `cursor`, gRPC
 * `page_token`) walks in the direction the cursor was minted for. At most one
 * of the three.
 */
export interface PageArgs {
  /** Undefined for the spec's default order. */
  sort?: readonly SortTerm[] | undefined;
  /** 1 to LIMIT_MAX; LIMIT_DEFAULT when undefined. */
  limit?: number | undefined;
  after?: string | undefined;
  before?: string | undefined;
  cursor?: string | undefined;
}

export type CursorPage = Extract<PageRequest, { mode: 'cursor' }>;

/** A validated cursor-mode request: the page for the domain, and what its cursors are bound to. */
export interface CursorPageRequest {
  page: CursorPage;
  /** A short hash of the scope and sort. */
  fingerprint: string;
}

/**
 * The cursors of a result page. `start`/`end` point at the first and last
 * row (null on an empty page; Relay `startCursor`/`endCursor`); `next`/`previous`
 * are the same cursors when a page exists that way, else null (REST
 * `next_cursor`/`prev_cursor`, gRPC `next_page_token`).
 */
export interface PageCursors {
  start: string | null;
  end: string | null;
  next: string | null;
  previous: string | null;
  hasNext: boolean;
  hasPrevious: boolean;
}

function invalidParameter(field: string, message: string): AppError {
  return new AppError('INVALID_PARAMETER', `Invalid query parameter ${field}: ${message}`, { errors: [{ field, code: 'invalid_value', message }] });
}

/** The sort to use: the spec's default, or `terms` checked against the allow-list (400 naming `sort`). */
export function resolveSort<T>(spec: ListSpec<T>, terms: readonly SortTerm[] | undefined): SortTerm[] {
  if (terms === undefined) return [...spec.defaultSort];
  const seen = new Set<string>();
  const out: SortTerm[] = [];
  for (const { field, descending } of terms) {
    if (!Object.hasOwn(spec.sorts, field)) {
      throw invalidParameter('sort', `cannot sort by "${field.slice(0, 64)}"; sortable fields: ${Object.keys(spec.sorts).join(', ')}`);
    }
    // A field named again adds nothing to the order: the first mention decides (a pattern cannot forbid repeats).
    if (seen.has(field)) continue;
    seen.add(field);
    out.push({ field, descending });
  }
  return out;
}

/** A page size from 1 to `max`, or `fallback` when undefined (400 naming `field`). */
export function checkPageSize(field: string, value: number | undefined, max = LIMIT_MAX, fallback = LIMIT_DEFAULT): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw invalidParameter(field, `must be an integer from 1 to ${max}`);
  return value;
}

/** A short hash of what a cursor must not outlive: the collection, its parent, the filters and the sort. */
export function scopeFingerprint(scope: ListScope, sort: readonly SortTerm[]): string {
  const filters = scope.filters ?? {};
  const canonical = Object.keys(filters)
    .filter((key) => filters[key] !== undefined)
    .sort()
    .map((key) => [key, filters[key]]);
  return createHash('sha256')
    .update(JSON.stringify([scope.collection, scope.parent ?? null, sort.map((t) => (t.descending ? '-' : '') + t.field), canonical]))
    .digest('base64url')
    .slice(0, 16);
}

/**
 * Cursor pagination for every transport: turns a transport's page arguments
 * into a domain page request, and a result page into its cursors, with one
 * codec, so REST links, Relay `pageInfo` and gRPC page tokens agree.
 *
 * @example
 * const request = paginator.toPageRequest({ limit: 20, after }, spec, { collection: 'posts', filters: { author_id } });
 * const page = await posts.list(actor, filter, request.page);
 * const { end, hasNext } = paginator.pageCursors(page, request, spec);
 */
export class Paginator {
  readonly #codec: CursorCodec;

  constructor(codec: CursorCodec) {
    this.#codec = codec;
  }

  /** Validates sort and limit, and decodes the cursor against `scope` (400 INVALID_CURSOR when it was minted for another). */
  toPageRequest<T>(args: PageArgs, spec: ListSpec<T>, scope: ListScope): CursorPageRequest {
    const sort = resolveSort(spec, args.sort);
    const limit = checkPageSize('limit', args.limit);
    const given = (['cursor', 'after', 'before'] as const).filter((slot) => args[slot] !== undefined);
    if (given.length > 1) throw invalidParameter(given[1]!, `cannot be combined with ${given[0]}`);
    const fingerprint = scopeFingerprint(scope, sort);
    const slot = given[0];
    if (slot === undefined) return { page: { mode: 'cursor', sort, limit, position: undefined }, fingerprint };
    const decoded = this.#codec.decode(String(args[slot]), fingerprint, sort.length, slot);
    const direction = slot === 'after' ? 'next' : slot === 'before' ? 'prev' : decoded.direction;
    return { page: { mode: 'cursor', sort, limit, position: { direction, at: decoded.at } }, fingerprint };
  }

  /**
   * The cursors of `page`, the result of `request`. Walking forward, a next
   * page exists when the store found more rows, and a previous one whenever
   * the walk started from a cursor; walking backward, the other way round.
   */
  pageCursors<T extends { id: string }>(page: Page<T>, request: CursorPageRequest, spec: ListSpec<T>): PageCursors {
    const { sort, position } = request.page;
    const first = page.items[0];
    const last = page.items[page.items.length - 1];
    const backwards = position?.direction === 'prev';
    const start = first ? this.#codec.encode({ direction: 'prev', at: keysetOf(first, sort, spec.sorts) }, request.fingerprint) : null;
    const end = last ? this.#codec.encode({ direction: 'next', at: keysetOf(last, sort, spec.sorts) }, request.fingerprint) : null;
    const hasNext = end !== null && (backwards || page.hasMore);
    const hasPrevious = start !== null && (backwards ? page.hasMore : position !== undefined);
    return { start, end, next: hasNext ? end : null, previous: hasPrevious ? start : null, hasNext, hasPrevious };
  }
}

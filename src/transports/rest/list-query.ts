import { AppError } from '../../domain/shared/errors.ts';
import { explainedPattern } from '../../domain/shared/validation.ts';
import { LIMIT_DEFAULT, LIMIT_MAX, type PageRequest, type SortTerm } from '../../domain/shared/page.ts';
import { checkPageSize, resolveSort, type CursorPage, type CursorPageRequest, type ListScope, type ListSpec, type Paginator } from '../../platform/pagination/index.ts';

/** A collection as REST lists it: the neutral spec plus sparse fieldsets, includes and offset mode. */
export interface RestListSpec<T> extends ListSpec<T> {
  /** Fields of the representation a client may pick with `fields=`. */
  fields: readonly string[];
  /** Include paths (depth ≤ 2, dotted) and the fields of what each embeds. */
  includes?: Readonly<Record<string, readonly string[]>>;
  /** Refuse offset pagination (`page`, `per_page`). */
  cursorOnly?: boolean;
}

/** How the request's API version paginates this collection (see `listVersionRules`). */
export interface ListModeRules {
  cursorOnly?: boolean;
  /** Offset mode unless the client asked for `limit` or `cursor`. */
  offsetByDefault?: boolean;
}

/** The parameters every list understands; everything else in the query string is a filter. */
export const LIST_PARAMETERS = ['limit', 'cursor', 'page', 'per_page', 'sort', 'fields', 'include'] as const;

/** The parsed list parameters; `page` is what the domain service is given. */
export type ListOptions = (
  | { page: Extract<PageRequest, { mode: 'offset' }>; cursor: undefined }
  /** `cursor`: the request the page's cursors are minted for. */
  | { page: CursorPage; cursor: CursorPageRequest }
) & {
  /** Requested fields, or undefined for all. Dotted entries apply to an include. */
  fields: string[] | undefined;
  /** Validated include paths, parents before children (`items`, `items.product`). */
  include: string[];
};

const MAX_INCLUDE_DEPTH = 2;
export const MAX_LIST_ITEMS = 50;

/** A pattern for a comma-separated list of 1 to MAX_LIST_ITEMS items, each matching `item` (a regular expression source). */
export function listOfPattern(item: string): string {
  return `^(?:${item})(?:,(?:${item})){0,${MAX_LIST_ITEMS - 1}}$`;
}

/**
 * `listOfPattern` over `names` (each optionally `-`-prefixed when `signed`, as
 * `sort` takes them), explained: a value it refuses is told the names.
 */
export function namesListPattern(names: readonly string[], signed = false): string {
  const escaped = [...names].sort((a, b) => b.length - a.length).map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const allowed = `${names.join(', ')}${signed ? ' (each optionally prefixed with - for descending)' : ''}`;
  return explainedPattern(listOfPattern(`${signed ? '-?' : ''}(?:${escaped.join('|')})`), `must be a comma-separated list of at most ${MAX_LIST_ITEMS} of: ${allowed}`);
}
/** Marks a list parameter (`page`, `per_page`) that only v1's document lists; the document builder drops it from v2's. */
export const V1_ONLY = 'x-v1-only';
const MAX_PAGE_NUMBER = 10_000_000;

function invalidParameter(field: string, message: string): AppError {
  return new AppError('INVALID_PARAMETER', `Invalid query parameter ${field}: ${message}`, { errors: [{ field, code: 'invalid_value', message }] });
}

function splitList(field: string, raw: unknown): string[] {
  if (raw === undefined) return [];
  if (typeof raw !== 'string') throw invalidParameter(field, 'must be a comma-separated list');
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.length > MAX_LIST_ITEMS || parts.some((p) => p === '')) throw invalidParameter(field, 'must be a comma-separated list of names');
  return parts;
}

/** `-created_at,name` → sort terms (undefined when absent); the allow-list is the core's. */
function sortTermsOf(raw: unknown): SortTerm[] | undefined {
  if (raw === undefined) return undefined;
  return splitList('sort', raw).map((part) => (part.startsWith('-') ? { field: part.slice(1), descending: true } : { field: part, descending: false }));
}

function parseInclude<T>(spec: RestListSpec<T>, raw: unknown): string[] {
  const allowed = spec.includes ?? {};
  const paths = new Set<string>();
  for (const path of splitList('include', raw)) {
    if (path.split('.').length > MAX_INCLUDE_DEPTH) throw invalidParameter('include', `"${path.slice(0, 64)}" is nested deeper than ${MAX_INCLUDE_DEPTH} levels`);
    if (!Object.hasOwn(allowed, path)) {
      const names = Object.keys(allowed);
      throw invalidParameter('include', `cannot include "${path.slice(0, 64)}"; ${names.length ? `includable: ${names.join(', ')}` : 'this resource has no includes'}`);
    }
    const segments = path.split('.');
    for (let i = 1; i <= segments.length; i++) paths.add(segments.slice(0, i).join('.'));
  }
  return [...paths].sort((a, b) => a.split('.').length - b.split('.').length);
}

function parseFields<T>(spec: RestListSpec<T>, raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  const fields = splitList('fields', raw);
  for (const field of fields) {
    const dot = field.lastIndexOf('.');
    if (dot === -1) {
      if (spec.fields.includes(field) || Object.hasOwn(spec.includes ?? {}, field)) continue;
      throw invalidParameter('fields', `unknown field "${field.slice(0, 64)}"; available: ${spec.fields.join(', ')}`);
    }
    const relation = field.slice(0, dot);
    // A relation's field without include=relation picks nothing (there is no embedded object to pick from).
    const allowed = spec.includes?.[relation];
    if (!allowed) throw invalidParameter('fields', `"${field.slice(0, 64)}" names no includable relation`);
    if (!allowed.includes(field.slice(dot + 1)) && !Object.hasOwn(spec.includes ?? {}, field)) {
      throw invalidParameter('fields', `unknown field "${field.slice(0, 64)}"; ${relation} has: ${allowed.join(', ')}`);
    }
  }
  return fields;
}

/** A query-string integer (already coerced by the route schema, or a digit string); NaN when it is not one. */
function integerOf(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  return typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
}

/** Splits a query string into the list parameters and the resource's own filters. */
export function filtersOf(query: Record<string, unknown>): Record<string, unknown> {
  const filters: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    if (!(LIST_PARAMETERS as readonly string[]).includes(key) && value !== undefined) filters[key] = value;
  }
  return filters;
}

/**
 * Reads the list parameters of a request (already type-checked by the route
 * schema) against the resource's spec: mode, limit, sort, cursor, fields,
 * include. Cursor mode goes through the transport-neutral `Paginator`, with
 * the query's filters added to `scope`. Every refusal is a 400 naming the parameter.
 */
export function parseListQuery<T>(
  spec: RestListSpec<T>,
  query: Record<string, unknown>,
  scope: Omit<ListScope, 'filters'>,
  paginator: Paginator,
  rules: ListModeRules = {},
): ListOptions {
  const sortTerms = sortTermsOf(query.sort);
  const sort = resolveSort(spec, sortTerms);
  const include = parseInclude(spec, query.include);
  const fields = parseFields(spec, query.fields);
  // The two modes' parameters may be combined (the document cannot forbid it): a cursor wins, and then per_page
  // stands in for a missing limit; in offset mode limit stands in for a missing per_page.
  const explicitOffset = query.cursor === undefined && (query.page !== undefined || query.per_page !== undefined);
  const offsetMode = explicitOffset || (rules.offsetByDefault === true && query.cursor === undefined && query.limit === undefined);

  if (offsetMode) {
    if (explicitOffset && (spec.cursorOnly || rules.cursorOnly)) {
      throw invalidParameter(query.page !== undefined ? 'page' : 'per_page', 'this collection uses cursor pagination only; use limit and cursor');
    }
    const page = checkPageSize('page', integerOf(query.page), MAX_PAGE_NUMBER, 1);
    const perPage = checkPageSize(query.per_page === undefined && query.limit !== undefined ? 'limit' : 'per_page', integerOf(query.per_page ?? query.limit), LIMIT_MAX, LIMIT_DEFAULT);
    return { page: { mode: 'offset', sort, page, perPage }, cursor: undefined, fields, include };
  }

  const cursor = query.cursor === undefined ? undefined : String(query.cursor);
  const limit = integerOf(query.limit ?? (spec.cursorOnly || rules.cursorOnly ? undefined : query.per_page));
  const request = paginator.toPageRequest({ sort: sortTerms && sort, limit, cursor }, spec, { ...scope, filters: filtersOf(query) });
  return { page: request.page, cursor: request, fields, include };
}

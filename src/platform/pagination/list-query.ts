import { createHash } from 'node:crypto';
import { AppError } from '../../domain/shared/errors.ts';
import { LIMIT_DEFAULT, type PageRequest, type SortFields, type SortTerm } from '../../domain/shared/page.ts';
import type { CursorCodec } from './cursor.ts';

/** What a collection allows: declared once per resource, checked on every request. */
export interface ListSpec<T> {
  /** Allow-listed sort fields and how to read each from a row (for cursors). */
  sorts: SortFields<T>;
  defaultSort: readonly SortTerm[];
  /** Fields of the representation a client may pick with `fields=`. */
  fields: readonly string[];
  /** Include paths (depth ≤ 2, dotted) and the fields of what each embeds. */
  includes?: Readonly<Record<string, readonly string[]>>;
  /** Refuse offset pagination (`page`, `per_page`). */
  cursorOnly?: boolean;
  /** A collection of users: cursor-only in v2, offset by default in v1. */
  userList?: boolean;
}

/** The parameters every list understands; everything else in the query string is a filter. */
export const LIST_PARAMETERS = ['limit', 'cursor', 'page', 'per_page', 'sort', 'fields', 'include'] as const;

export interface ListOptions {
  page: PageRequest;
  /** Binds cursors to the sort, filters and search they were minted for. */
  fingerprint: string;
  /** Requested fields, or undefined for all. Dotted entries apply to an include. */
  fields: string[] | undefined;
  /** Validated include paths, parents before children (`items`, `items.product`). */
  include: string[];
}

const MAX_INCLUDE_DEPTH = 2;
const MAX_LIST_ITEMS = 50;

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

function parseSort<T>(spec: ListSpec<T>, raw: unknown): SortTerm[] {
  if (raw === undefined) return [...spec.defaultSort];
  const terms: SortTerm[] = [];
  for (const part of splitList('sort', raw)) {
    const descending = part.startsWith('-');
    const field = descending ? part.slice(1) : part;
    if (!Object.hasOwn(spec.sorts, field)) {
      throw invalidParameter('sort', `cannot sort by "${field.slice(0, 64)}"; sortable fields: ${Object.keys(spec.sorts).join(', ')}`);
    }
    if (terms.some((t) => t.field === field)) throw invalidParameter('sort', `"${field}" appears twice`);
    terms.push({ field, descending });
  }
  return terms;
}

function parseInclude<T>(spec: ListSpec<T>, raw: unknown): string[] {
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

function parseFields<T>(spec: ListSpec<T>, raw: unknown, include: string[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const fields = splitList('fields', raw);
  for (const field of fields) {
    const dot = field.lastIndexOf('.');
    if (dot === -1) {
      if (spec.fields.includes(field) || include.includes(field)) continue;
      throw invalidParameter('fields', `unknown field "${field.slice(0, 64)}"; available: ${spec.fields.join(', ')}`);
    }
    const relation = field.slice(0, dot);
    const allowed = include.includes(relation) ? spec.includes?.[relation] : undefined;
    if (!allowed) throw invalidParameter('fields', `"${field.slice(0, 64)}" needs include=${relation.slice(0, 64)}`);
    if (!allowed.includes(field.slice(dot + 1)) && !include.includes(field)) {
      throw invalidParameter('fields', `unknown field "${field.slice(0, 64)}"; ${relation} has: ${allowed.join(', ')}`);
    }
  }
  return fields;
}

function positiveInteger(field: string, raw: unknown, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < 1 || value > max) throw invalidParameter(field, `must be an integer from 1 to ${max}`);
  return value;
}

/** A short hash of what a cursor must not outlive: the collection, its sort, its filters and search. */
export function queryFingerprint(scope: string, sort: readonly SortTerm[], filters: Record<string, unknown>): string {
  const canonical = Object.keys(filters)
    .sort()
    .map((key) => [key, filters[key]]);
  return createHash('sha256')
    .update(JSON.stringify([scope, sort.map((t) => (t.descending ? '-' : '') + t.field), canonical]))
    .digest('base64url')
    .slice(0, 16);
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
 * schema) against the resource's spec: mode, limit, sort, cursor, fields, include.
 * Every refusal is a 400 naming the parameter.
 */
export function parseListQuery<T>(spec: ListSpec<T>, query: Record<string, unknown>, scope: string, codec: CursorCodec): ListOptions {
  const sort = parseSort(spec, query.sort);
  const include = parseInclude(spec, query.include);
  const fields = parseFields(spec, query.fields, include);
  const fingerprint = queryFingerprint(scope, sort, filtersOf(query));
  const offsetMode = query.page !== undefined || query.per_page !== undefined;

  if (offsetMode) {
    if (spec.cursorOnly) throw invalidParameter(query.page !== undefined ? 'page' : 'per_page', 'this collection uses cursor pagination only; use limit and cursor');
    if (query.cursor !== undefined) throw invalidParameter('cursor', 'cannot be combined with page or per_page');
    if (query.limit !== undefined) throw invalidParameter('limit', 'cannot be combined with page or per_page; use per_page');
    return {
      page: { mode: 'offset', sort, page: positiveInteger('page', query.page, 10_000_000, 1), perPage: positiveInteger('per_page', query.per_page, 100, LIMIT_DEFAULT) },
      fingerprint,
      fields,
      include,
    };
  }

  const limit = positiveInteger('limit', query.limit, 100, LIMIT_DEFAULT);
  const position = query.cursor === undefined ? undefined : codec.decode(String(query.cursor), fingerprint, sort.length);
  return { page: { mode: 'cursor', sort, limit, position }, fingerprint, fields, include };
}

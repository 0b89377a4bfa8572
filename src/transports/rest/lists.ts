import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import { Type, type TSchema } from 'typebox';
import { AppError } from '../../domain/shared/errors.ts';
import { LIMIT_DEFAULT, LIMIT_MAX, type Page } from '../../domain/shared/page.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import type { ListScope, Paginator } from '../../platform/pagination/index.ts';
import { toCsv } from './csv.ts';
import { namesListPattern, parseListQuery, V1_ONLY, type ListOptions, type RestListSpec } from './list-query.ts';
import { toV1 } from './v1-transform.ts';
import { listVersionRules, unversionedRoute } from './plugins/versioning.ts';

type Json = Record<string, unknown>;

/** Embeds a related resource into presented objects with one query for the whole page. */
export interface Relation {
  /** Attaches the relation to every parent; returns the embedded objects (for nested includes). */
  attach(parents: Json[], actor: Principal | null): Promise<Json[]>;
}

/** How one collection is listed over REST: its spec, its presenter and its includes. */
export interface ListRoute<T extends { id: string }> {
  spec: RestListSpec<T>;
  present(item: T, actor: Principal | null): Json;
  relations?: Readonly<Record<string, Relation>>;
  /** The Vary header; a public collection whose pages are the same for every caller varies only on Accept. */
  vary?: string;
}

export const LIST_MEDIA_TYPES = ['application/json', 'text/csv'] as const;
const MAX_INCLUDED = 2_000;

/** What a list's query schema documents beyond the common parameters. */
export interface ListQueryOptions {
  search?: boolean;
  /**
   * The collection's spec: `sort`, `fields` and `include` then document (and
   * validate) the names it allows, so a request the document calls valid is
   * one the list accepts; cursor-only collections document no `page`.
   */
  list?: { sorts: object; fields: readonly string[]; includes?: RestListSpec<unknown>['includes']; cursorOnly?: boolean };
  /** Offset pagination is v1's only (v2 user collections are cursor-only): `page` and `per_page` leave v2's document. */
  offsetInV1Only?: boolean;
}

/** The query-string schema of a list: the common parameters plus the resource's filters. */
export function listQuerySchema(filters: Record<string, TSchema> = {}, options: ListQueryOptions = {}) {
  const list = options.list;
  const includes = Object.entries(list?.includes ?? {});
  const fieldNames = [...(list?.fields ?? []), ...includes.flatMap(([path, fields]) => [path, ...fields.map((f) => `${path}.${f}`)])];
  const offset: Record<string, TSchema> = list?.cursorOnly
    ? {}
    : {
        page: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'Offset mode: page number from 1.', ...(options.offsetInV1Only ? { [V1_ONLY]: true } : {}) })),
        per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMIT_MAX, description: `Offset mode: page size (default ${LIMIT_DEFAULT}).`, ...(options.offsetInV1Only ? { [V1_ONLY]: true } : {}) })),
      };
  return Type.Object(
    {
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMIT_MAX, description: `Page size in cursor mode (default ${LIMIT_DEFAULT}); with page, the page size when per_page is not given.` })),
      cursor: Type.Optional(Type.String({ maxLength: 2048, description: 'next_cursor or prev_cursor of a previous page; with page or per_page the cursor wins.' })),
      ...offset,
      sort: Type.Optional(
        Type.String({
          maxLength: 200,
          ...(list ? { pattern: namesListPattern(Object.keys(list.sorts), true) } : {}),
          description: `Comma-separated fields, "-" for descending: -created_at,name.${list ? ` Sortable: ${Object.keys(list.sorts).join(', ')}.` : ''}`,
        }),
      ),
      fields: Type.Optional(
        Type.String({
          maxLength: 500,
          ...(list ? { pattern: namesListPattern(fieldNames) } : {}),
          description: "Comma-separated fields to return. Each item carries those of them the caller may see on it, so an item may carry fewer (another user's email or role, for instance, only ever appear for admins); the item schema therefore requires none of its properties here. A relation's fields (author.id) apply when include names it.",
        }),
      ),
      ...(list && includes.length === 0
        ? ({} as Record<string, TSchema>)
        : { include: Type.Optional(Type.String({ maxLength: 200, ...(list ? { pattern: namesListPattern(includes.map(([path]) => path)) } : {}), description: 'Comma-separated relations to embed (depth ≤ 2).' })) }),
      ...(options.search ? { q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Full-text search.' })) } : {}),
      ...filters,
    },
    { additionalProperties: false },
  );
}

/** `{data: [...], pagination: {...}}` for OpenAPI. */
export function ListEnvelope(item: TSchema, description: string) {
  const Nullable = Type.Union([Type.String(), Type.Null()]);
  return Type.Object(
    {
      data: Type.Array(item),
      pagination: Type.Object(
        {
          next_cursor: Type.Optional(Nullable),
          prev_cursor: Type.Optional(Nullable),
          has_more: Type.Boolean(),
          page: Type.Optional(Type.Integer()),
          per_page: Type.Optional(Type.Integer()),
          total: Type.Optional(Type.Integer()),
          total_pages: Type.Optional(Type.Integer()),
        },
        { description: 'Cursor mode: next_cursor, prev_cursor, has_more. Offset mode (page/per_page): page, per_page, total, total_pages.' },
      ),
    },
    { description },
  );
}

function pick(object: Json, fields: readonly string[]): Json {
  const out: Json = {};
  for (const field of fields) if (Object.hasOwn(object, field)) out[field] = object[field];
  return out;
}

function applyFields(items: Json[], fields: readonly string[]): Json[] {
  const top = fields.filter((f) => !f.includes('.'));
  const nested = new Map<string, string[]>();
  for (const f of fields.filter((f) => f.includes('.'))) {
    const dot = f.lastIndexOf('.');
    nested.set(f.slice(0, dot), [...(nested.get(f.slice(0, dot)) ?? []), f.slice(dot + 1)]);
  }
  const shape = (object: Json, prefix: string, keep: readonly string[]): Json => {
    const out = pick(object, keep);
    for (const [path, sub] of nested) {
      const rest = prefix ? (path.startsWith(prefix + '.') ? path.slice(prefix.length + 1) : undefined) : path;
      if (rest === undefined || rest.includes('.')) continue;
      const value = object[rest];
      const full = prefix ? `${prefix}.${rest}` : rest;
      const childKeep = [...sub, ...[...nested.keys()].filter((p) => p.startsWith(full + '.')).map((p) => p.slice(full.length + 1).split('.')[0]!)];
      out[rest] = Array.isArray(value) ? value.map((v) => shape(v as Json, full, childKeep)) : value && typeof value === 'object' ? shape(value as Json, full, childKeep) : value;
    }
    return out;
  };
  return items.map((item) => shape(item, '', [...top, ...[...nested.keys()].map((p) => p.split('.')[0]!)]));
}

/** The collection a REST list serves: its route's static segments, dot-joined, and the route's ids as the parent. */
function collectionOf(request: FastifyRequest): Omit<ListScope, 'filters'> {
  const segments = unversionedRoute(request).split('/').filter(Boolean);
  const collection = segments.filter((s) => !s.startsWith(':')).join('.');
  const params = request.params as Record<string, unknown> | undefined;
  const ids = segments.filter((s) => s.startsWith(':')).map((s) => String(params?.[s.slice(1)] ?? ''));
  return { collection, parent: ids.length > 0 ? ids.join('/') : undefined };
}

/** Encodes the request's other parameters into a URL for a Link header. */
function linkTo(request: FastifyRequest, changes: Record<string, string | number | undefined>): string {
  const url = new URL(request.url, 'http://x');
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) url.searchParams.delete(key);
    else url.searchParams.set(key, String(value));
  }
  return url.pathname + url.search;
}

/**
 * Lists for every collection: reads the list parameters, and answers a page
 * with the envelope, Link header, ETag (304 on If-None-Match), includes,
 * sparse fields and CSV, the same way everywhere.
 */
export class RestLists {
  readonly #paginator: Paginator;

  constructor(paginator: Paginator) {
    this.#paginator = paginator;
  }

  /**
   * Parses list parameters. Cursors are bound to the collection (the route
   * without its version and ids), its parent id, the filters and the sort, so
   * a cursor from /v2/users/{id}/posts also walks /v1/users/{id}/posts.
   */
  options<T>(request: FastifyRequest, spec: RestListSpec<T>): ListOptions {
    return parseListQuery(spec, request.query as Record<string, unknown>, collectionOf(request), this.#paginator, listVersionRules(request));
  }

  async send<T extends { id: string }>(request: FastifyRequest, reply: FastifyReply, route: ListRoute<T>, options: ListOptions, page: Page<T>): Promise<FastifyReply> {
    const actor = request.principal;
    let data = page.items.map((item) => route.present(item, actor));
    await this.#include(data, options.include, route, actor);
    if (options.fields) data = applyFields(data, options.fields);
    if (request.versioned && request.apiVersion === '1') data = toV1(data) as Json[];

    const links: string[] = [];
    let pagination: Json;
    if (options.cursor === undefined) {
      const total = page.total ?? 0;
      const { page: number, perPage } = options.page;
      const totalPages = Math.max(1, Math.ceil(total / perPage));
      pagination = { page: number, per_page: perPage, total, total_pages: totalPages, has_more: number < totalPages };
      links.push(`<${linkTo(request, { page: 1 })}>; rel="first"`);
      if (number > 1) links.push(`<${linkTo(request, { page: Math.min(number - 1, totalPages) })}>; rel="prev"`);
      if (number < totalPages) links.push(`<${linkTo(request, { page: number + 1 })}>; rel="next"`);
      links.push(`<${linkTo(request, { page: totalPages })}>; rel="last"`);
    } else {
      const { next, previous, hasNext } = this.#paginator.pageCursors(page, options.cursor, route.spec);
      pagination = { next_cursor: next, prev_cursor: previous, has_more: hasNext };
      if (next) links.push(`<${linkTo(request, { cursor: next })}>; rel="next"`);
      if (previous) links.push(`<${linkTo(request, { cursor: previous })}>; rel="prev"`);
      if (options.page.position) links.push(`<${linkTo(request, { cursor: undefined })}>; rel="first"`);
    }
    if (links.length > 0) reply.header('link', links.join(', '));

    const csv = new Negotiator(request.raw).mediaType([...LIST_MEDIA_TYPES]) === 'text/csv' && request.headers.accept !== undefined;
    const body = csv ? toCsv(data, options.fields) : JSON.stringify({ data, pagination });
    const etag = `"${createHash('sha256').update(csv ? 'csv' : 'json').update(body).digest('base64url').slice(0, 27)}"`;
    reply.header('etag', etag);
    reply.header('vary', route.vary ?? 'Accept, Authorization, X-API-Key');
    const inm = request.headers['if-none-match'];
    if (inm && (inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))) return reply.code(304).send();
    return reply.type(csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8').send(body);
  }

  async #include<T extends { id: string }>(data: Json[], paths: readonly string[], route: ListRoute<T>, actor: Principal | null): Promise<void> {
    const loaded = new Map<string, Json[]>([['', data]]);
    let count = 0;
    for (const path of paths) {
      const relation = route.relations?.[path];
      if (!relation) throw new AppError('INVALID_PARAMETER', `Invalid query parameter include: cannot include "${path}"`);
      const dot = path.lastIndexOf('.');
      const parents = loaded.get(dot === -1 ? '' : path.slice(0, dot)) ?? [];
      const children = await relation.attach(parents, actor);
      count += children.length;
      if (count > MAX_INCLUDED) {
        throw new AppError('INVALID_PARAMETER', `Invalid query parameter include: more than ${MAX_INCLUDED} resources would be included; ask for a smaller page`, {
          errors: [{ field: 'include', code: 'too_many_included', message: `at most ${MAX_INCLUDED} included resources per page` }],
        });
      }
      loaded.set(path, children);
    }
  }
}

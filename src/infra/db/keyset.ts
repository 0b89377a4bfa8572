import { sql, type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { KeysetPosition, Page, PageRequest, SortTerm } from '../../domain/shared/page.ts';

/** How an API sort field maps to SQL: a column reference and the type to cast cursor values to. */
export interface SortColumn {
  column: string;
  type: 'timestamptz' | 'text' | 'bigint' | 'integer';
}

interface Key {
  ref: RawBuilder<unknown>;
  descending: boolean;
  value: RawBuilder<unknown> | undefined;
}

function keysOf(sort: readonly SortTerm[], columns: Record<string, SortColumn>, idColumn: string, at: KeysetPosition | undefined, flip: boolean): Key[] {
  const keys: Key[] = sort.map((term, i) => {
    const column = columns[term.field]!;
    return {
      ref: sql.ref(column.column),
      descending: term.descending !== flip,
      value: at ? sql`cast(${at.values[i]} as ${sql.raw(column.type)})` : undefined,
    };
  });
  const last = keys[keys.length - 1];
  keys.push({ ref: sql.ref(idColumn), descending: last ? last.descending : flip, value: at ? sql`${at.id}` : undefined });
  return keys;
}

/**
 * The keyset condition "after this position in this order". When every key
 * runs the same way it is one row comparison, which a composite index answers
 * directly; mixed directions expand to (a > x) OR (a = x AND b > y) …
 */
function after(keys: Key[]): Expression<SqlBool> {
  if (keys.every((k) => k.descending === keys[0]!.descending)) {
    const op = sql.raw(keys[0]!.descending ? '<' : '>');
    return sql<SqlBool>`(${sql.join(keys.map((k) => k.ref))}) ${op} (${sql.join(keys.map((k) => k.value))})`;
  }
  const branches = keys.map((key, i) => {
    const equal = keys.slice(0, i).map((k) => sql`${k.ref} = ${k.value}`);
    const beyond = sql`${key.ref} ${sql.raw(key.descending ? '<' : '>')} ${key.value}`;
    return sql`(${sql.join([...equal, beyond], sql` AND `)})`;
  });
  return sql<SqlBool>`(${sql.join(branches, sql` OR `)})`;
}

/**
 * Runs one page of `query` (already filtered) in cursor or offset mode. Cursor
 * mode reads limit + 1 rows to learn whether more exist and costs the same at
 * any depth; offset mode adds a COUNT for `total`. Rows become items through `toItem`.
 */
export async function paginate<DB, TB extends keyof DB, O, T>(
  query: SelectQueryBuilder<DB, TB, O>,
  page: PageRequest,
  columns: Record<string, SortColumn>,
  idColumn: string,
  toItem: (row: O) => T,
): Promise<Page<T>> {
  if (page.mode === 'offset') {
    const keys = keysOf(page.sort, columns, idColumn, undefined, false);
    let ordered = query;
    for (const key of keys) ordered = ordered.orderBy(sql`${key.ref} ${sql.raw(key.descending ? 'desc' : 'asc')}`);
    const [rows, count] = await Promise.all([
      ordered
        .limit(page.perPage)
        .offset((page.page - 1) * page.perPage)
        .execute(),
      query
        .clearSelect()
        .clearOrderBy()
        .select(sql<number>`count(*)::int`.as('total'))
        .executeTakeFirst() as Promise<{ total: number } | undefined>,
    ]);
    const total = count?.total ?? 0;
    return { items: rows.map(toItem), total, hasMore: page.page * page.perPage < total };
  }

  const backwards = page.position?.direction === 'prev';
  const keys = keysOf(page.sort, columns, idColumn, page.position?.at, backwards);
  let q = query;
  if (page.position) q = q.where(after(keys));
  for (const key of keys) q = q.orderBy(sql`${key.ref} ${sql.raw(key.descending ? 'desc' : 'asc')}`);
  const rows = await q.limit(page.limit + 1).execute();
  const hasMore = rows.length > page.limit;
  if (hasMore) rows.pop();
  if (backwards) rows.reverse();
  return { items: rows.map(toItem), hasMore };
}

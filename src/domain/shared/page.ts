/**
 * Pagination types shared by every collection, whatever the transport.
 * A list is sorted by allow-listed fields plus the id as the tie-breaker;
 * keyset positions carry every sort value plus the id.
 */

export interface SortTerm {
  /** The API field name (`created_at`). */
  field: string;
  descending: boolean;
}

/** A position in a keyset walk: the sort values of one row plus its id. */
export interface KeysetPosition {
  values: Array<string | number>;
  id: string;
}

export type PageRequest =
  | {
      mode: 'cursor';
      sort: SortTerm[];
      limit: number;
      /** Rows strictly after (`next`) or before (`prev`) this position, in sort order. */
      position?: { direction: 'next' | 'prev'; at: KeysetPosition } | undefined;
    }
  | { mode: 'offset'; sort: SortTerm[]; page: number; perPage: number };

export interface Page<T> {
  items: T[];
  /** Cursor mode: whether rows exist beyond this page in the walk's direction. */
  hasMore: boolean;
  /** Offset mode: the number of matching rows. */
  total?: number;
}

export const LIMIT_DEFAULT = 20;
export const LIMIT_MAX = 100;

/** Sort fields a resource allows, mapped to how a row's value is read for a cursor. */
export type SortFields<T> = Record<string, (item: T) => string | number | Date>;

/** The keyset values of `item` for `sort`, as they travel in a cursor. */
export function keysetOf<T extends { id: string }>(item: T, sort: readonly SortTerm[], fields: SortFields<T>): KeysetPosition {
  return {
    values: sort.map((term) => {
      const value = fields[term.field]!(item);
      return value instanceof Date ? value.toISOString() : value;
    }),
    id: item.id,
  };
}

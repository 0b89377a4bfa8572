import type { RequestOptions, ResponseMeta, StoaResponse } from './http.ts';

/** The `pagination` member of a list: cursor mode, or offset mode (v1 user lists, `page`/`per_page`). */
export interface Pagination {
  next_cursor?: string | null;
  prev_cursor?: string | null;
  has_more: boolean;
  page?: number;
  per_page?: number;
  total?: number;
  total_pages?: number;
}

/** One page of a list, with its cursors. */
export interface Page<T> extends ResponseMeta {
  data: T[];
  pagination: Pagination;
  hasMore: boolean;
  /** Pass as `cursor` to get the next page (null on the last). */
  nextCursor: string | null;
  prevCursor: string | null;
  /** The page after this one, or null when this is the last. */
  nextPage(): Promise<Page<T> | null>;
}

/**
 * What `list` returns: await it for one page, or `for await` it for every
 * item of every page (following `next_cursor`, or `page` in offset mode).
 */
export interface PageRequest<T> extends PromiseLike<Page<T>>, AsyncIterable<T> {
  /** Every page in turn, starting with this one. */
  pages(): AsyncIterable<Page<T>>;
  /** Every item, up to `max` (required, so a huge collection is never read into memory by accident). */
  toArray(options: { max: number }): Promise<T[]>;
}

type Query = Record<string, unknown>;
export type PageFetcher = (query: Query, options: RequestOptions | undefined) => Promise<StoaResponse<{ data: unknown[]; pagination: Pagination }>>;

/** The query of the page after `page`, or null. */
function followingQuery(query: Query, pagination: Pagination): Query | null {
  if (pagination.next_cursor) {
    const { page: _page, per_page: _perPage, ...rest } = query;
    return { ...rest, cursor: pagination.next_cursor };
  }
  if (pagination.page !== undefined && pagination.total_pages !== undefined && pagination.page < pagination.total_pages) {
    return { ...query, page: pagination.page + 1 };
  }
  return null;
}

async function fetchPage<T>(fetcher: PageFetcher, query: Query, options: RequestOptions | undefined): Promise<Page<T>> {
  const response = await fetcher(query, options);
  const body = response.data;
  const pagination = body?.pagination ?? { has_more: false };
  const next = followingQuery(query, pagination);
  return {
    ...response,
    data: (body?.data ?? []) as T[],
    pagination,
    hasMore: pagination.has_more,
    nextCursor: pagination.next_cursor ?? null,
    prevCursor: pagination.prev_cursor ?? null,
    nextPage: () => (next === null ? Promise.resolve(null) : fetchPage<T>(fetcher, next, options)),
  };
}

export function pageRequest<T>(fetcher: PageFetcher, query: Query = {}, options?: RequestOptions): PageRequest<T> {
  let first: Promise<Page<T>> | undefined;
  const firstPage = () => (first ??= fetchPage<T>(fetcher, query, options));
  async function* pages(): AsyncGenerator<Page<T>> {
    let page: Page<T> | null = await firstPage();
    while (page !== null) {
      yield page;
      page = await page.nextPage();
    }
  }
  async function* items(): AsyncGenerator<T> {
    for await (const page of pages()) yield* page.data;
  }
  return {
    then: (onFulfilled, onRejected) => firstPage().then(onFulfilled, onRejected),
    [Symbol.asyncIterator]: () => items(),
    pages,
    async toArray({ max }) {
      if (!Number.isInteger(max) || max < 0) throw new TypeError('toArray needs { max }: a non-negative integer');
      const out: T[] = [];
      if (max === 0) return out;
      for await (const item of items()) {
        out.push(item);
        if (out.length >= max) break;
      }
      return out;
    },
  };
}

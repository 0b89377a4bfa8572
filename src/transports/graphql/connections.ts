import { AppError } from '../../domain/shared/errors.ts';
import { LIMIT_MAX, type Page, type PageRequest, type SortTerm } from '../../domain/shared/page.ts';
import { checkPageSize, type CursorPageRequest, type ListScope, type ListSpec, type Paginator } from '../../platform/pagination/index.ts';
import { snakeCase } from './naming.ts';

/** The Relay arguments every connection field takes. */
export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  orderBy?: ReadonlyArray<{ field: string; direction?: 'ASC' | 'DESC' | null }> | null;
}

export interface Edge<T> {
  node: T;
  cursor: () => string;
}

/** A connection as resolvers return it; `totalCount` is a function, so graphql-js calls it only when it is selected. */
export interface Connection<T> {
  edges: Edge<T>[];
  nodes: T[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: () => Promise<number>;
}

function invalid(field: string, message: string): AppError {
  return new AppError('INVALID_PARAMETER', `Invalid argument ${field}: ${message}`, { errors: [{ field, code: 'invalid_value', message }] });
}

/** `orderBy` as the domain's sort terms (field names as REST's, `createdAt` or `created_at`); undefined for the default order. */
function sortOf(orderBy: ConnectionArgs['orderBy']): SortTerm[] | undefined {
  if (orderBy === null || orderBy === undefined || orderBy.length === 0) return undefined;
  return orderBy.map((term) => ({ field: snakeCase(term.field), descending: term.direction === 'DESC' }));
}

/** How many items a connection field asks for: `first` or `last`, else the default page; for cost analysis, the maximum page. */
export const CONNECTION_PAGE_MAX = LIMIT_MAX;

/**
 * A Relay connection over the pagination core: `first`/`after` walk forward,
 * `last`/`before` backward, `last` alone reads the end of the list; cursors are
 * the same as REST's for the same collection (`scope`), so they travel
 * between transports. `fetch` is the one service call.
 */
export async function connection<T extends { id: string }>(
  paginator: Paginator,
  args: ConnectionArgs,
  spec: ListSpec<T>,
  scope: ListScope,
  fetch: (page: PageRequest) => Promise<Page<T>>,
): Promise<Connection<T>> {
  const first = args.first ?? undefined;
  const last = args.last ?? undefined;
  const after = args.after ?? undefined;
  const before = args.before ?? undefined;
  if (first !== undefined && last !== undefined) throw invalid('last', 'cannot be combined with first');
  if (first !== undefined) checkPageSize('first', first);
  if (last !== undefined) checkPageSize('last', last);
  if (last !== undefined && after !== undefined) throw invalid('after', 'walks forward: use it with first');
  if (first !== undefined && before !== undefined) throw invalid('before', 'walks backward: use it with last');
  const sort = sortOf(args.orderBy);
  const limit = first ?? last;

  let request: CursorPageRequest;
  let page: Page<T>;
  let fromEnd = false;
  try {
    request = paginator.toPageRequest({ sort, limit, after, before }, spec, scope);
  } catch (error) {
    // The core names REST's `limit`; here the argument is `first` or `last`.
    if (error instanceof AppError && error.errors?.[0]?.field === 'limit') throw invalid(first !== undefined ? 'first' : 'last', error.errors[0].message);
    throw error;
  }
  if (last !== undefined && before === undefined) {
    // The last items: the first ones in the opposite order, turned around.
    fromEnd = true;
    const flipped = request.page.sort.map((t) => ({ field: t.field, descending: !t.descending }));
    const reversed = await fetch({ ...request.page, sort: flipped });
    page = { ...reversed, items: [...reversed.items].reverse() };
  } else {
    page = await fetch(request.page);
  }

  const cursorOf = (node: T) => paginator.pageCursors({ items: [node], hasMore: false }, request, spec).end!;
  const countRequest: PageRequest = { mode: 'offset', sort: request.page.sort, page: 1, perPage: 1 };
  let pageInfo: Connection<T>['pageInfo'] | undefined;
  let edges: Array<Edge<T>> | undefined;
  return {
    // Built on first selection: a query of `nodes` alone makes no edge objects.
    get edges() {
      return (edges ??= page.items.map((node) => ({ node, cursor: () => cursorOf(node) })));
    },
    nodes: page.items,
    // Signed cursors cost an HMAC each: made only when pageInfo is selected (edge cursors likewise, per edge).
    get pageInfo() {
      if (pageInfo === undefined) {
        const cursors = paginator.pageCursors(page, request, spec);
        pageInfo = {
          hasNextPage: fromEnd ? false : cursors.hasNext,
          hasPreviousPage: fromEnd ? page.hasMore : cursors.hasPrevious,
          startCursor: cursors.start,
          endCursor: cursors.end,
        };
      }
      return pageInfo;
    },
    totalCount: async () => (await fetch(countRequest)).total ?? 0,
  };
}

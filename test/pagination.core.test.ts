import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../src/domain/shared/errors.ts';
import { LIMIT_MAX, type Page, type SortTerm } from '../src/domain/shared/page.ts';
import { CursorCodec, Paginator, type CursorPage, type CursorPageRequest, type ListScope, type ListSpec, type PageArgs } from '../src/platform/pagination/index.ts';

interface Row {
  id: string;
  rank: number;
  name: string;
}

// Ten rows; ranks repeat so the id tie-breaker matters.
const ROWS: Row[] = Array.from({ length: 10 }, (_, i) => ({ id: `row_${String(i).padStart(2, '0')}`, rank: i % 4, name: `n${(i * 7) % 10}` }));

const SPEC: ListSpec<Row> = {
  sorts: { rank: (r) => r.rank, name: (r) => r.name },
  defaultSort: [{ field: 'rank', descending: true }],
};
const SCOPE: ListScope = { collection: 'users.things', parent: 'usr_1', filters: { kind: 'a', q: undefined } };

function compare(a: Row, b: Row, sort: readonly SortTerm[]): number {
  for (const term of sort) {
    const x = a[term.field as 'rank' | 'name'];
    const y = b[term.field as 'rank' | 'name'];
    if (x !== y) return (x < y ? -1 : 1) * (term.descending ? -1 : 1);
  }
  // The id runs the way the last sort key does, as in the keyset SQL.
  if (a.id === b.id) return 0;
  return (a.id < b.id ? -1 : 1) * (sort[sort.length - 1]?.descending ? -1 : 1);
}

/** An in-memory store answering a keyset page the way a repository does (limit + 1 rows). */
function store(rows: readonly Row[], page: CursorPage): Page<Row> {
  const ordered = [...rows].sort((a, b) => compare(a, b, page.sort));
  const position = page.position;
  let window = ordered;
  if (position) {
    const at = { ...Object.fromEntries(page.sort.map((t, i) => [t.field, position.at.values[i]])), id: position.at.id } as Row;
    window = position.direction === 'next' ? ordered.filter((r) => compare(r, at, page.sort) > 0) : ordered.filter((r) => compare(r, at, page.sort) < 0).reverse();
  }
  const taken = window.slice(0, page.limit);
  const items = position?.direction === 'prev' ? taken.reverse() : taken;
  return { items, hasMore: window.length > page.limit };
}

const paginator = new Paginator(new CursorCodec('test secret'));

function fetch(args: PageArgs, scope: ListScope = SCOPE) {
  const request: CursorPageRequest = paginator.toPageRequest(args, SPEC, scope);
  const page = store(ROWS, request.page);
  return { request, page, cursors: paginator.pageCursors(page, request, SPEC), ids: page.items.map((r) => r.id) };
}

function isCode(code: string) {
  return (error: unknown) => error instanceof AppError && error.code === code;
}

describe('platform/pagination (no transport)', () => {
  const ordered = [...ROWS].sort((a, b) => compare(a, b, SPEC.defaultSort)).map((r) => r.id);

  it('walks forward with `after` to the end: hasNext until the last page, hasPrevious from the second', () => {
    const pages: string[][] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const { ids, cursors } = fetch({ limit: 3, after });
      pages.push(ids);
      assert.equal(cursors.hasPrevious, after !== undefined, `page ${pages.length}: hasPrevious`);
      assert.equal(cursors.previous, cursors.hasPrevious ? cursors.start : null);
      assert.ok(cursors.start && cursors.end, 'start and end on a non-empty page');
      if (!cursors.hasNext) {
        assert.equal(cursors.next, null);
        break;
      }
      assert.equal(cursors.next, cursors.end);
      after = cursors.end!;
    }
    assert.deepEqual(pages, [ordered.slice(0, 3), ordered.slice(3, 6), ordered.slice(6, 9), ordered.slice(9)]);
  });

  it('walks backward with `before` from the last page to the first: hasPrevious until the first page, hasNext throughout', () => {
    let last = fetch({ limit: 3 });
    while (last.cursors.hasNext) last = fetch({ limit: 3, after: last.cursors.end! });
    const pages: string[][] = [];
    let before = last.cursors.start!;
    for (let guard = 0; guard < 10; guard++) {
      const { ids, cursors } = fetch({ limit: 3, before });
      pages.unshift(ids);
      assert.equal(cursors.hasNext, true, 'rows follow every page walked back to');
      assert.equal(cursors.next, cursors.end);
      if (!cursors.hasPrevious) {
        assert.equal(cursors.previous, null, 'nothing before the first page');
        break;
      }
      before = cursors.previous!;
    }
    assert.deepEqual(pages.flat(), ordered.slice(0, 9), 'the rows before the last page, in order');
    assert.deepEqual(pages[0], ordered.slice(0, 3));
  });

  it('a self-directed `cursor` (REST cursor, gRPC page_token) walks the way it was minted; `after` and `before` override it', () => {
    const first = fetch({ limit: 4 });
    const second = fetch({ limit: 4, cursor: first.cursors.next! });
    assert.deepEqual(second.ids, ordered.slice(4, 8));
    assert.deepEqual(fetch({ limit: 4, cursor: second.cursors.previous! }).ids, ordered.slice(0, 4));
    assert.deepEqual(fetch({ limit: 4, after: second.cursors.start! }).ids, ordered.slice(5, 9), 'Relay: after any cursor');
    assert.deepEqual(fetch({ limit: 4, before: second.cursors.end! }).ids, ordered.slice(3, 7), 'Relay: before any cursor');
  });

  it('an empty page has no cursors and no pages either side', () => {
    const empty = paginator.toPageRequest({ limit: 5 }, SPEC, SCOPE);
    const cursors = paginator.pageCursors({ items: [], hasMore: false }, empty, SPEC);
    assert.deepEqual(cursors, { start: null, end: null, next: null, previous: null, hasNext: false, hasPrevious: false });
  });

  it('binds a cursor to the collection, its parent, the filters and the sort', () => {
    const cursor = fetch({ limit: 3 }).cursors.next!;
    assert.equal(fetch({ limit: 7, cursor }).ids.length, 7, 'the page size may change');
    assert.equal(fetch({ cursor }, { collection: 'users.things', parent: 'usr_1', filters: { kind: 'a' } }).ids.length, 7, 'an absent filter is no filter');
    const elsewhere: Array<[string, ListScope, PageArgs?]> = [
      ['another collection', { ...SCOPE, collection: 'things' }],
      ['another parent', { ...SCOPE, parent: 'usr_2' }],
      ['no parent', { ...SCOPE, parent: undefined }],
      ['another filter value', { ...SCOPE, filters: { kind: 'b' } }],
      ['an added filter', { ...SCOPE, filters: { kind: 'a', q: 'x' } }],
      ['no filters', { collection: SCOPE.collection, parent: SCOPE.parent }],
      ['another sort', SCOPE, { sort: [{ field: 'name', descending: false }] }],
      ['the sort reversed', SCOPE, { sort: [{ field: 'rank', descending: false }] }],
    ];
    for (const [why, scope, args] of elsewhere) {
      assert.throws(() => paginator.toPageRequest({ ...args, cursor }, SPEC, scope), isCode('INVALID_CURSOR'), why);
    }
    assert.throws(() => new Paginator(new CursorCodec('another secret')).toPageRequest({ cursor }, SPEC, SCOPE), isCode('INVALID_CURSOR'), 'another key');
  });

  it('refuses tampered, truncated and garbage cursors with INVALID_CURSOR naming the argument', () => {
    const cursor = fetch({ limit: 3 }).cursors.next!;
    const [payload, mac] = cursor.split('.') as [string, string];
    const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forge = (change: (p: Record<string, unknown>) => void) => {
      const copy = structuredClone(decoded);
      change(copy);
      return `${Buffer.from(JSON.stringify(copy)).toString('base64url')}.${mac}`;
    };
    const bad = [
      forge((p) => (p.i = 'row_99')),
      forge((p) => (p.v = [0])),
      forge((p) => (p.d = 'p')),
      `${payload}.${Buffer.from(mac, 'base64url').reverse().toString('base64url')}`,
      cursor.slice(0, -2),
      payload,
      `${cursor}.x`,
      'garbage',
      '',
      'a'.repeat(4096),
    ];
    for (const token of bad) {
      for (const slot of ['cursor', 'after', 'before'] as const) {
        assert.throws(
          () => paginator.toPageRequest({ [slot]: token }, SPEC, SCOPE),
          (error: unknown) => isCode('INVALID_CURSOR')(error) && (error as AppError).errors?.[0]?.field === slot,
          `${slot}=${token.slice(0, 20)}`,
        );
      }
    }
  });

  it('checks sort against the allow-list (a repeat sorted once), the page size against LIMIT_MAX, and refuses two cursors at once', () => {
    assert.deepEqual(paginator.toPageRequest({}, SPEC, SCOPE).page, { mode: 'cursor', sort: [{ field: 'rank', descending: true }], limit: 20, position: undefined });
    assert.equal(paginator.toPageRequest({ limit: LIMIT_MAX }, SPEC, SCOPE).page.limit, LIMIT_MAX);
    for (const limit of [0, -1, 1.5, LIMIT_MAX + 1, Number.NaN]) {
      assert.throws(() => paginator.toPageRequest({ limit }, SPEC, SCOPE), isCode('INVALID_PARAMETER'), `limit ${limit}`);
    }
    assert.throws(() => paginator.toPageRequest({ sort: [{ field: 'secret', descending: false }] }, SPEC, SCOPE), isCode('INVALID_PARAMETER'));
    const twice = [
      { field: 'rank', descending: false },
      { field: 'rank', descending: true },
    ];
    // A field sorted twice: the first mention decides (a pattern in the document cannot forbid the repeat).
    assert.deepEqual(paginator.toPageRequest({ sort: twice }, SPEC, SCOPE).page.sort, [{ field: 'rank', descending: false }]);
    const cursor = fetch({ limit: 3 }).cursors.next!;
    assert.throws(() => paginator.toPageRequest({ after: cursor, before: cursor }, SPEC, SCOPE), isCode('INVALID_PARAMETER'));
    assert.throws(() => paginator.toPageRequest({ cursor, after: cursor }, SPEC, SCOPE), isCode('INVALID_PARAMETER'));
  });
});

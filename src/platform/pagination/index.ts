export { CursorCodec, type DecodedCursor } from './cursor.ts';
export { LIST_PARAMETERS, filtersOf, parseListQuery, queryFingerprint, type ListOptions, type ListSpec } from './list-query.ts';

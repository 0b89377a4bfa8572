export { CursorCodec, type DecodedCursor } from './cursor.ts';
export {
  checkPageSize,
  Paginator,
  resolveSort,
  scopeFingerprint,
  type CursorPage,
  type CursorPageRequest,
  type ListScope,
  type ListSpec,
  type PageArgs,
  type PageCursors,
} from './paginator.ts';

import type { TObject, TOptional, TProperties, TString } from 'typebox';
import { listQuerySchema } from './lists.ts';

/** A comma-separated query parameter (`status=active,suspended`) as its trimmed items; undefined when absent. */
export function splitList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((item) => item.trim());
}

/**
 * `listQuerySchema` typed for handlers: its static type names the filters
 * (and `q`), which handlers read; the paging parameters are read by `RestLists`.
 */
export function listQuery<F extends TProperties>(filters: F, options: { search?: boolean } = {}): TObject<F & { q: TOptional<TString> }> {
  return listQuerySchema(filters, options) as unknown as TObject<F & { q: TOptional<TString> }>;
}


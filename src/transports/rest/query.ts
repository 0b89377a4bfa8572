import { Type, type TObject, type TOptional, type TProperties, type TString } from 'typebox';
import { namesListPattern } from './list-query.ts';
import { listQuerySchema, type ListQueryOptions } from './lists.ts';

/**
 * A comma-separated filter (`status=pending,paid`) whose items are `values`:
 * the pattern documents, and validates, exactly what the service accepts, and
 * a refusal names the values.
 */
export function commaList(values: readonly string[], description: string, maxLength = 200): TOptional<TString> {
  return Type.Optional(Type.String({ minLength: 1, maxLength, pattern: namesListPattern(values), description }));
}

/** A comma-separated query parameter (`status=active,suspended`) as its trimmed items; undefined when absent. */
export function splitList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((item) => item.trim());
}

/**
 * `listQuerySchema` typed for handlers: its static type names the filters
 * (and `q`), which handlers read; the paging parameters are read by `RestLists`.
 */
export function listQuery<F extends TProperties>(filters: F, options: ListQueryOptions = {}): TObject<F & { q: TOptional<TString> }> {
  return listQuerySchema(filters, options) as unknown as TObject<F & { q: TOptional<TString> }>;
}


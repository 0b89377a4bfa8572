import { Type, type TObject, type TOptional, type TProperties, type TString } from 'typebox';
import { explainedPattern } from '../../domain/shared/validation.ts';
import { MAX_LIST_ITEMS } from './list-query.ts';
import { listQuerySchema, type ListQueryOptions } from './lists.ts';

const escapeRegex = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A comma-separated filter (`status=pending,paid`) whose items are `values`
 * (or match the regular expression source `values`): the pattern documents,
 * and validates, exactly what the service accepts.
 */
export function commaList(values: readonly string[] | string, description: string, maxLength = 200): TOptional<TString> {
  return Type.Optional(Type.String({ minLength: 1, maxLength, pattern: commaListPattern(values), description }));
}

/** The pattern of `commaList`: up to MAX_LIST_ITEMS of `values` (or of the regular expression source `values`). */
export function commaListPattern(values: readonly string[] | string): string {
  const item = typeof values === 'string' ? values : values.map(escapeRegex).join('|');
  const pattern = `^(?:${item})(?:,(?:${item})){0,${MAX_LIST_ITEMS - 1}}$`;
  return typeof values === 'string' ? pattern : explainedPattern(pattern, `must be a comma-separated list of at most ${MAX_LIST_ITEMS} of: ${values.join(', ')}`);
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


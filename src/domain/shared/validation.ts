import { Type, type Static, type TSchema, type TString } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { Settings } from 'typebox/system';
import { validationError, type FieldError } from './errors.ts';

/**
 * Every field error code Stoa emits, on every transport, and nothing else
 * (`FieldError.code`). docs/errors.md lists exactly these; a test keeps the
 * two in step. A code is never reused for another rule.
 */
export const FIELD_ERROR_CODES = [
  // Rules a schema states: the same codes whoever checks the schema (REST's Ajv, the domain).
  'required',
  'unknown_field',
  'invalid_type',
  'invalid_format',
  'too_short',
  'too_long',
  'out_of_range',
  'too_few_items',
  'too_many_items',
  'duplicate_items',
  'invalid_value',
  'invalid',
  // Rules only the domain can check.
  'in_past',
  'invalid_range',
  'not_found',
  'out_of_stock',
  'currency_mismatch',
  'cannot_follow_self',
  'forbidden_address',
  // Rules of list requests (query string, cursors, includes).
  'unknown_parameter',
  'invalid_cursor',
  'too_many_included',
] as const;

export type FieldErrorCode = (typeof FIELD_ERROR_CODES)[number];

/** One failure reported by a JSON Schema validator (Ajv and TypeBox share this shape). */
export interface SchemaIssue {
  keyword: string;
  instancePath: string;
  schemaPath?: string;
  params: unknown;
  message?: string | undefined;
}

const patternMessages = new Map<string, string>();

/**
 * `pattern`, registered with the message a value that fails it gets (`must be
 * a comma-separated list of: …`), so that the refusal names what is allowed
 * rather than only saying the format is wrong.
 */
export function explainedPattern(pattern: string, message: string): string {
  patternMessages.set(pattern, message);
  return pattern;
}

/** The message `explainedPattern` registered for `pattern`, if any. */
export function patternExplanation(pattern: string): string | undefined {
  return patternMessages.get(pattern);
}

/** A schema failure in the field error vocabulary. */
export function describeSchemaIssue(issue: SchemaIssue): Pick<FieldError, 'code' | 'message'> {
  const p = (issue.params ?? {}) as Record<string, unknown>;
  switch (issue.keyword) {
    case 'required':
      return { code: 'required', message: 'is required' };
    case 'additionalProperties':
      return { code: 'unknown_field', message: 'is not a known field' };
    case 'type':
      return { code: 'invalid_type', message: `must be ${String(p.type)}` };
    case 'format':
      return { code: 'invalid_format', message: `must be a valid ${String(p.format)}` };
    case 'pattern': {
      const explained = patternExplanation(String(p.pattern));
      return explained ? { code: 'invalid_value', message: explained } : { code: 'invalid_format', message: 'has an invalid format' };
    }
    case 'minLength':
      return { code: 'too_short', message: `must be at least ${String(p.limit)} characters` };
    case 'maxLength':
      return { code: 'too_long', message: `must be at most ${String(p.limit)} characters` };
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      return { code: 'out_of_range', message: `must be ${String(p.comparison)} ${String(p.limit)}` };
    case 'minItems':
      return { code: 'too_few_items', message: `must have at least ${String(p.limit)} items` };
    case 'maxItems':
      return { code: 'too_many_items', message: `must have at most ${String(p.limit)} items` };
    case 'uniqueItems':
      return { code: 'duplicate_items', message: 'must not contain duplicates' };
    case 'enum':
      return { code: 'invalid_value', message: `must be one of ${(p.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { code: 'invalid_value', message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'minProperties':
      return { code: 'invalid', message: `must NOT have fewer than ${String(p.limit)} properties` };
    default:
      return { code: 'invalid', message: issue.message ?? 'is invalid' };
  }
}

/** `/items/0/product_id` → `items.0.product_id`. */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** The fields an issue is about: Ajv names one missing or extra property per issue, TypeBox lists them. */
function fieldsOf(issue: SchemaIssue): string[] {
  const base = dotted(issue.instancePath);
  const p = (issue.params ?? {}) as Record<string, unknown>;
  let children: unknown[] = [];
  if (issue.keyword === 'required') children = p.missingProperty !== undefined ? [p.missingProperty] : ((p.requiredProperties as unknown[] | undefined) ?? []);
  if (issue.keyword === 'additionalProperties') children = p.additionalProperty !== undefined ? [p.additionalProperty] : ((p.additionalProperties as unknown[] | undefined) ?? []);
  if (children.length === 0) return [base];
  return children.map((child) => (base ? `${base}.${String(child)}` : String(child)));
}

/**
 * Schema failures → one field error per failing field and code, in order,
 * with canonical dotted paths (`items.0.product_id`). `rootName` names the
 * value as a whole (`body`, `querystring`).
 */
export function toFieldErrors(issues: Iterable<SchemaIssue>, rootName: string): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const issue of issues) {
    // anyOf/oneOf wrap their branches' failures, which are already listed.
    if (issue.keyword === 'anyOf' || issue.keyword === 'oneOf' || issue.keyword === 'if') continue;
    // TypeBox reports an extra property twice: as `additionalProperties` and as the `false` schema it failed.
    if (issue.keyword === 'boolean' && issue.schemaPath?.endsWith('/additionalProperties')) continue;
    const { code, message } = describeSchemaIssue(issue);
    for (const field of fieldsOf(issue).map((f) => f || rootName)) {
      const key = `${field}\u0000${code}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ field, code, message });
    }
  }
  return out;
}

// Every failing field is reported at once, as REST does; the bound keeps a hostile input cheap.
Settings.Set({ maxErrors: 100 });

/** A use case's input, declared once as a TypeBox (JSON) schema and checked in the domain on every transport. */
export interface InputSpec<T extends TSchema> {
  /** The JSON Schema: transports derive their validation and documentation from it. */
  readonly schema: T;
  /** The input's schema failures as field errors (empty when it is valid). */
  errors(value: unknown): FieldError[];
  /** The input, typed; throws VALIDATION_FAILED listing its schema failures and `extra` (the domain's own rules) unless both are empty. */
  parse(value: unknown, extra?: readonly FieldError[]): Static<T>;
}

/** The field name of an input as a whole (when it is not an object, say). */
export const ROOT = 'input';

/** Compiles an input schema once, when the module that declares it loads. */
export function defineInput<T extends TSchema>(schema: T): InputSpec<T> {
  const validator = Compile(schema) as unknown as Validator;
  const errors = (value: unknown): FieldError[] => (validator.Check(value) ? [] : toFieldErrors(validator.Errors(value), ROOT));
  return {
    schema,
    errors,
    parse(value: unknown, extra: readonly FieldError[] = []): Static<T> {
      const all = [...errors(value), ...extra];
      if (all.length > 0) throw validationError(all);
      return value as Static<T>;
    },
  };
}

/**
 * Keywords the OpenAPI document adds to a schema: rules the domain checks
 * beyond the schema it validates with (blank text, a known currency, a real
 * date), stated for clients so that what the document allows the server takes.
 * Validation ignores the key; the document builder merges it in.
 */
export const DOCUMENTED = 'x-documented';

/** What String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator), spelled out so every regex dialect agrees. */
const TRIMMED = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/** A pattern for text with something besides whitespace, without NUL (the JSON body parser refuses it) or any of `excluded`. */
export function notBlankPattern(excluded = ''): string {
  return `^[^\\u0000${excluded}]*[^\\u0000${excluded}${TRIMMED}][^\\u0000${excluded}]*$`;
}

/** A string that must hold something other than whitespace (checked by `blankFields`, documented by a pattern). */
export function NonBlankString(options: { minLength?: number; maxLength?: number; examples?: string[]; description?: string }, excluded = ''): TString {
  return Type.String({ ...options, [DOCUMENTED]: { pattern: notBlankPattern(excluded) } });
}

/** The canonical messages for rules the schema states but the domain checks beyond it. */
export const notBlank = (field: string): FieldError => ({ field, code: 'too_short', message: 'must not be blank' });

/** `notBlank` for each named string field of `input` that is only whitespace. */
export function blankFields(input: unknown, fields: readonly string[], prefix = ''): FieldError[] {
  if (input === null || typeof input !== 'object') return [];
  const record = input as Record<string, unknown>;
  return fields.filter((f) => typeof record[f] === 'string' && (record[f] as string).length > 0 && (record[f] as string).trim().length === 0).map((f) => notBlank(prefix + f));
}

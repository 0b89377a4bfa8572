import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FieldError } from '../../../domain/shared/errors.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under some loaders.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, removeAdditional: false, useDefaults: true, ...options });
  addFormats(ajv);
  // OpenAPI annotation keywords that Ajv should not treat as unknown.
  ajv.addKeyword({ keyword: 'example' });
  return ajv;
}

/**
 * Fastify's validator factory: bodies are validated strictly (no type
 * coercion — `"age": "3"` is not a number), query strings, params and headers
 * with coercion since they arrive as text. Every error is reported at once.
 */
export function buildValidatorFactory() {
  return (externalSchemas: Record<string, unknown>) => {
    const strict = makeAjv({ coerceTypes: false });
    const coercing = makeAjv({ coerceTypes: 'array' });
    for (const schema of Object.values(externalSchemas)) {
      strict.addSchema(schema as object);
      coercing.addSchema(schema as object);
    }
    return ({ schema, httpPart }: { schema: unknown; httpPart?: string }) =>
      (httpPart === 'body' ? strict : coercing).compile(schema as object);
  };
}

function pathOf(error: ErrorObject): string {
  const base = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const child = (error.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ?? (error.params as { additionalProperty?: string }).additionalProperty;
  if (child !== undefined && (error.keyword === 'required' || error.keyword === 'additionalProperties')) return base ? `${base}.${child}` : child;
  return base;
}

function describe(error: ErrorObject): Pick<FieldError, 'code' | 'message'> {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { code: 'required', message: 'is required' };
    case 'additionalProperties':
      return { code: 'unknown_field', message: 'is not a known field' };
    case 'type':
      return { code: 'invalid_type', message: `must be ${String(p.type)}` };
    case 'format':
      return { code: 'invalid_format', message: `must be a valid ${String(p.format)}` };
    case 'pattern':
      return { code: 'invalid_format', message: 'has an invalid format' };
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
    default:
      return { code: 'invalid', message: error.message ?? 'is invalid' };
  }
}

/** Ajv errors → one entry per failing field, in order, without repeats. */
export function toFieldErrors(errors: readonly ErrorObject[], rootName: string): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const error of errors) {
    // anyOf/oneOf wrap their branches' errors, which are already listed.
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') continue;
    const field = pathOf(error) || rootName;
    const { code, message } = describe(error);
    const key = `${field}\u0000${code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ field, code, message });
  }
  return out;
}

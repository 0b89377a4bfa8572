import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FieldError } from '../../../domain/shared/errors.ts';
import { toFieldErrors as schemaFieldErrors } from '../../../domain/shared/validation.ts';

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
    // Fastify asks for a factory per plugin context; each pair of Ajv instances is made when first needed.
    let pair: { strict: Ajv; coercing: Ajv } | undefined;
    const instances = () => {
      if (pair) return pair;
      pair = { strict: makeAjv({ coerceTypes: false }), coercing: makeAjv({ coerceTypes: 'array' }) };
      for (const schema of Object.values(externalSchemas)) {
        pair.strict.addSchema(schema as object);
        pair.coercing.addSchema(schema as object);
      }
      return pair;
    };
    return ({ schema, httpPart }: { schema: unknown; httpPart?: string }) =>
      compileOnFirstUse(() => (httpPart === 'body' ? instances().strict : instances().coercing), schema as object);
  };
}

interface LazyValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null | undefined;
}

/**
 * Compiling every route's schemas when the server starts was the largest share of a start (about 1.4 s of
 * CPU for some 300 schemas), while most routes of a process are never called. Each one is compiled by the
 * first request that needs it instead; Fastify reads `errors` from the function it was given, so they are
 * copied across.
 */
function compileOnFirstUse(ajv: () => Ajv, schema: object): LazyValidator {
  let compiled: ValidateFunction | undefined;
  const validate: LazyValidator = (data) => {
    compiled ??= ajv().compile(schema);
    const valid = compiled(data) as boolean;
    validate.errors = compiled.errors;
    return valid;
  };
  return validate;
}

/** Ajv errors → one entry per failing field, in order, without repeats, in the domain's vocabulary. */
export function toFieldErrors(errors: readonly ErrorObject[], rootName: string): FieldError[] {
  return schemaFieldErrors(errors, rootName);
}

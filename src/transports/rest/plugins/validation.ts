import { Ajv, type ErrorObject, type Options } from 'ajv';
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

/** Ajv errors → one entry per failing field, in order, without repeats, in the domain's vocabulary. */
export function toFieldErrors(errors: readonly ErrorObject[], rootName: string): FieldError[] {
  return schemaFieldErrors(errors, rootName);
}

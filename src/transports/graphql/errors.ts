import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError, ERROR_CODES, type ErrorCode, type FieldError } from '../../domain/shared/errors.ts';
import type { FieldErrorCode } from '../../domain/shared/validation.ts';
import { asAppError } from '../../platform/errors/index.ts';
import { graphqlPath } from './naming.ts';

/** A field error as GraphQL answers it: the path in GraphQL's names (`items.0.productId`), the code as on every transport. */
export interface GraphqlFieldError {
  field: string;
  code: FieldErrorCode;
  message: string;
}

/** Members of an AppError's extensions that are its details (`required_scope`, `current_status`, …), copied into `extensions`. */
function detailsOf(error: AppError): Record<string, unknown> {
  return error.extensions ?? {};
}

/**
 * An AppError as a GraphQL error: `extensions.code` from the registry,
 * `extensions.fields` for field errors, the error's details beside them.
 * `rename` maps a domain field name to an argument of this field (`id` → `userId`).
 */
export function toGraphqlError(error: AppError, rename: Record<string, string> = {}): GraphQLError {
  const extensions: Record<string, unknown> = { ...detailsOf(error), code: error.code };
  if (error.errors) extensions.fields = error.errors.map((e) => ({ field: rename[e.field] ?? graphqlPath(e.field), code: e.code, message: e.message }));
  if (error.retryAfterSeconds !== undefined) extensions.retry_after = error.retryAfterSeconds;
  return new GraphQLError(error.message, { extensions, originalError: error });
}

/** A GraphQL error carrying only a registry code (and extras). */
export function codedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** Field suggestions ("Did you mean …?") leak the schema; they go when introspection is off. */
export function withoutSuggestions(error: GraphQLError): GraphQLError {
  const message = error.message.replace(/\s*Did you mean .*$/s, '');
  if (message === error.message) return error;
  return new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions: error.extensions });
}

/** The field code a scalar's refusal carries (`DateTime` refuses a format, the others a type). */
export function scalarError(message: string, fieldCode: FieldErrorCode = 'invalid_type'): GraphQLError {
  return new GraphQLError(message, { extensions: { field_code: fieldCode } });
}

/**
 * Variable coercion failures (graphql-js) as one VALIDATION_FAILED error with
 * every failing field, as REST and the domain report them: the path inside
 * the variable (`input.items[0].quantity` → `items.0.quantity`), and the
 * field code of the rule that failed.
 */
export function coercionFailure(errors: readonly GraphQLError[]): GraphQLError {
  const fields: GraphqlFieldError[] = [];
  for (const error of errors) {
    const message = error.message;
    const at = /^Variable "\$[^"]+" got invalid value .*? at "([^"]+)"; /s.exec(message);
    const inner = message.replace(/^Variable "\$[^"]+" got invalid value .*?; /s, '');
    let path = at ? at[1]!.replace(/\[(\d+)\]/g, '.$1').split('.').slice(1).join('.') : '';
    let code: FieldErrorCode = 'invalid_type';
    let detail = inner;
    const unknown = /^Field "([^"]+)" is not defined by type/.exec(inner);
    const missing = /^Field "([^"]+)" of required type "[^"]+" was not provided/.exec(inner);
    const original = error.originalError as (GraphQLError & { extensions?: Record<string, unknown> }) | undefined;
    if (unknown) {
      path = path ? `${path}.${unknown[1]}` : unknown[1]!;
      code = 'unknown_field';
      detail = 'is not a known field';
    } else if (missing) {
      path = path ? `${path}.${missing[1]}` : missing[1]!;
      code = 'required';
      detail = 'is required';
    } else if (/not to be null/.test(inner)) {
      code = 'required';
      detail = 'is required';
    } else if (/does not exist in "[^"]+" enum/.test(inner)) {
      code = 'invalid_value';
    } else if (typeof original?.extensions?.field_code === 'string') {
      code = original.extensions.field_code as FieldErrorCode;
    }
    if (!at && !unknown && !missing) {
      // The variable itself (not a member of it) is wrong: name the variable.
      const variable = /^Variable "\$([^"]+)"/.exec(message);
      path = variable ? variable[1]! : '';
    }
    fields.push({ field: path || 'input', code, message: detail.replace(/\s*Did you mean .*$/s, '') });
  }
  const names = [...new Set(fields.map((f) => f.field))].join(', ');
  return new GraphQLError(`Invalid fields: ${names}`, { extensions: { code: 'VALIDATION_FAILED', fields } });
}

/** Errors as the response shows them: registry codes only; unexpected failures say nothing of their cause (http.ts logs them). */
export function formatError(error: GraphQLError | Error): GraphQLFormattedError {
  // graphql-http's own refusals (a body that is no JSON object, a missing query) are plain errors.
  if (!(error instanceof GraphQLError)) return { message: error.message, extensions: { code: 'BAD_REQUEST' } };
  const original = error.originalError;
  if (original && !(original instanceof GraphQLError)) {
    const appError = original instanceof AppError ? original : asAppError(original);
    const shaped = toGraphqlError(appError);
    return { message: shaped.message, ...(error.locations && { locations: error.locations }), ...(error.path && { path: error.path }), extensions: shaped.extensions };
  }
  const formatted = error.toJSON();
  const code = formatted.extensions?.code;
  if (typeof code !== 'string' || !Object.hasOwn(ERROR_CODES, code)) {
    return { ...formatted, extensions: { ...formatted.extensions, code: error.locations || error.nodes ? 'GRAPHQL_VALIDATION_FAILED' : 'BAD_REQUEST' } };
  }
  return formatted;
}

/** Re-throws a field error from the domain with its field renamed to this field's argument. */
export function renamingFields<T>(rename: Record<string, string>, run: () => Promise<T>): Promise<T> {
  return run().catch((error: unknown) => {
    if (error instanceof AppError && error.errors) throw toGraphqlError(error, rename);
    throw error;
  });
}

export type { FieldError };

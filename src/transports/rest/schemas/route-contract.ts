import type { RouteOptions } from 'fastify';
import { problemResponses } from './common.ts';

/**
 * The answers every API route can give because of what it declares, added to
 * its declared responses in one place (an `onRoute` hook) so the OpenAPI
 * document says everything the server sends:
 *
 * - every route: 400 (a URL that cannot be decoded, a NUL), 406 (Accept);
 * - a credential looked at (`auth` not `none`): 401 (and 403: scopes, suspension);
 * - path parameters: 400 (schema, length) and 404;
 * - a query string schema: 400 (unknown or invalid parameter); a reversed range
 *   (`created_after` after `created_before`) is an empty page, not a refusal;
 * - a request body (or a DELETE, which may carry one): 413, 415; a body schema: 422;
 * - an `If-Match` header: 412, and 428 where a deployment requires it;
 * - POST/PATCH through the idempotency wrapper: the `Idempotency-Key` header
 *   (required where the operation says so) and its 400/409/422;
 * - lists (`produces` text/csv): the CSV representation of the 200;
 * - lists with `fields`: item properties are not required (a sparse fieldset
 *   returns only the fields asked for, and only those the caller may see on each item).
 */
export function documentAnswers(route: RouteOptions): void {
  const schema = route.schema as (Record<string, unknown> & { response?: Record<string, unknown> }) | undefined;
  if (!schema?.response || schema.hide === true) return;
  const config = (route.config ?? {}) as { auth?: string; produces?: readonly string[]; idempotency?: false | { operation: { idempotencyKey: string } } };
  const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String);
  const statuses = [400, 406];
  if (config.auth !== 'none') statuses.push(401, 403);
  if (schema.params) statuses.push(404);
  const hasBody = methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH');
  // A DELETE may carry a body too (RFC 9110 gives it no meaning): it is parsed like any other, so it can be too large or of a refused type.
  if (hasBody || methods.includes('DELETE')) statuses.push(413, 415);
  if (schema.body) statuses.push(422);
  const query = schema.querystring as { properties?: Record<string, unknown> } | undefined;

  const headers = schema.headers as { properties?: Record<string, unknown> } | undefined;
  if (headers?.properties?.['if-match']) statuses.push(412, 428);

  const idempotent = config.idempotency !== false && methods.some((m) => m === 'POST' || m === 'PATCH');
  if (idempotent) {
    statuses.push(409, 422);
    const required = typeof config.idempotency === 'object' && config.idempotency.operation.idempotencyKey === 'required' && methods.includes('POST');
    schema.headers = withIdempotencyKey(schema.headers, required);
  }

  const response: Record<string, unknown> = { ...schema.response };
  for (const [status, problem] of Object.entries(problemResponses(...statuses))) if (!(status in response)) response[status] = problem;

  const ok = response['200'];
  if (ok && isListEnvelope(ok)) {
    let json = ok;
    if (query?.properties?.fields) json = sparseItems(ok);
    response['200'] = config.produces?.includes('text/csv')
      ? {
          description: (ok as { description?: string }).description ?? 'A page',
          content: {
            'application/json': { schema: json },
            'text/csv': { schema: CSV_PAGE },
          },
        }
      : json;
  }
  route.schema = { ...schema, response };
}

const CSV_PAGE = {
  type: 'string',
  description: 'The page as CSV (RFC 4180): a header row of the fields (those of `fields` when given), then one row per item; nested values as JSON. Paging travels in the Link header.',
};

type JsonSchema = Record<string, unknown>;

function isListEnvelope(schema: unknown): schema is JsonSchema {
  const s = schema as { properties?: { data?: { type?: string }; pagination?: unknown } };
  return s?.properties?.data?.type === 'array' && s.properties.pagination !== undefined;
}

/** Where a sparse list item keeps the `required` list its full form has. */
export const REQUIRED_WITHOUT_FIELDS = 'x-stoa-required-without-fields';

/** The list envelope with items whose properties are all optional, at every depth. */
function sparseItems(envelope: JsonSchema): JsonSchema {
  const copy = JSON.parse(JSON.stringify(envelope)) as { properties: { data: { items: JsonSchema } } };
  dropRequired(copy.properties.data.items);
  return copy;
}

function dropRequired(schema: unknown): void {
  if (Array.isArray(schema)) {
    for (const s of schema) dropRequired(s);
    return;
  }
  if (!schema || typeof schema !== 'object') return;
  const s = schema as JsonSchema;
  if (Array.isArray(s.required)) {
    // Kept under an extension so generated clients (the SDK) can type the usual answer, the one without `fields`.
    s[REQUIRED_WITHOUT_FIELDS] = s.required;
    delete s.required;
  }
  for (const key of ['properties', 'patternProperties'] as const) {
    const props = s[key];
    if (props && typeof props === 'object') for (const value of Object.values(props)) dropRequired(value);
  }
  for (const key of ['items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf'] as const) dropRequired(s[key]);
}

/** The headers schema with `idempotency-key` declared (1–255 printable ASCII characters). */
function withIdempotencyKey(headers: unknown, required: boolean): JsonSchema {
  const base = (headers ? JSON.parse(JSON.stringify(headers)) : { type: 'object', properties: {} }) as JsonSchema & { properties?: JsonSchema; required?: string[] };
  base.type = 'object';
  base.properties = {
    ...base.properties,
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: required
        ? 'Required: a new key (1–255 printable ASCII characters) per operation; a retry with the same key answers the first result (docs/idempotency.md).'
        : 'Optional: a retry with the same key (1–255 printable ASCII characters) answers the first result instead of acting twice (docs/idempotency.md).',
    },
  };
  const others = (base.required ?? []).filter((name) => name !== 'idempotency-key');
  if (required) base.required = [...others, 'idempotency-key'];
  else if (others.length > 0) base.required = others;
  else delete base.required;
  return base;
}

import { Type, type TSchema } from 'typebox';

/** RFC 9457 problem details, registered once as the shared schema `Problem`. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ format: 'uri', description: 'A URI identifying the problem type; it resolves to its documentation.' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 100, maximum: 599 }),
    detail: Type.String(),
    instance: Type.String({ description: 'The request path this occurrence happened on.' }),
    code: Type.String({ pattern: '^[A-Z][A-Z0-9_]*$', description: 'Stable error code; see docs/errors.md.' }),
    request_id: Type.String(),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          field: Type.String({ description: 'Dotted path of the failing field.' }),
          code: Type.String(),
          message: Type.String(),
        }),
      ),
    ),
  },
  {
    $id: 'Problem',
    additionalProperties: true,
    examples: [
      {
        type: 'http://localhost:3000/problems/validation-failed',
        title: 'Validation failed',
        status: 422,
        detail: 'Invalid fields: email',
        instance: '/v2/users',
        code: 'VALIDATION_FAILED',
        request_id: '6f1c1e0e-8a57-4f2b-9a52-4a4f3d4c2b1a',
        errors: [{ field: 'email', code: 'invalid_format', message: 'must be a valid email' }],
      },
    ],
  },
);

const STATUS_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request (bad JSON, unknown or invalid query parameter)',
  401: 'Missing or invalid credentials',
  403: 'Authenticated but not allowed',
  404: 'Not found',
  406: 'The Accept header asks for a representation Stoa cannot produce',
  409: 'Conflicts with the current state',
  412: 'If-Match did not match the current ETag',
  413: 'Body too large',
  428: 'This deployment requires If-Match on updates',
  429: 'Rate limited; Retry-After says when to try again',
  415: 'Unsupported Content-Type',
  422: 'Validation failed; every failing field is listed in errors',
  500: 'Unexpected error',
  503: 'Overloaded or a dependency is unavailable; Retry-After says when to try again',
  408: 'The request was not received in time; the connection is closed',
  431: 'The request line and headers exceed 16 KiB; the connection is closed',
};

/** Error responses for a route's schema, each an `application/problem+json` Problem. */
export function problemResponses(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const status of [...new Set([...statuses, 500])]) {
    out[status] = {
      description: STATUS_DESCRIPTIONS[status] ?? 'Error',
      content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
    };
  }
  return out;
}

/** `{"data": T}` */
export function Envelope<T extends TSchema>(data: T, description: string) {
  return Type.Object({ data }, { description });
}

export const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-22T10:00:00.000Z'] });

export const SelfLinks = Type.Object({ self: Type.String() }, { additionalProperties: Type.String() });

/** Security requirement lists for OpenAPI. */
type SecurityRequirement = Record<string, readonly string[]>;
export const SECURITY: Record<'required' | 'session' | 'optional' | 'none', SecurityRequirement[]> = {
  required: [{ bearerAuth: [] }, { apiKeyAuth: [] }, { apiKeyHeader: [] }],
  session: [{ bearerAuth: [] }],
  optional: [{}, { bearerAuth: [] }, { apiKeyAuth: [] }, { apiKeyHeader: [] }],
  none: [],
};

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

export const NoQuery = Type.Object({}, { additionalProperties: false });

/** The If-Match header of a conditional update or delete. */
export const IfMatchHeaders = Type.Object({ 'if-match': Type.Optional(Type.String({ description: 'Apply only if the ETag still matches (412 otherwise).' })) });

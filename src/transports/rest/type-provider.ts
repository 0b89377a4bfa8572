import type { FastifyInstance, FastifyTypeProvider } from 'fastify';
import type { Static, TSchema } from 'typebox';

/**
 * Types a route's request (body, querystring, params, headers) from its
 * TypeBox schemas, which Ajv has already enforced, so handlers read
 * `request.body` without casts. Replies stay untyped: presenters build them
 * and the response schemas serialise them (a provider that types replies
 * from those schemas, like @fastify/type-provider-typebox, would demand a
 * payload for every 204 and 304).
 */
export interface TypeBoxRequests extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: unknown;
}

/** `app` with request types derived from the route schemas. */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<TypeBoxRequests>();
}

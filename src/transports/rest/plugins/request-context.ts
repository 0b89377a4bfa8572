import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import type { Logger } from 'pino';
import { AppError } from '../../../domain/shared/errors.ts';
import type { Principal } from '../../../domain/shared/principal.ts';
import type { Authenticator } from '../../../platform/auth/index.ts';
import { headerValue } from '../headers.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `required`: 401 without a credential; `optional`: a credential is checked if given; `none`: never looked at. */
    auth?: 'required' | 'optional' | 'none';
    /** Media types the route can answer with (406 otherwise); JSON when absent. */
    produces?: readonly string[];
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const REQUEST_ID_SHAPE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const DEFAULT_PRODUCES = ['application/json'];

/** Keeps a caller's X-Request-ID when it is short and plain; otherwise makes a new one. */
export function requestIdFor(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  const value = Array.isArray(given) ? given[0] : given;
  return value !== undefined && REQUEST_ID_SHAPE.test(value) ? value : randomUUID();
}

/** The caller; only for routes declared `auth: 'required'`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHENTICATED', 'Authentication required');
  return request.principal;
}

/**
 * Per-request context: request id echo, content negotiation (406), the
 * principal from credentials (401/403 before any body is read), and
 * cache headers for personal responses.
 */
export function registerRequestContext(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const config = request.routeOptions.config;
    // PostgreSQL text cannot hold NUL; refuse it in the path and query string up front.
    if (/%00/.test(request.url)) throw new AppError('BAD_REQUEST', 'The URL contains a NUL character (%00), which no parameter may hold');

    const accept = request.headers.accept;
    if (accept !== undefined && accept !== '') {
      const produces = config.produces ?? DEFAULT_PRODUCES;
      // A vendor media type (application/vnd.stoa.v2+json) asks for JSON in a given version.
      const asJson = accept.replace(/application\/vnd\.stoa\.v[^+;,\s]*\+json/gi, 'application/json');
      if (new Negotiator({ headers: { accept: asJson } }).mediaType(produces as string[]) === undefined) {
        throw new AppError('NOT_ACCEPTABLE', `This resource is available as ${produces.join(', ')}`);
      }
    }

    if (config.auth === 'none') return;
    const principal = await authenticator.authenticate({ authorization: headerValue(request, 'authorization'), apiKey: headerValue(request, 'x-api-key') });
    if (principal) {
      request.principal = principal;
      // Fastify made this request its own child logger: binding here costs no second child (and its completion line carries the caller too).
      (request.log as Logger).setBindings({ principal: principal.userId, ...(principal.apiKeyId ? { api_key: principal.apiKeyId } : {}) });
    } else if (config.auth === 'required') {
      throw new AppError('UNAUTHENTICATED', 'Authentication required: send "Authorization: Bearer <access token or API key>" or "X-API-Key"');
    }
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.principal && !reply.hasHeader('cache-control')) reply.header('cache-control', 'private, no-cache');
    if (request.method === 'GET' || request.method === 'HEAD') {
      // The same Vary on 200 and 304, whatever the body size (compression only adds it to large bodies).
      const config = request.routeOptions.config;
      const publicCache = String(reply.getHeader('cache-control') ?? '').startsWith('public');
      // Lower case: @fastify/compress looks for exactly 'accept-encoding' before adding its own.
      const tokens = ['accept-encoding'];
      if ((config.produces?.length ?? 1) > 1) tokens.unshift('Accept');
      if (config.auth !== undefined && config.auth !== 'none' && !publicCache) tokens.push('Authorization', 'X-API-Key');
      appendVary(reply, tokens);
    }
    done(null, payload);
  });
}

/** Adds tokens to the Vary header once each, case-insensitively. */
export function appendVary(reply: FastifyReply, tokens: readonly string[]): void {
  const current = String(reply.getHeader('vary') ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const lower = new Set(current.map((t) => t.toLowerCase()));
  for (const token of tokens) if (!lower.has(token.toLowerCase())) current.push(token);
  reply.header('vary', current.join(', '));
}

import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

export const API_TAGS = [
  { name: 'auth', description: 'Sign-in, token refresh and logout, the caller, the JWKS.' },
  { name: 'users', description: 'Sign-up, profiles and account management.' },
  { name: 'api-keys', description: 'API keys for servers: scoped, revocable, shown once.' },
  { name: 'posts', description: 'Posts, comments and the feed.' },
  { name: 'social', description: 'Follows: followers and following.' },
  { name: 'catalogue', description: 'The public product catalogue.' },
  { name: 'orders', description: 'Orders and order items.' },
  { name: 'events', description: 'The event log: every state change clients may hear about.' },
  { name: 'operations', description: 'Health, readiness and metrics.' },
];

/** OpenAPI 3.1 generated from the route schemas, served at /openapi.json, with an interactive reference at /docs. */
export async function registerOpenApi(app: FastifyInstance, options: { publicUrl: string; version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stoa API',
        version: options.version,
        description: 'A small social marketplace over REST. Errors are RFC 9457 problem documents; see /problems/{code}.',
        license: { name: 'MIT', identifier: 'MIT' },
        contact: { name: 'Stoa maintainers', url: options.publicUrl },
      },
      servers: [{ url: options.publicUrl, description: 'This deployment' }],
      tags: API_TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /v1/auth/login, or an API key.' },
          apiKeyAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'sk_…', description: 'An API key as a bearer token.' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key in the X-API-Key header.' },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true }, staticCSP: true });

  app.get('/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());
}

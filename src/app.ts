import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import { pino, type Logger } from 'pino';
import type { Container } from './container.ts';
import { registerErrorHandling } from './transports/rest/plugins/errors.ts';
import { registerJsonBodyParser } from './transports/rest/plugins/json-body.ts';
import { registerHttpMetrics } from './transports/rest/plugins/metrics.ts';
import { registerOpenApi } from './transports/rest/plugins/openapi.ts';
import { registerRequestContext, requestIdFor } from './transports/rest/plugins/request-context.ts';
import { buildValidatorFactory } from './transports/rest/plugins/validation.ts';
import { registerApiKeyRoutes } from './transports/rest/routes/api-keys.routes.ts';
import { registerAuthRoutes } from './transports/rest/routes/auth.routes.ts';
import { registerOpsRoutes } from './transports/rest/routes/ops.routes.ts';
import { registerUserRoutes } from './transports/rest/routes/users.routes.ts';
import { registerFollowRoutes } from './transports/rest/routes/follows.routes.ts';
import { registerPostRoutes } from './transports/rest/routes/posts.routes.ts';
import { registerProductRoutes } from './transports/rest/routes/products.routes.ts';
import { registerOrderRoutes } from './transports/rest/routes/orders.routes.ts';
import { registerEventRoutes } from './transports/rest/routes/events.routes.ts';
import { RestLists } from './transports/rest/lists.ts';
import { ProblemSchema } from './transports/rest/schemas/common.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Headers browsers may read on cross-origin responses. */
const EXPOSED_HEADERS = ['x-request-id', 'location', 'etag', 'last-modified', 'retry-after', 'link', 'www-authenticate'];

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', 'password', 'refresh_token', 'secret'],
      censor: '[redacted]',
    },
  });
}

export interface BuildAppOptions {
  logger?: Logger;
}

/** Builds the HTTP application over a container. Never listens: server.ts does, tests inject. */
export async function buildApp(container: Container, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = container;
  const app = Fastify({
    loggerInstance: (options.logger ?? createLogger(config.logLevel)) as FastifyBaseLogger,
    genReqId: requestIdFor,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    bodyLimit: config.bodyLimit,
    // Fastify calls the factory's compiler with { schema, httpPart }; its published type says otherwise.
    schemaController: { compilersFactory: { buildValidator: buildValidatorFactory() as never } },
    forceCloseConnections: 'idle',
  });

  registerErrorHandling(app, { publicUrl: config.publicUrl, bodyLimit: config.bodyLimit });
  registerJsonBodyParser(app);
  app.addSchema(ProblemSchema);

  await app.register(helmet, {
    global: true,
    // Plain-HTTP local starts must still load /docs; HSTS only where TLS is expected.
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    hsts: config.nodeEnv === 'production',
  });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : [...config.corsOrigins],
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  }
  await app.register(compress, { global: true, threshold: 1024, encodings: ['br', 'gzip'], brotliOptions: { params: { 1: 4 } } });

  registerHttpMetrics(app, container.metrics);
  registerRequestContext(app, container.authenticator);
  await registerOpenApi(app, { publicUrl: config.publicUrl, version: VERSION });

  registerOpsRoutes(app, { database: container.database, redis: container.redis, metrics: container.metrics });
  registerAuthRoutes(app, container.sessions, container.accessTokens);
  app.decorate('requireIfMatch', config.requireIfMatch);
  const lists = new RestLists(container.cursors);
  registerUserRoutes(app, container.users, lists);
  registerFollowRoutes(app, { follows: container.follows, lists });
  registerApiKeyRoutes(app, container.apiKeys, lists);
  registerPostRoutes(app, { posts: container.posts, users: container.users, lists });
  registerProductRoutes(app, { products: container.products, lists });
  registerOrderRoutes(app, { orders: container.orders, products: container.products, users: container.users, lists });
  registerEventRoutes(app, { events: container.events, lists });

  app.get('/', { config: { auth: 'none' }, schema: { hide: true } }, async () => ({
    data: { name: 'Stoa', version: VERSION, links: { docs: '/docs', openapi: '/openapi.json', health: '/healthz', metrics: '/metrics' } },
  }));

  await app.ready();
  return app;
}

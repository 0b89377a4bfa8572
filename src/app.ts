import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import { pino, type Logger } from 'pino';
import type { Container } from './container.ts';
import { registerGraphql } from './transports/graphql/http.ts';
import type { GraphqlSubscriptions } from './transports/graphql/subscriptions.ts';
import { registerErrorHandling } from './transports/rest/plugins/errors.ts';
import { registerJsonBodyParser } from './transports/rest/plugins/json-body.ts';
import { registerHttpMetrics } from './transports/rest/plugins/metrics.ts';
import { registerSecurityHeaders } from './transports/rest/plugins/security-headers.ts';
import { registerOpenApi } from './transports/rest/plugins/openapi.ts';
import { registerRequestContext, requestIdFor } from './transports/rest/plugins/request-context.ts';
import { registerIdempotency } from './transports/rest/plugins/idempotency.ts';
import { registerRateLimiting } from './transports/rest/plugins/rate-limit.ts';
import { buildValidatorFactory } from './transports/rest/plugins/validation.ts';
import { buildSerializerFactory } from './transports/rest/plugins/serialization.ts';
import { registerApiKeyRoutes } from './transports/rest/routes/api-keys.routes.ts';
import { registerAuthRoutes, registerJwksRoute } from './transports/rest/routes/auth.routes.ts';
import { registerV1Transformer, registerVersioning } from './transports/rest/plugins/versioning.ts';
import { registerOpsRoutes } from './transports/rest/routes/ops.routes.ts';
import { registerEmailVerificationRoutes, registerUserRoutes } from './transports/rest/routes/users.routes.ts';
import { registerFollowRoutes } from './transports/rest/routes/follows.routes.ts';
import { registerPostRoutes } from './transports/rest/routes/posts.routes.ts';
import { registerProductRoutes } from './transports/rest/routes/products.routes.ts';
import { registerOrderRoutes } from './transports/rest/routes/orders.routes.ts';
import { registerEventRoutes } from './transports/rest/routes/events.routes.ts';
import { registerChargeRoutes } from './transports/rest/routes/charges.routes.ts';
import { queueLag } from './workers/metrics.ts';
import { registerWebhookRoutes } from './transports/rest/resources/webhooks.routes.ts';
import { registerJobRoutes } from './transports/rest/resources/jobs.routes.ts';
import { RestLists } from './transports/rest/lists.ts';
import { registerRealtimeRoutes } from './transports/rest/routes/realtime.routes.ts';
import { EVENT_STREAM, EventStreams, wantsEventStream } from './transports/sse/events.sse.ts';
import { WebSocketGateway } from './transports/ws/channels.ws.ts';
import { problemResponses, ProblemSchema } from './transports/rest/schemas/common.ts';
import { createRpc, type Rpc } from './transports/grpc/rpc.ts';
import { registerRpcRoutes } from './transports/grpc/listener.ts';
import { registerAvatarRoutes } from './transports/rest/routes/avatars.routes.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gRPC services (src/transports/grpc), served under /rpc and, by server.ts, on GRPC_PORT. */
    rpc: Rpc;
  }
}
import { registerUsageRecording } from './transports/rest/plugins/usage.ts';
import { registerUsageRoutes } from './transports/rest/routes/usage.routes.ts';
import { registerCookieAuthRoutes } from './transports/rest/routes/auth-cookie.routes.ts';
import { registerDashboard } from './transports/dashboard/dashboard.routes.ts';
import { documentAnswers } from './transports/rest/schemas/route-contract.ts';
import { clientErrorHandler, frameworkErrorHandler, MAX_PARAM_LENGTH } from './transports/rest/plugins/framework-errors.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Headers browsers may read on cross-origin responses. */
const EXPOSED_HEADERS = ['stoa-version', 'deprecation', 'sunset', 'x-request-id', 'location', 'etag', 'last-modified', 'retry-after', 'link', 'www-authenticate', 'idempotent-replayed', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit-policy', 'ratelimit'];

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', 'password', 'refresh_token', 'secret'],
      censor: '[redacted]',
    },
    // Fastify's request fields, with real-time tickets (?ticket=) kept out of the logs.
    serializers: {
      req: (req: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: req.method,
        url: req.url.replace(/([?&]ticket=)[^&#]*/gi, '$1[redacted]'),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
  });
}

export interface BuildAppOptions {
  logger?: Logger;
  /** `ops`: only /healthz, /readyz and /metrics (a `worker` process). Default `all`. */
  routes?: 'all' | 'ops';
}

/** Builds the HTTP application over a container. Never listens: server.ts does, tests inject. */
/** The path of an upgrade request, without its query. */
function pathOf(url: string | undefined): string {
  const path = url ?? '/';
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}

export async function buildApp(container: Container, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = container;
  const app = Fastify({
    loggerInstance: (options.logger ?? createLogger(config.logLevel)) as FastifyBaseLogger,
    genReqId: requestIdFor,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    bodyLimit: config.bodyLimit,
    // Fastify calls the factory's compiler with { schema, httpPart }; its published type says otherwise.
    schemaController: { compilersFactory: { buildValidator: buildValidatorFactory() as never, buildSerializer: buildSerializerFactory() as never } },
    forceCloseConnections: 'idle',
    // The router's and the HTTP parser's own refusals are registry problems too.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkErrorHandler(config.publicUrl),
    clientErrorHandler: clientErrorHandler(config.publicUrl),
  });

  registerErrorHandling(app, { publicUrl: config.publicUrl, bodyLimit: config.bodyLimit });
  registerJsonBodyParser(app);
  app.addSchema(ProblemSchema);

  registerSecurityHeaders(app, {
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
  // Before the request context: shedding answers before authentication; limiting hooks attach to routes registered below.
  registerRateLimiting(app, { ...container.rateLimiting, metrics: container.metrics, now: () => container.clock.now().getTime() });
  registerVersioning(app, {
    publicUrl: config.publicUrl,
    v1DeprecatedAt: config.v1DeprecatedAt,
    v1SunsetAt: config.v1SunsetAt,
    metrics: container.metrics,
    now: () => container.clock.now(),
  });
  registerRequestContext(app, container.authenticator);
  registerUsageRecording(app, container.usageRecorder, () => container.clock.now().getTime());
  // Wraps the POST/PATCH handlers registered below (hence before them); routes declare their operation (`config.idempotency`).
  registerIdempotency(app, {
    ...container.idempotency,
    publicUrl: config.publicUrl,
    bodyLimit: config.bodyLimit,
  });
  if (options.routes !== 'ops') await registerOpenApi(app, { publicUrl: config.publicUrl, version: VERSION });

  registerOpsRoutes(app, { readiness: container.readiness, metrics: container.metrics, queueLag: () => queueLag(container.queue, container.clock) });
  if (options.routes === 'ops') {
    await app.ready();
    return app;
  }
  registerJwksRoute(app, container.accessTokens);
  app.decorate('requireIfMatch', config.requireIfMatch);
  const lists = new RestLists(container.pagination);
  // Real time: SSE on GET /events (content negotiation), WebSocket on /v1/ws; both end cleanly before the server closes.
  const eventStreams = new EventStreams(container.realtime);
  const stream = { mediaType: EVENT_STREAM, wants: wantsEventStream, serve: eventStreams.serve.bind(eventStreams) };
  const sockets = new WebSocketGateway({ realtime: container.realtime, authenticator: container.authenticator, posts: container.posts, clock: container.clock, publicUrl: config.publicUrl, log: app.log });
  // One upgrade listener, routed by path: /graphql to GraphQL's WebSocket (registered below), everything else to /v1/ws's adapter.
  const upgrades: { graphql?: GraphqlSubscriptions } = {};
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    (upgrades.graphql && pathOf(request.url) === '/graphql' ? upgrades.graphql.handleUpgrade : sockets.handleUpgrade)(request, socket, head),
  );
  app.addHook('preClose', async () => {
    eventStreams.endAll();
    sockets.closeAll();
    upgrades.graphql?.closeAll();
  });
  // One set of routes, registered under each version; v1 is a transformer at the edge of its scope.
  const api = async (scope: FastifyInstance) => {
    // Every API route is rate limited and may be shed under load: say so in OpenAPI.
    scope.addHook('onRoute', (route) => {
      if (route.schema?.response) route.schema = { ...route.schema, response: { ...problemResponses(429, 503), ...(route.schema.response as object) } };
      documentAnswers(route);
    });
    registerAuthRoutes(scope, container.sessions);
    registerUserRoutes(scope, container.users, lists);
    registerEmailVerificationRoutes(scope, container.emailVerification);
    registerFollowRoutes(scope, { follows: container.follows, lists });
    registerApiKeyRoutes(scope, container.apiKeys, lists);
    registerPostRoutes(scope, { posts: container.posts, users: container.users, lists });
    registerProductRoutes(scope, { products: container.products, lists });
    registerOrderRoutes(scope, { orders: container.orders, products: container.products, users: container.users, lists });
    registerEventRoutes(scope, { events: container.events, lists, stream });
    registerRealtimeRoutes(scope, { tickets: container.realtime.tickets });
    registerChargeRoutes(scope, { charges: container.charges, lists });
    registerWebhookRoutes(scope, { webhooks: container.webhooks, lists });
    registerJobRoutes(scope, { jobs: container.jobs });
    registerAvatarRoutes(scope, container.avatars);
    registerUsageRoutes(scope, { usage: container.usage });
    registerCookieAuthRoutes(scope, { sessions: container.sessions, publicUrl: config.publicUrl, refreshTtlSeconds: config.refreshTokenTtlSeconds });
  };
  await app.register(
    async (scope) => {
      registerV1Transformer(scope);
      await api(scope);
    },
    { prefix: '/v1' },
  );
  await app.register(api, { prefix: '/v2' });
  // GraphQL over the same services (docs/graphql.md): /graphql, /graphql/schema.graphql outside production, /graphiql.
  upgrades.graphql = registerGraphql(app, container);
  // The developer dashboard (docs/dashboard.md): a page and its bundle, over the public API.
  await registerDashboard(app);
  // gRPC's services for browsers (docs/grpc.md): Connect and gRPC-Web under /rpc; server.ts opens GRPC_PORT with the same ones.
  app.decorate('rpc', createRpc(container, app.log as Logger));
  registerRpcRoutes(app, app.rpc);

  app.get('/', { config: { auth: 'none' }, schema: { hide: true } }, async () => ({
    data: { name: 'Stoa', version: VERSION, links: { docs: '/docs', openapi: '/openapi.json', health: '/healthz', metrics: '/metrics' } },
  }));

  await app.ready();
  return app;
}

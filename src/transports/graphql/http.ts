import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, printSchema, type execute } from 'graphql';
import { createHandler, parseRequestParams, type OperationArgs, type Request, type RequestParams, type Response } from 'graphql-http';
import type { Container } from '../../container.ts';
import { AppError } from '../../domain/shared/errors.ts';
import type { GraphqlContext } from './context.ts';
import { GraphqlEngine } from './engine.ts';
import { coercionFailure, formatError } from './errors.ts';
import { registerGraphiqlAssets } from './graphiql.ts';
import { createLoaders } from './loaders.ts';
import { GraphqlSubscriptions } from './subscriptions.ts';

export { rateLimitPoints } from './engine.ts';

/** What one request carries into graphql-http's hooks. */
interface RequestState {
  request: FastifyRequest;
  reply: FastifyReply;
  cost?: number;
}

/**
 * `POST /graphql` and `GET /graphql` (GraphQL over HTTP, through
 * graphql-http's core handler inside a Fastify route), `/graphql/schema.graphql`
 * outside production, and `/graphiql`. The pipeline before execution:
 * persisted queries → parse (cached) → validation with the depth and alias
 * limits (and no introspection where it is off) → variables → cost against
 * the budget → rate limit by cost. A refused document never executes.
 * Returns the WebSocket side (subscriptions over graphql-transport-ws on the
 * same path), whose `handleUpgrade` the server's upgrade routing calls.
 */
export function registerGraphql(app: FastifyInstance, container: Container): GraphqlSubscriptions {
  const { config } = container;
  const limits = config.graphql;
  const engine = new GraphqlEngine(container);
  const schema = engine.schema;
  const { clientIp } = container.rateLimiting;

  /** Persisted queries (engine.persistedText): the stored document stands in for a missing query; graphql-http checks the rest as usual. */
  async function paramsOf(req: Request<FastifyRequest, RequestState>): Promise<RequestParams | Response | void> {
    let extensions: unknown;
    let query: unknown;
    if (req.method === 'GET') {
      const search = new URLSearchParams(req.url.split('?')[1] ?? '');
      query = search.get('query') ?? undefined;
      try {
        extensions = search.has('extensions') ? JSON.parse(search.get('extensions')!) : undefined;
      } catch {
        return; // graphql-http answers unparsable parameters
      }
    } else {
      try {
        const body = typeof req.body === 'string' ? (JSON.parse(req.body) as unknown) : req.body;
        if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
        extensions = (body as { extensions?: unknown }).extensions;
        query = (body as { query?: unknown }).query;
      } catch {
        return;
      }
    }
    const text = await engine.persistedText(query, extensions);
    if (text === undefined) return;
    if (req.method === 'GET') {
      const [path, search = ''] = req.url.split('?');
      const params = new URLSearchParams(search);
      params.set('query', text);
      return parseRequestParams({ ...req, url: `${path}?${params.toString()}` });
    }
    const body = (typeof req.body === 'string' ? JSON.parse(req.body) : req.body) as Record<string, unknown>;
    return parseRequestParams({ ...req, body: { ...body, query: text } });
  }

  function chargeOf(state: RequestState) {
    const { request, reply } = state;
    return { principal: request.principal, ip: clientIp.resolve(request.socket.remoteAddress, request.headers['x-forwarded-for']), headers: reply };
  }

  async function limitByCost(state: RequestState, cost: number, mutation: boolean): Promise<void> {
    const decision = await engine.limitByCost(chargeOf(state), cost, mutation);
    if (decision) state.request.rateLimit = decision;
  }

  const handler = createHandler<FastifyRequest, RequestState, GraphqlContext & Record<PropertyKey, unknown>>({
    schema,
    execute: engine.execute as typeof execute,
    parseRequestParams: paramsOf,
    formatError: (error) => formatError(error as GraphQLError) as unknown as GraphQLError,
    async onSubscribe(req, params): Promise<OperationArgs<GraphqlContext & Record<PropertyKey, unknown>> | readonly GraphQLError[]> {
      const prepared = await prepare(req, params);
      // A document refused before it runs still counts, as one point: refusals are not a free way to probe.
      if (Array.isArray(prepared)) await limitByCost(req.context, 0, false);
      return prepared;
    },
    onOperation(req, _args, result) {
      // Unexpected failures answer INTERNAL_ERROR without details (errors.ts); their stack goes to the log with the request id.
      for (const error of result.errors ?? []) {
        const original = error.originalError;
        if (original && !(original instanceof AppError) && !(original instanceof GraphQLError)) req.context.request.log.error({ err: original, path: error.path }, 'GraphQL resolver failed');
      }
      const cost = req.context.cost;
      if (cost === undefined || !('data' in result)) return;
      return { ...result, extensions: { ...result.extensions, cost, max_cost: limits.maxCost } };
    },
  });

  async function prepare(req: Request<FastifyRequest, RequestState>, params: RequestParams): Promise<OperationArgs<GraphqlContext & Record<PropertyKey, unknown>> | readonly GraphQLError[]> {
    const state = req.context;
    const document = engine.documentOf(params.query);
    if (Array.isArray(document)) return document;
    const args: OperationArgs<GraphqlContext & Record<PropertyKey, unknown>> = {
      schema,
      document: document as OperationArgs['document'],
      operationName: params.operationName ?? undefined,
      variableValues: params.variables ?? undefined,
      contextValue: contextFor(state.request) as GraphqlContext & Record<PropertyKey, unknown>,
    };
    const operation = engine.operationOf(args.document, params.operationName);
    // graphql-http answers what is left: no such operation, a mutation by GET (405), a subscription.
    if (!operation || operation.operation !== 'query' && req.method === 'GET') return args;
    const cost = engine.costOf(args.document, operation, params.variables, coercionFailure);
    if (cost instanceof GraphQLError) {
      if (cost.extensions.code === 'QUERY_TOO_COMPLEX') state.cost = cost.extensions.cost as number;
      return [cost];
    }
    state.cost = cost;
    await limitByCost(state, cost, operation.operation === 'mutation');
    return args;
  }

  function contextFor(request: FastifyRequest): GraphqlContext {
    const raw = request.headers['idempotency-key'];
    return {
      principal: request.principal,
      deps: container,
      loaders: createLoaders(container, request.principal),
      idempotencyKeyHeader: Array.isArray(raw) ? raw.join(', ') : raw,
    };
  }

  app.register(async (scope) => {
    // graphql-http reads the body itself (JSON, and answers 415 for what it does not take).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    scope.route({
      method: ['GET', 'POST'],
      url: '/graphql',
      config: { auth: 'optional', produces: ['application/graphql-response+json', 'application/json'], rateLimit: false, idempotency: false },
      schema: { hide: true },
      handler: async (request, reply) => {
        const [body, init] = await handler({
          method: request.method,
          url: request.url,
          headers: request.headers,
          body: typeof request.body === 'string' ? request.body : null,
          raw: request,
          context: { request, reply },
        });
        reply.code(init.status);
        for (const [name, value] of Object.entries(init.headers ?? {})) reply.header(name, value);
        return reply.send(body ?? undefined);
      },
    });
  });

  if (config.nodeEnv !== 'production') {
    const sdl = printSchema(schema) + '\n';
    app.get('/graphql/schema.graphql', { config: { auth: 'none', produces: ['text/plain'] }, schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/plain; charset=utf-8').send(sdl),
    );
  }

  const graphiqlPage = registerGraphiqlAssets(app);
  app.get('/graphiql', { config: { auth: 'none', produces: ['text/html'] }, schema: { hide: true } }, async (request, reply) => {
    // Subscriptions connect to ws(s)://<this host>/graphql: named in connect-src, as not every browser counts it as 'self'.
    const host = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(request.headers.host ?? '') ? request.headers.host! : null;
    const sockets = host ? ` ws://${host} wss://${host}` : '';
    return (
      reply
        .type('text/html; charset=utf-8')
        // Everything from this server (the bundle under /graphiql/assets/), nothing inline but styles: GraphiQL's
        // dialogs and tooltips (Radix, react-remove-scroll) write <style> elements and style attributes at run time.
        .header('content-security-policy', `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'${sockets}; img-src 'self' data:; font-src 'self' data:; worker-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`)
        .send(graphiqlPage)
    );
  });
  return new GraphqlSubscriptions(engine, container, app.log);
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  execute,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  parse,
  printSchema,
  specifiedRules,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { createHandler, parseRequestParams, type OperationArgs, type Request, type RequestParams, type Response } from 'graphql-http';
import type { Container } from '../../container.ts';
import { AppError } from '../../domain/shared/errors.ts';
import { seconds, writeRateLimitHeaders } from '../../platform/rate-limit/rate-limit.headers.ts';
import type { GraphqlContext } from './context.ts';
import { coercionFailure, formatError, withoutSuggestions } from './errors.ts';
import { GRAPHIQL_HTML } from './graphiql.ts';
import { aliasLimitRule, depthLimitRule, operationCost } from './limits.ts';
import { createLoaders } from './loaders.ts';
import { documentHash, loadAllowlist, memoryStore, persistedRequestOf, redisStore, type PersistedStore } from './persisted.ts';
import { buildStoaSchema } from './schema/index.ts';

/** What one request carries into graphql-http's hooks. */
interface RequestState {
  request: FastifyRequest;
  reply: FastifyReply;
  cost?: number;
}

/** Rate-limit points a request of this cost consumes (docs/graphql.md): one per started ten of cost, at least one. */
export function rateLimitPoints(cost: number): number {
  return Math.max(1, Math.ceil(cost / 10));
}

const PARSED_MAX = 500;

function refusal(code: string, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/**
 * `POST /graphql` and `GET /graphql` (GraphQL over HTTP, through
 * graphql-http's core handler inside a Fastify route), `/graphql/schema.graphql`
 * outside production, and `/graphiql`. The pipeline before execution:
 * persisted queries → parse (cached) → validation with the depth and alias
 * limits (and no introspection where it is off) → variables → cost against
 * the budget → rate limit by cost. A refused document never executes.
 */
export function registerGraphql(app: FastifyInstance, container: Container): GraphQLSchema {
  const { config } = container;
  const limits = config.graphql;
  const schema = buildStoaSchema();
  const rules = [
    ...specifiedRules,
    depthLimitRule(limits.maxDepth),
    aliasLimitRule(limits.maxAliases),
    ...(limits.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  const store: PersistedStore = container.redis ? redisStore(container.redis) : memoryStore();
  const allowlist = limits.allowlist ? loadAllowlist(limits.allowlist) : undefined;
  const parsed = new Map<string, DocumentNode>();
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  const { limiter, policies, clientIp } = container.rateLimiting;
  const now = () => container.clock.now().getTime();

  const parseCached = (query: string): DocumentNode => {
    let document = parsed.get(query);
    if (document === undefined) {
      document = parse(query, { maxTokens: 10_000 });
      if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
      parsed.set(query, document);
    }
    return document;
  };

  /** Persisted queries: a hash alone is looked up; a hash with its query is checked and registered; strict mode runs only the allow-list. */
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
    const persisted = persistedRequestOf(extensions);
    if (persisted instanceof GraphQLError) throw persisted;
    if (persisted === null) {
      if (limits.persistedOnly && typeof query === 'string' && !allowlist!.has(documentHash(query))) {
        throw refusal('PERSISTED_QUERY_REQUIRED', 'Only persisted queries run here: send extensions.persistedQuery with the sha256Hash of an allow-listed document');
      }
      return;
    }
    if (typeof query === 'string') {
      if (documentHash(query) !== persisted.hash) throw refusal('PERSISTED_QUERY_HASH_MISMATCH', 'extensions.persistedQuery.sha256Hash is not the sha256 of the query');
      if (limits.persistedOnly && !allowlist!.has(persisted.hash)) throw refusal('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound: the document is not on the allow-list');
      if (!limits.persistedOnly) await store.set(persisted.hash, query);
      return;
    }
    const text = limits.persistedOnly ? allowlist!.get(persisted.hash) : await store.get(persisted.hash);
    if (text === undefined) throw refusal('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');
    // The stored document stands in for the missing query; graphql-http checks the rest as usual.
    if (req.method === 'GET') {
      const [path, search = ''] = req.url.split('?');
      const params = new URLSearchParams(search);
      params.set('query', text);
      return parseRequestParams({ ...req, url: `${path}?${params.toString()}` });
    }
    const body = (typeof req.body === 'string' ? JSON.parse(req.body) : req.body) as Record<string, unknown>;
    return parseRequestParams({ ...req, body: { ...body, query: text } });
  }

  async function limitByCost(state: RequestState, cost: number, mutation: boolean): Promise<void> {
    if (!limiter) return;
    const { request, reply } = state;
    const principal = request.principal;
    const ip = clientIp.resolve(request.socket.remoteAddress, request.headers['x-forwarded-for']);
    const checks = policies.checksFor(
      { subject: principal ? (principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`) : `ip:${ip}`, ip, plan: principal?.plan ?? 'free' },
      { write: mutation },
    );
    if (checks.length === 0) return;
    const decision = await limiter.decide(checks, rateLimitPoints(cost));
    request.rateLimit = decision;
    writeRateLimitHeaders(reply, decision, now());
    if (decision.allowed) return;
    const retry = Math.max(1, seconds(decision.retryAfterMs));
    const first = decision.violated[0]!;
    throw new AppError('RATE_LIMITED', `Rate limit "${first.name}" (${first.limit} requests per ${first.windowMs / 1000} s) is exhausted by this query's cost (${rateLimitPoints(cost)} points); retry in ${retry} s`, {
      retryAfterSeconds: retry,
      extensions: { retry_after: retry, 'violated-policies': decision.violated.map((p) => p.name) },
    });
  }

  /** Each document's operations compiled once (graphql-jit): the same results as graphql-js, without re-walking the AST per request. */
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  async function executeCompiled(args: OperationArgs<GraphqlContext & Record<PropertyKey, unknown>>) {
    let byName = compiled.get(args.document);
    if (byName === undefined) compiled.set(args.document, (byName = new Map()));
    const name = args.operationName ?? '';
    let query = byName.get(name);
    if (query === undefined) {
      const made = compileQuery(schema, args.document, args.operationName ?? undefined);
      query = isCompiledQuery(made) ? made : null;
      byName.set(name, query);
    }
    if (query === null) return execute(args);
    return query.query(args.rootValue, args.contextValue, args.variableValues ?? {});
  }

  const handler = createHandler<FastifyRequest, RequestState, GraphqlContext & Record<PropertyKey, unknown>>({
    schema,
    execute: executeCompiled as typeof execute,
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
    let document: DocumentNode;
    try {
      document = parseCached(params.query);
    } catch (error) {
      if (error instanceof GraphQLError) return [new GraphQLError(error.message, { source: error.source, positions: error.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
      throw error;
    }
    // The rules depend on the document alone (schema and limits are fixed): validate each parsed document once.
    let invalid = validated.get(document);
    if (invalid === undefined) validated.set(document, (invalid = validate(schema, document, rules)));
    if (invalid.length > 0) {
      return invalid.map((error) => {
        const shown = limits.introspection ? error : withoutSuggestions(error);
        const code = typeof shown.extensions.code === 'string' ? shown.extensions.code : 'GRAPHQL_VALIDATION_FAILED';
        return new GraphQLError(shown.message, { nodes: shown.nodes, source: shown.source, positions: shown.positions, extensions: { ...shown.extensions, code } });
      });
    }
    const args: OperationArgs<GraphqlContext & Record<PropertyKey, unknown>> = {
      schema,
      document,
      operationName: params.operationName ?? undefined,
      variableValues: params.variables ?? undefined,
      contextValue: contextFor(state.request) as GraphqlContext & Record<PropertyKey, unknown>,
    };
    const operation = getOperationAST(document, params.operationName);
    // graphql-http answers what is left: no such operation, a mutation by GET (405), a subscription.
    if (!operation || operation.operation !== 'query' && req.method === 'GET') return args;
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], params.variables ?? {}, { maxErrors: 50 });
    if (coerced.errors) return [coercionFailure(coerced.errors)];
    const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
    const cost = operationCost(schema, operation, fragments, coerced.coerced);
    state.cost = cost;
    if (cost > limits.maxCost) {
      return [refusal('QUERY_TOO_COMPLEX', `The query costs ${cost}; the budget is ${limits.maxCost}. Ask for smaller pages (first/last) or fewer nested lists`, { cost, max_cost: limits.maxCost })];
    }
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

  app.get('/graphiql', { config: { auth: 'none', produces: ['text/html'] }, schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      // GraphiQL loads from a CDN and runs inline module code: this page alone gets a policy that allows both.
      .header('content-security-policy', "default-src 'self'; script-src 'self' 'unsafe-inline' https://esm.sh; style-src 'self' 'unsafe-inline' https://esm.sh; connect-src 'self' https://esm.sh; img-src 'self' data: https:; font-src 'self' data: https://esm.sh")
      .send(GRAPHIQL_HTML),
  );
  return schema;
}

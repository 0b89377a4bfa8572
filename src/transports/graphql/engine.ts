import {
  execute,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Container } from '../../container.ts';
import { AppError } from '../../domain/shared/errors.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import { seconds, writeRateLimitHeaders, type HeaderSink } from '../../platform/rate-limit/rate-limit.headers.ts';
import type { RateLimitDecision } from '../../platform/rate-limit/rate-limit.limiter.ts';
import { withoutSuggestions } from './errors.ts';
import { aliasLimitRule, depthLimitRule, operationCost } from './limits.ts';
import { documentHash, loadAllowlist, memoryStore, persistedRequestOf, redisStore, type PersistedStore } from './persisted.ts';
import { buildStoaSchema } from './schema/index.ts';

/** Rate-limit points a request of this cost consumes (docs/graphql.md): one per started ten of cost, at least one. */
export function rateLimitPoints(cost: number): number {
  return Math.max(1, Math.ceil(cost / 10));
}

const PARSED_MAX = 500;

export function refusal(code: string, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** Who is charged for a request, and where its rate-limit headers go (none over WebSocket). */
export interface Charge {
  principal: Principal | null;
  ip: string;
  headers?: HeaderSink;
}

/**
 * What every GraphQL entry point (HTTP and the WebSocket of subscriptions)
 * shares: the schema, persisted queries, the parse and validation caches with
 * the depth and alias limits, the cost against the budget, the rate limit by
 * cost, and graphql-jit's compiled queries. Built once per process.
 */
export class GraphqlEngine {
  readonly schema: GraphQLSchema;
  readonly #container: Container;
  readonly #rules: ValidationRule[];
  readonly #store: PersistedStore;
  readonly #allowlist: ReadonlyMap<string, string> | undefined;
  readonly #parsed = new Map<string, DocumentNode>();
  readonly #validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  readonly #compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  readonly #costs = new WeakMap<OperationDefinitionNode, number>();

  constructor(container: Container) {
    const limits = container.config.graphql;
    this.#container = container;
    this.schema = buildStoaSchema();
    this.#rules = [...specifiedRules, depthLimitRule(limits.maxDepth), aliasLimitRule(limits.maxAliases), ...(limits.introspection ? [] : [NoSchemaIntrospectionCustomRule])];
    this.#store = container.redis ? redisStore(container.redis) : memoryStore();
    this.#allowlist = limits.allowlist ? loadAllowlist(limits.allowlist) : undefined;
  }

  get limits() {
    return this.#container.config.graphql;
  }

  /**
   * The document text a request runs, from its `query` and `extensions`
   * (persisted queries): undefined when the request carries its own query and
   * nothing changes; a hash alone is looked up; a hash with its query is
   * checked and registered; strict mode runs only the allow-list. Refusals throw.
   */
  async persistedText(query: unknown, extensions: unknown): Promise<string | undefined> {
    const limits = this.limits;
    const allowlist = this.#allowlist;
    const persisted = persistedRequestOf(extensions);
    if (persisted instanceof GraphQLError) throw persisted;
    if (persisted === null) {
      if (limits.persistedOnly && typeof query === 'string' && !allowlist!.has(documentHash(query))) {
        throw refusal('PERSISTED_QUERY_REQUIRED', 'Only persisted queries run here: send extensions.persistedQuery with the sha256Hash of an allow-listed document');
      }
      return undefined;
    }
    if (typeof query === 'string') {
      if (documentHash(query) !== persisted.hash) throw refusal('PERSISTED_QUERY_HASH_MISMATCH', 'extensions.persistedQuery.sha256Hash is not the sha256 of the query');
      if (limits.persistedOnly && !allowlist!.has(persisted.hash)) throw refusal('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound: the document is not on the allow-list');
      if (!limits.persistedOnly) await this.#store.set(persisted.hash, query);
      return undefined;
    }
    const text = limits.persistedOnly ? allowlist!.get(persisted.hash) : await this.#store.get(persisted.hash);
    if (text === undefined) throw refusal('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');
    return text;
  }

  /** Parses (cached by text) and validates (cached by document) with the limits; errors carry registry codes. */
  documentOf(query: string): DocumentNode | readonly GraphQLError[] {
    let document = this.#parsed.get(query);
    if (document === undefined) {
      try {
        document = parse(query, { maxTokens: 10_000 });
      } catch (error) {
        if (error instanceof GraphQLError) return [new GraphQLError(error.message, { source: error.source, positions: error.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        throw error;
      }
      if (this.#parsed.size >= PARSED_MAX) this.#parsed.delete(this.#parsed.keys().next().value!);
      this.#parsed.set(query, document);
    }
    // The rules depend on the document alone (schema and limits are fixed): validate each parsed document once.
    let invalid = this.#validated.get(document);
    if (invalid === undefined) this.#validated.set(document, (invalid = validate(this.schema, document, this.#rules)));
    if (invalid.length === 0) return document;
    const introspection = this.limits.introspection;
    return invalid.map((error) => {
      const shown = introspection ? error : withoutSuggestions(error);
      const code = typeof shown.extensions.code === 'string' ? shown.extensions.code : 'GRAPHQL_VALIDATION_FAILED';
      return new GraphQLError(shown.message, { nodes: shown.nodes, source: shown.source, positions: shown.positions, extensions: { ...shown.extensions, code } });
    });
  }

  /** The operation's cost with its variables (connections multiply), refused over the budget; variable errors as VALIDATION_FAILED. */
  costOf(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | null | undefined, coercion: (errors: readonly GraphQLError[]) => GraphQLError): number | GraphQLError {
    const definitions = operation.variableDefinitions ?? [];
    let cost = definitions.length === 0 ? this.#costs.get(operation) : undefined;
    if (cost === undefined) {
      const coerced = getVariableValues(this.schema, definitions, variables ?? {}, { maxErrors: 50 });
      if (coerced.errors) return coercion(coerced.errors);
      const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
      cost = operationCost(this.schema, operation, fragments, coerced.coerced);
      // Without variables the cost depends on the (cached) document alone: walk it once.
      if (definitions.length === 0) this.#costs.set(operation, cost);
    }
    const max = this.limits.maxCost;
    if (cost > max) return refusal('QUERY_TOO_COMPLEX', `The query costs ${cost}; the budget is ${max}. Ask for smaller pages (first/last) or fewer nested lists`, { cost, max_cost: max });
    return cost;
  }

  /** Consumes rate-limit points in proportion to the cost; throws RATE_LIMITED when a policy is exhausted. */
  async limitByCost(charge: Charge, cost: number, mutation: boolean): Promise<RateLimitDecision | undefined> {
    const { limiter, policies } = this.#container.rateLimiting;
    if (!limiter) return undefined;
    const { principal, ip } = charge;
    const checks = policies.checksFor(
      { subject: principal ? (principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`) : `ip:${ip}`, ip, plan: principal?.plan ?? 'free' },
      { write: mutation },
    );
    if (checks.length === 0) return undefined;
    const decision = await limiter.decide(checks, rateLimitPoints(cost));
    if (charge.headers) writeRateLimitHeaders(charge.headers, decision, this.#container.clock.now().getTime());
    if (decision.allowed) return decision;
    const retry = Math.max(1, seconds(decision.retryAfterMs));
    const first = decision.violated[0]!;
    throw new AppError('RATE_LIMITED', `Rate limit "${first.name}" (${first.limit} requests per ${first.windowMs / 1000} s) is exhausted by this query's cost (${rateLimitPoints(cost)} points); retry in ${retry} s`, {
      retryAfterSeconds: retry,
      extensions: { retry_after: retry, 'violated-policies': decision.violated.map((p) => p.name) },
    });
  }

  /** Each document's operations compiled once (graphql-jit): the same results as graphql-js, without re-walking the AST per request. */
  execute = (args: ExecutionArgs): ReturnType<typeof execute> => {
    let byName = this.#compiled.get(args.document);
    if (byName === undefined) this.#compiled.set(args.document, (byName = new Map()));
    const name = args.operationName ?? '';
    let query = byName.get(name);
    if (query === undefined) {
      const made = compileQuery(this.schema, args.document, args.operationName ?? undefined);
      query = isCompiledQuery(made) ? made : null;
      byName.set(name, query);
    }
    if (query === null) return execute(args);
    return query.query(args.rootValue, args.contextValue, args.variableValues ?? {}) as ReturnType<typeof execute>;
  };

  /** The operation a document names (or its only one). */
  operationOf(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | null {
    return getOperationAST(document, operationName) ?? null;
  }
}

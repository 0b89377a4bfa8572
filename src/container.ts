import { readFileSync } from 'node:fs';
import type { LogEvent } from 'kysely';
import type { Redis } from 'ioredis';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from './config.ts';
import { ApiKeysService } from './domain/api-keys/index.ts';
import { systemClock, type Clock } from './domain/shared/clock.ts';
import { EmailVerificationService, UsersService } from './domain/users/index.ts';
import { EventsService } from './domain/events/index.ts';
import { PostsService } from './domain/posts/index.ts';
import { FollowsService } from './domain/follows/index.ts';
import { ProductsService } from './domain/products/index.ts';
import { OrdersService } from './domain/orders/index.ts';
import { ChargesService } from './domain/charges/index.ts';
import { createChargeRepository, createProcessorEventStore } from './infra/db/repositories/charges.repository.ts';
import { createIdempotencyStore } from './infra/db/repositories/idempotency-keys.repository.ts';
import { createProcessorGateway, createProcessorWebhookVerifier, type ProcessorGateway } from './infra/payment-processor/index.ts';
import type { IdempotencyContext, IdempotencyStore } from './platform/idempotency/index.ts';
import type { Transactor } from './domain/shared/transactor.ts';
import { createProductRepository } from './infra/db/repositories/products.repository.ts';
import { createOrderRepository } from './infra/db/repositories/orders.repository.ts';
import { createFollowRepository } from './infra/db/repositories/follows.repository.ts';
import { createEventLog } from './infra/db/repositories/events.repository.ts';
import { createCredentialStatus, createTicketStore } from './infra/db/realtime.repository.ts';
import { createPgNotifyBus } from './infra/db/event-feed.pg-notify.ts';
import { createRedisBus } from './infra/redis/event-feed.redis-pubsub.ts';
import { createInProcessBus, createRealtime, signallingEventLog, type Realtime, type RealtimeBus } from './platform/realtime/index.ts';
import { createCommentRepository, createPostRepository } from './infra/db/repositories/posts.repository.ts';
import { ambientDatabase, createTransactions } from './infra/db/transactions.ts';
import { CursorCodec, Paginator } from './platform/pagination/index.ts';
import { openDatabase, type DatabaseHandle } from './infra/db/database.ts';
import { migrate } from './infra/db/migrate.ts';
import { createApiKeyRepository } from './infra/db/repositories/api-keys.repository.ts';
import { createRefreshTokenRepository } from './infra/db/repositories/refresh-tokens.repository.ts';
import { createEmailVerificationRepository, createUserRepository } from './infra/db/repositories/users.repository.ts';
import { createWorkQueue } from './infra/db/repositories/work-queue.repository.ts';
import type { WorkQueue } from './platform/jobs/index.ts';
import { registerQueueGauges } from './workers/metrics.ts';
import { createTargetChecker, createWebhookDispatcher, createWebhookSender, systemResolver } from './workers/webhooks.ts';
import { WebhooksService, type WebhookSender } from './domain/webhooks/index.ts';
import { JobsService, type JobRepository } from './domain/jobs/index.ts';
import { createJobRepository } from './infra/db/repositories/jobs.repository.ts';
import { createJobScheduler } from './workers/jobs.ts';
import { createWebhookDeliveryRepository, createWebhookEndpointRepository } from './infra/db/repositories/webhooks.repository.ts';
import { createAddressPolicy, createSecretBox, createTargetGuard, mintWebhookSecret, signatureHeader, type Resolver } from './platform/webhooks/index.ts';

import { UsageService } from './domain/usage/index.ts';
import { createUsageRepository } from './infra/db/repositories/usage.repository.ts';
import { UsageRecorder } from './platform/usage/index.ts';
import { openSigningKeys } from './infra/keys/signing-key-store.ts';
import { createReadiness, type Readiness } from './platform/health/index.ts';
import { createRedisClient } from './infra/redis/redis-client.ts';
import { createRedisInvalidationBus } from './infra/redis/invalidation-bus.ts';
import { createCredentialCache, createLocalInvalidationBus, type InvalidationBus } from './platform/auth/credential-cache.ts';
import { createRateLimiting, type RateLimiting } from './infra/redis/rate-limiting.ts';
import {
  ACCESS_TOKEN_CLOCK_SKEW_SECONDS,
  apiKeyMinter,
  createAccessTokens,
  createAuthenticator,
  createScryptHasher,
  SessionsService,
  type AccessTokens,
  type Authenticator,
} from './platform/auth/index.ts';

/** The user-agent of outbound webhook and callback requests. */
export const webhookUserAgent = `Stoa-Webhooks/${(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version}`;

/** Everything the transports need, wired once. */
export interface Container {
  config: Config;
  clock: Clock;
  database: DatabaseHandle;
  redis: Redis | undefined;
  metrics: Registry;
  /** The dependency probes behind every health endpoint (REST /readyz, gRPC health). */
  readiness: Readiness;
  users: UsersService;
  emailVerification: EmailVerificationService;
  apiKeys: ApiKeysService;
  sessions: SessionsService;
  accessTokens: AccessTokens;
  authenticator: Authenticator;
  posts: PostsService;
  follows: FollowsService;
  products: ProductsService;
  orders: OrdersService;
  events: EventsService;
  /** Cursor pagination for every transport (one codec, so REST, GraphQL and gRPC cursors agree). */
  pagination: Paginator;
  rateLimiting: RateLimiting;
  charges: ChargesService;
  /** Hands charges to the payment processor; server.ts connects it once Stoa listens. */
  processorGateway: ProcessorGateway;
  idempotencyStore: IdempotencyStore;
  /** What every transport's keyed calls run under (`runIdempotent`): the store, the clock, the key lifecycle. */
  idempotency: IdempotencyContext;
  transactor: Transactor;
  /** The live event feed, its fan-out hub, chat, tickets and limits for SSE and WebSocket. */
  realtime: Realtime;
  /** The durable work queue shared by every worker process (src/workers/). */
  queue: WorkQueue;
  /** Called when this process queued work due now; a worker in this process registers to look at once. */
  workListeners: Set<() => void>;
  webhooks: WebhooksService;
  jobs: JobsService;
  /** Reads jobs without a principal (the workers). */
  jobRepository: JobRepository;
  /** Sends signed outbound requests (webhooks, job callbacks) through the SSRF guard. */
  webhookSender: WebhookSender;
  /** How webhook targets are resolved (replaceable: tests answer names with chosen addresses; there is no DNS in CI). */
  webhookResolver: { current: Resolver };
  /** Counts answered requests in memory and writes them in batches (GET /v1/usage). */
  usageRecorder: UsageRecorder;
  usage: UsageService;
  close(): Promise<void>;
}

export interface ContainerOptions {
  clock?: Clock;
  /** Resolves webhook and callback hosts (default: the system resolver). */
  resolver?: Resolver;
  /** PostgreSQL schema to work in (test isolation on a shared server). */
  schema?: string;
  onQuery?: (event: LogEvent) => void;
}

/**
 * How long a signing key keeps verifying once another replaces it: until every
 * token it signed has expired, counting clock skew and the processes that sign
 * with it until their next reload.
 */
export function signingKeyGraceSeconds(config: Config): number {
  return config.accessTokenTtlSeconds + ACCESS_TOKEN_CLOCK_SKEW_SECONDS + config.jwtKeysReloadSeconds;
}

/**
 * Who tells the other processes that a credential changed. The embedded database has one process, so nobody;
 * PostgreSQL with Redis uses Redis pub/sub with acknowledgements; PostgreSQL alone has no bus that can confirm
 * delivery, so credentials are not cached there (undefined).
 */
function createCredentialBus(config: Config, kind: DatabaseHandle['kind'], schema: string | undefined): InvalidationBus | undefined {
  if (kind === 'pglite') return createLocalInvalidationBus();
  if (!config.redisUrl) return undefined;
  return createRedisInvalidationBus({ url: config.redisUrl, channel: `stoa:credentials:${schema ?? 'public'}` });
}

/** The composition root: infra → domain → platform. Opens the database and applies migrations. */
export async function createContainer(config: Config, options: ContainerOptions = {}): Promise<Container> {
  const clock = options.clock ?? systemClock;
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    schema: options.schema,
    onQuery: options.onQuery,
  });
  try {
    await migrate(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  const redis = config.redisUrl ? createRedisClient(config.redisUrl) : undefined;
  const rateLimiting = createRateLimiting(config, options.clock ? { now: () => clock.now().getTime() } : {});

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });

  const { connection, transactor, runWithPrelude } = createTransactions(database.db);
  // Authentication reads credentials from memory; a write that changes one reaches every process before it returns.
  const credentialBus = createCredentialBus(config, database.kind, options.schema);
  const credentials = createCredentialCache({
    users: createUserRepository(connection),
    // Ambient: a request wrapped in an idempotency transaction must see (and on PGlite, not wait for) its own transaction.
    apiKeys: createApiKeyRepository(ambientDatabase(connection)),
    bus: credentialBus ?? createLocalInvalidationBus(),
    clock,
    ...(credentialBus ? {} : { ttlMs: 0 }),
  });
  const userRepository = credentials.users;
  const apiKeyRepository = credentials.apiKeys;
  const refreshTokenRepository = createRefreshTokenRepository(ambientDatabase(connection));
  const passwords = createScryptHasher(config.passwordHashCost);
  const signingKeys = await openSigningKeys({
    configured: config.jwtKeys,
    dataDir: config.dataDir,
    db: database.db,
    clock,
    reloadIntervalMs: config.jwtKeysReloadSeconds * 1000,
    previousKeyGraceSeconds: signingKeyGraceSeconds(config),
    encryptionKey: config.jwtKeysEncryptionKey,
  });
  // Cursors are MACed with a key derived from a signing key, which every process of a deployment shares.
  const pagination = new Paginator(new CursorCodec(signingKeys.cursorSecret));
  // Every append wakes the real-time feed once its transaction commits.
  const rawEventLog = createEventLog(connection);
  const eventLog = signallingEventLog(rawEventLog, transactor, () => realtime.feed);
  const realtime = createRealtime({
    config: config.realtime,
    log: rawEventLog,
    bus: realtimeBus(config, database, redis, options.schema),
    clock,
    tickets: createTicketStore(connection),
    credentials: createCredentialStatus(connection),
  });
  const productRepository = createProductRepository(connection);
  const orderRepository = createOrderRepository(connection);
  const processorGateway = createProcessorGateway();
  const idempotencyStore = createIdempotencyStore({ connection, transactor, ...(database.kind === 'postgres' ? { runWithPrelude } : {}) });
  // Expired idempotency records are swept by the workers (src/workers/), once per period across processes.
  const queue = createWorkQueue(database.db, connection);
  registerQueueGauges(metrics, queue, clock);
  const workListeners = new Set<() => void>();
  const webhookResolver = { current: options.resolver ?? systemResolver };
  const targetGuard = createTargetGuard(createAddressPolicy(config.webhooks.allowedCidrs), () => webhookResolver.current);
  const eventsService = new EventsService(eventLog);
  const secretBox = createSecretBox(config.jwtKeysEncryptionKey);
  const webhookSender = createWebhookSender(targetGuard, () => config.webhooks.timeoutMs);
  const wakeWorkers = () => workListeners.forEach((wake) => wake());
  const jobRepository = createJobRepository(connection, secretBox);
  const accessTokens = await createAccessTokens({
    keys: signingKeys.source,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
    clock,
  });

  // Never inside a caller's transaction: a batch holds many callers' counts.
  const usageRepository = createUsageRepository(() => database.db);
  const usageRecorder = new UsageRecorder({ store: usageRepository, flushIntervalMs: config.usageFlushMs });
  usageRecorder.start();

  const users = new UsersService({
    users: userRepository,
    events: eventLog,
    transactor,
    passwords,
    clock,
    credentials: {
      async revokeAllForUser(userId, now) {
        await apiKeyRepository.revokeAllForUser(userId, now);
        await refreshTokenRepository.revokeAllForUser(userId, now);
      },
    },
  });

  return {
    config,
    clock,
    database,
    redis,
    metrics,
    readiness: createReadiness({ database: () => database.ping(), ...(redis ? { redis: () => redis.ping() } : {}) }),
    queue,
    users,
    apiKeys: new ApiKeysService({ keys: apiKeyRepository, minter: apiKeyMinter, clock }),
    sessions: new SessionsService({
      users: userRepository,
      passwords,
      refreshTokens: refreshTokenRepository,
      accessTokens,
      clock,
      refreshTtlSeconds: config.refreshTokenTtlSeconds,
    }),
    accessTokens,
    authenticator: createAuthenticator({ ...credentials.lookups, accessTokens, clock }),
    emailVerification: new EmailVerificationService({ users: userRepository, verifications: createEmailVerificationRepository(connection), events: eventLog, transactor, clock }),
    posts: new PostsService({ posts: createPostRepository(connection), comments: createCommentRepository(connection), users: userRepository, events: eventLog, transactor, clock }),
    follows: new FollowsService({ follows: createFollowRepository(connection), users: userRepository, events: eventLog, transactor, clock }),
    products: new ProductsService({ products: productRepository, events: eventLog, transactor, clock }),
    orders: new OrdersService({ orders: orderRepository, products: productRepository, users: userRepository, events: eventLog, transactor, clock }),
    events: eventsService,
    workListeners,
    webhookResolver,
    webhookSender,
    jobRepository,
    jobs: new JobsService({
      jobs: jobRepository,
      scheduler: createJobScheduler(queue, transactor, wakeWorkers),
      targets: createTargetChecker(targetGuard),
      mintSecret: mintWebhookSecret,
      transactor,
      clock,
      stepSize: config.reportStepOrders,
    }),
    webhooks: new WebhooksService({
      endpoints: createWebhookEndpointRepository(connection, secretBox),
      deliveries: createWebhookDeliveryRepository(connection),
      targets: createTargetChecker(targetGuard),
      secrets: { mint: mintWebhookSecret },
      dispatcher: createWebhookDispatcher(queue, transactor, wakeWorkers),
      sender: webhookSender,
      sign: signatureHeader,
      events: eventLog,
      users: userRepository,
      transactor,
      clock,
      policy: {
        retryScheduleMs: config.webhooks.retryScheduleMs,
        jitter: 0.2,
        disableAfterMs: config.webhooks.disableAfterMs,
        userAgent: webhookUserAgent,
      },
    }),
    pagination,
    rateLimiting,
    charges: new ChargesService({
      charges: createChargeRepository(connection),
      processorEvents: createProcessorEventStore(connection),
      orders: orderRepository,
      gateway: processorGateway,
      webhookVerifier: createProcessorWebhookVerifier(config.processor.webhookSecret, clock),
      events: eventLog,
      transactor,
      clock,
    }),
    processorGateway,
    idempotencyStore,
    idempotency: {
      store: idempotencyStore,
      clock,
      timings: { ttlMs: config.idempotency.ttlSeconds * 1000, statementTimeoutMs: config.idempotency.lockTimeoutSeconds * 1000 },
    },
    transactor,
    realtime,
    usageRecorder,
    usage: new UsageService({ usage: usageRepository, pending: usageRecorder, clock }),
    async close() {
      // The counts not yet written go to the database before it closes.
      await usageRecorder.close();
      await realtime.close();
      signingKeys.close();
      await credentialBus?.close();
      redis?.disconnect();
      await rateLimiting.close();
      await database.close();
    },
  };
}

/**
 * Real-time wake-ups and chat between processes: in-process on the embedded
 * PGlite (one process by nature), Redis pub/sub when REDIS_URL is set, else
 * PostgreSQL LISTEN/NOTIFY; named after the schema, so deployments (and
 * parallel tests) sharing a server never hear each other.
 */
function realtimeBus(config: Config, database: DatabaseHandle, redis: Redis | undefined, schema: string | undefined): RealtimeBus {
  if (database.kind === 'pglite') return createInProcessBus();
  const namespace = realtimeNamespace(config.databaseUrl!, schema);
  if (redis && config.redisUrl) return createRedisBus(config.redisUrl, redis, `stoa:rt:${namespace}`);
  return createPgNotifyBus(config.databaseUrl!, `stoa_rt_${namespace}`);
}

/** The deployment's name on a shared server: its schema (test isolation, `options=-c search_path=…`) or its database. */
function realtimeNamespace(databaseUrl: string, schema: string | undefined): string {
  let name = schema;
  if (!name) {
    try {
      const url = new URL(databaseUrl);
      name = /search_path=([A-Za-z0-9_]+)/.exec(url.searchParams.get('options') ?? '')?.[1] ?? (url.pathname.slice(1) || 'postgres');
    } catch {
      name = 'public';
    }
  }
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
}

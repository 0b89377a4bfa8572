import type { LogEvent } from 'kysely';
import type { Redis } from 'ioredis';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from './config.ts';
import { ApiKeysService } from './domain/api-keys/index.ts';
import { systemClock, type Clock } from './domain/shared/clock.ts';
import { UsersService } from './domain/users/index.ts';
import { EventsService } from './domain/events/index.ts';
import { PostsService } from './domain/posts/index.ts';
import { FollowsService } from './domain/follows/index.ts';
import { ProductsService } from './domain/products/index.ts';
import { OrdersService } from './domain/orders/index.ts';
import { createProductRepository } from './infra/db/repositories/products.repository.ts';
import { createOrderRepository } from './infra/db/repositories/orders.repository.ts';
import { createFollowRepository } from './infra/db/repositories/follows.repository.ts';
import { createEventLog } from './infra/db/repositories/events.repository.ts';
import { createCommentRepository, createPostRepository } from './infra/db/repositories/posts.repository.ts';
import { createTransactions } from './infra/db/transactions.ts';
import { CursorCodec } from './platform/pagination/index.ts';
import { openDatabase, type DatabaseHandle } from './infra/db/database.ts';
import { migrate } from './infra/db/migrate.ts';
import { createApiKeyRepository } from './infra/db/repositories/api-keys.repository.ts';
import { createRefreshTokenRepository } from './infra/db/repositories/refresh-tokens.repository.ts';
import { createUserRepository } from './infra/db/repositories/users.repository.ts';
import { loadSigningKeys } from './infra/keys/signing-key-store.ts';
import { createRedisClient } from './infra/redis/redis-client.ts';
import {
  apiKeyMinter,
  createAccessTokens,
  createAuthenticator,
  createScryptHasher,
  SessionsService,
  type AccessTokens,
  type Authenticator,
} from './platform/auth/index.ts';

/** Everything the transports need, wired once. */
export interface Container {
  config: Config;
  clock: Clock;
  database: DatabaseHandle;
  redis: Redis | undefined;
  metrics: Registry;
  users: UsersService;
  apiKeys: ApiKeysService;
  sessions: SessionsService;
  accessTokens: AccessTokens;
  authenticator: Authenticator;
  posts: PostsService;
  follows: FollowsService;
  products: ProductsService;
  orders: OrdersService;
  events: EventsService;
  cursors: CursorCodec;
  close(): Promise<void>;
}

export interface ContainerOptions {
  clock?: Clock;
  /** PostgreSQL schema to work in (test isolation on a shared server). */
  schema?: string;
  onQuery?: (event: LogEvent) => void;
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

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });

  const { connection, transactor } = createTransactions(database.db);
  const userRepository = createUserRepository(connection);
  const apiKeyRepository = createApiKeyRepository(database.db);
  const refreshTokenRepository = createRefreshTokenRepository(database.db);
  const passwords = createScryptHasher(config.passwordHashCost);
  const signingKeys = await loadSigningKeys({ configured: config.jwtKeys, dataDir: config.dataDir });
  // Cursors are MACed with a key derived from the signing key, which every process of a deployment shares.
  const cursors = new CursorCodec(String(signingKeys[0]?.d ?? ''));
  const eventLog = createEventLog(connection);
  const productRepository = createProductRepository(connection);
  const accessTokens = await createAccessTokens({
    keys: signingKeys,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
    clock,
  });

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
    authenticator: createAuthenticator({ users: userRepository, apiKeys: apiKeyRepository, accessTokens, clock }),
    posts: new PostsService({ posts: createPostRepository(connection), comments: createCommentRepository(connection), events: eventLog, transactor, clock }),
    follows: new FollowsService({ follows: createFollowRepository(connection), users: userRepository, events: eventLog, transactor, clock }),
    products: new ProductsService({ products: productRepository, events: eventLog, transactor, clock }),
    orders: new OrdersService({ orders: createOrderRepository(connection), products: productRepository, users: userRepository, events: eventLog, transactor, clock }),
    events: new EventsService(eventLog),
    cursors,
    async close() {
      redis?.disconnect();
      await database.close();
    },
  };
}

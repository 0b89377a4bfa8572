import type { LogEvent } from 'kysely';
import type { Redis } from 'ioredis';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from './config.ts';
import { ApiKeysService } from './domain/api-keys/index.ts';
import { systemClock, type Clock } from './domain/shared/clock.ts';
import { UsersService } from './domain/users/index.ts';
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

  const userRepository = createUserRepository(database.db);
  const apiKeyRepository = createApiKeyRepository(database.db);
  const refreshTokenRepository = createRefreshTokenRepository(database.db);
  const passwords = createScryptHasher(config.passwordHashCost);
  const accessTokens = await createAccessTokens({
    keys: await loadSigningKeys({ configured: config.jwtKeys, dataDir: config.dataDir }),
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
    clock,
  });

  const users = new UsersService({
    users: userRepository,
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
    async close() {
      redis?.disconnect();
      await database.close();
    },
  };
}

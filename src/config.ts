import path from 'node:path';
import { parseCidrList } from './platform/webhooks/address-policy.ts';
import { trustedProxyList } from './platform/rate-limit/client-ip.ts';
import { parsePolicySpec, type PolicySlot, type PolicySpec } from './platform/rate-limit/rate-limit.policy.ts';
import { ALGORITHMS, type AlgorithmName, type FailMode } from './platform/rate-limit/rate-limit.store.ts';
import type { RealtimeConfig } from './platform/realtime/index.ts';

/** The typed, frozen configuration, read once at boot from the environment. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly grpcPort: number;
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  /** PGlite directory, or `memory` for a throw-away database. */
  readonly dataDir: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly corsOrigins: readonly string[];
  readonly publicUrl: string;
  readonly bodyLimit: number;
  /** JSON array of private Ed25519 JWKs; the first signs, all verify. Generated when absent. */
  readonly jwtKeys: string | undefined;
  /** Without STOA_JWT_KEYS: how often each process reloads the shared signing keys from the database. */
  readonly jwtKeysReloadSeconds: number;
  /** Without STOA_JWT_KEYS: 32 bytes that encrypt the private keys in the database (AES-256-GCM); undefined stores them in the clear. */
  readonly jwtKeysEncryptionKey: Buffer | undefined;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** log2 of the scrypt cost parameter N. */
  readonly passwordHashCost: number;
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;
  /** Seed demo data on the first embedded start. */
  readonly seedDemo: boolean;
  /** PUT/PATCH/DELETE without If-Match are 428. */
  readonly requireIfMatch: boolean;
  /** When v1 was deprecated (Deprecation header). */
  readonly v1DeprecatedAt: Date;
  /** When v1 stops answering (Sunset header; 410 afterwards). */
  readonly v1SunsetAt: Date;
  /** Rate limiting (docs/rate-limiting.md); null when STOA_RATE_LIMIT=off. */
  readonly rateLimit: RateLimitConfig | null;
  /** Load shedding; null when STOA_LOAD_SHEDDING=off. */
  readonly loadShedding: LoadSheddingConfig | null;
  /** GraphQL (docs/graphql.md). */
  readonly graphql: GraphqlConfig;
  /** Idempotency keys (PRODUCT.md §6). */
  readonly idempotency: IdempotencyConfig;
  /** The payment processor. */
  readonly processor: ProcessorConfig;
  /** SSE and WebSocket (PRODUCT.md §10). */
  readonly realtime: RealtimeConfig;
  /** What this process runs (STOA_ROLE or `serve --role`): the API, the background workers, or both. */
  readonly role: Role;
  /** Background workers (src/workers/). */
  readonly worker: WorkerConfig;
  /** Outbound webhooks (docs/webhooks.md). */
  readonly webhooks: WebhooksConfig;
  /** Orders a report job reads per step; each step commits (STOA_REPORT_STEP_ORDERS). */
  readonly reportStepOrders: number;
  /** How often each process writes its request counts for GET /v1/usage (STOA_USAGE_FLUSH_MS). */
  readonly usageFlushMs: number;
  /** The gRPC listener on GRPC_PORT (docs/grpc.md). */
  readonly grpc: GrpcConfig;
}

export interface GrpcConfig {
  /** PEM files (STOA_GRPC_TLS_CERT, STOA_GRPC_TLS_KEY): TLS when both are set, plaintext HTTP/2 otherwise. */
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /** The longest a call may run (STOA_GRPC_MAX_DEADLINE_MS); a shorter client deadline bounds its database statements. */
  readonly maxDeadlineMs: number;
}

export interface WebhooksConfig {
  /** An attempt succeeds only with a 2xx within this (STOA_WEBHOOK_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** Delays before each retry after the first attempt (STOA_WEBHOOK_RETRY_SCHEDULE), each jittered by ±20 %. */
  readonly retryScheduleMs: readonly number[];
  /** Attempts in flight per endpoint at most, across workers (STOA_WEBHOOK_ENDPOINT_CONCURRENCY). */
  readonly endpointConcurrency: number;
  /** An endpoint whose attempts have all failed this long is disabled (STOA_WEBHOOK_DISABLE_AFTER). */
  readonly disableAfterMs: number;
  /** Non-public ranges webhooks may reach anyway (STOA_WEBHOOK_ALLOWED_CIDRS). */
  readonly allowedCidrs: readonly string[];
}

export const ROLES = ['api', 'worker', 'all'] as const;
export type Role = (typeof ROLES)[number];

export interface WorkerConfig {
  /** Work items one worker process runs at once (STOA_WORKER_CONCURRENCY). */
  readonly concurrency: number;
  /** How long a claim holds without renewal; a dead worker's items are taken over after it (STOA_WORKER_LEASE_MS). */
  readonly leaseMs: number;
  /** How often an idle worker looks for due work (STOA_WORKER_POLL_MS). */
  readonly pollMs: number;
  /**
   * Tests only (STOA_TEST_HOLD_JOB_AFTER_STEP, refused with NODE_ENV=production): the worker stops a job
   * once it has committed this many of its steps, holding the claim and saying so in the log, so that a
   * test can kill it between two steps.
   */
  readonly holdJobAfterStep: number | null;
}

export interface IdempotencyConfig {
  /** How long a record is kept (STOA_IDEMPOTENCY_TTL). */
  readonly ttlSeconds: number;
  /**
   * On PostgreSQL, the longest one statement of a keyed request may run or wait
   * (SET LOCAL statement_timeout), so a stuck request gives its key up (STOA_IDEMPOTENCY_LOCK_TIMEOUT).
   */
  readonly lockTimeoutSeconds: number;
}

export interface ProcessorConfig {
  /** An external processor; undefined runs one in-process. */
  readonly url: string | undefined;
  readonly latencyMs: number;
  /** How long `tok_slow` takes. */
  readonly slowMs: number;
  /** `whsec_…`: signs and verifies the processor's webhooks. */
  readonly webhookSecret: string;
}

export interface GraphqlConfig {
  /** STOA_GRAPHQL_MAX_DEPTH: the deepest a query may nest (the root field is 1). */
  readonly maxDepth: number;
  /** STOA_GRAPHQL_MAX_ALIASES. */
  readonly maxAliases: number;
  /** STOA_GRAPHQL_MAX_COST: the per-request cost budget. */
  readonly maxCost: number;
  /** STOA_GRAPHQL_INTROSPECTION: on unless NODE_ENV=production. Field suggestions go with it. */
  readonly introspection: boolean;
  /** STOA_GRAPHQL_PERSISTED_ONLY: only documents of the allow-list run. */
  readonly persistedOnly: boolean;
  /** STOA_GRAPHQL_ALLOWLIST: a JSON file mapping sha256 hex → document. */
  readonly allowlist: string | undefined;
}

/** A development-only default, documented in README.md; set STOA_PROCESSOR_WEBHOOK_SECRET in production. */
export const DEV_PROCESSOR_WEBHOOK_SECRET = 'whsec_c3RvYS1kZXYtcHJvY2Vzc29yLXdlYmhvb2stc2VjcmV0';

export interface RateLimitConfig {
  readonly store: 'memory' | 'redis';
  /** Key prefix in Redis. */
  readonly prefix: string;
  readonly algorithm: AlgorithmName;
  readonly failMode: FailMode;
  readonly timeoutMs: number;
  readonly policies: Readonly<Record<PolicySlot, PolicySpec | null>>;
  readonly twoTierSyncMs: number;
  readonly trustedProxies: readonly string[];
  readonly ipv6Prefix: number;
}

export interface LoadSheddingConfig {
  readonly eventLoopDelayMs: number;
  readonly heapRatio: number;
  readonly retryAfterSeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function fail(name: string, message: string, value: string): never {
  throw new ConfigError(`${name} ${message} (got ${JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value)})`);
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) fail(name, `must be an integer between ${min} and ${max}`, raw);
  const value = Number(raw.trim());
  if (value < min || value > max) fail(name, `must be an integer between ${min} and ${max}`, raw);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) fail(name, `must be one of ${allowed.join(', ')}`, raw);
  return raw as T;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(raw.toLowerCase())) return false;
  return fail(name, 'must be true or false', raw);
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return fail(name, `must be a URL (${protocols.join(' or ')})`, redactUrl(raw));
  }
  if (!protocols.includes(parsed.protocol)) fail(name, `must use ${protocols.join(' or ')}`, redactUrl(raw));
  return raw;
}

function instant(env: Env, name: string, fallback: string): Date {
  const raw = env[name] === undefined || env[name] === '' ? fallback : env[name]!;
  const value = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(raw) ? new Date(raw) : new Date(NaN);
  if (Number.isNaN(value.getTime())) fail(name, 'must be an ISO 8601 date such as 2027-06-30 or 2027-06-30T00:00:00Z', raw);
  return value;
}

/** 32 random bytes, written in base64 or base64url (`openssl rand -base64 32`). */
function encryptionKey(env: Env, name: string): Buffer | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const trimmed = raw.trim();
  const key = /^[A-Za-z0-9+/_-]{43}={0,1}$/.test(trimmed) ? Buffer.from(trimmed.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url') : undefined;
  if (key?.length !== 32) fail(name, 'must be 32 random bytes in base64, such as the output of openssl rand -base64 32', '[redacted]');
  return key;
}

/** Hides the password of a connection URL so it never reaches a log or an error. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return raw.replace(/\/\/[^@/]*@/, '//***@');
  }
}

function policy(env: Env, name: string, fallback: string): PolicySpec | null {
  const raw = env[name];
  try {
    return parsePolicySpec(raw === undefined || raw === '' ? fallback : raw);
  } catch (error) {
    return fail(name, (error as Error).message, raw ?? '');
  }
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === 'on' || raw === 'off') return raw === 'on';
  try {
    return boolean(env, name, fallback);
  } catch {
    return fail(name, 'must be on or off', raw ?? '');
  }
}

function ratio(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.trim());
  if (!/^\d*\.?\d+$/.test(raw.trim()) || value < 0 || value > 1) fail(name, 'must be a number between 0 and 1 (0 disables the check)', raw);
  return value;
}

function rateLimitConfig(env: Env, redisUrl: string | undefined): RateLimitConfig | null {
  if (!onOff(env, 'STOA_RATE_LIMIT', true)) return null;
  const store = oneOf(env, 'STOA_RATE_LIMIT_STORE', redisUrl ? 'redis' : 'memory', ['memory', 'redis'] as const);
  if (store === 'redis' && !redisUrl) fail('STOA_RATE_LIMIT_STORE', 'is redis but REDIS_URL is not set', 'redis');
  const trustedProxies = (env.STOA_TRUSTED_PROXIES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    trustedProxyList(trustedProxies);
  } catch (error) {
    fail('STOA_TRUSTED_PROXIES', `must be a comma-separated list of IP addresses or CIDR ranges: ${(error as Error).message}`, env.STOA_TRUSTED_PROXIES ?? '');
  }
  const prefix = env.STOA_RATE_LIMIT_PREFIX || 'stoa:rl:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(prefix)) fail('STOA_RATE_LIMIT_PREFIX', 'must be 1 to 64 characters from A-Z a-z 0-9 : _ . -', prefix);
  return Object.freeze({
    store,
    prefix,
    algorithm: oneOf(env, 'STOA_RATE_LIMIT_ALGORITHM', 'fixed-window', ALGORITHMS),
    failMode: oneOf(env, 'STOA_RATE_LIMIT_FAIL_MODE', 'open', ['open', 'closed'] as const),
    timeoutMs: integer(env, 'STOA_RATE_LIMIT_TIMEOUT_MS', 100, 5, 5_000),
    policies: Object.freeze({
      free: policy(env, 'STOA_RATE_LIMIT_FREE', '100/1m'),
      pro: policy(env, 'STOA_RATE_LIMIT_PRO', '1000/1m'),
      enterprise: policy(env, 'STOA_RATE_LIMIT_ENTERPRISE', '10000/1m'),
      burst: policy(env, 'STOA_RATE_LIMIT_BURST', 'off'),
      'login-ip': policy(env, 'STOA_RATE_LIMIT_LOGIN_IP', '20/1m'),
      'login-account': policy(env, 'STOA_RATE_LIMIT_LOGIN_ACCOUNT', '10/15m'),
      search: policy(env, 'STOA_RATE_LIMIT_SEARCH', '30/1m'),
      writes: policy(env, 'STOA_RATE_LIMIT_WRITES', '60/1m'),
      global: policy(env, 'STOA_RATE_LIMIT_GLOBAL', 'off'),
    }),
    twoTierSyncMs: integer(env, 'STOA_RATE_LIMIT_TWO_TIER_SYNC_MS', 100, 10, 10_000),
    trustedProxies: Object.freeze(trustedProxies),
    ipv6Prefix: integer(env, 'STOA_RATE_LIMIT_IPV6_PREFIX', 56, 16, 128),
  });
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds, written `90`, `90s`, `15m`, `24h` or `1d`. */
function duration(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const match = /^(\d+)([smhd]?)$/.exec(raw.trim());
  const value = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's']! : NaN;
  if (!(value >= min && value <= max)) fail(name, `must be a duration between ${min} and ${max} seconds, like 90, 15m, 24h or 1d`, raw);
  return value;
}

function processorConfig(env: Env): ProcessorConfig {
  const webhookSecret = env.STOA_PROCESSOR_WEBHOOK_SECRET || DEV_PROCESSOR_WEBHOOK_SECRET;
  if (!/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(webhookSecret)) fail('STOA_PROCESSOR_WEBHOOK_SECRET', 'must be whsec_ followed by base64 of 24 to 64 random bytes', '[redacted]');
  return Object.freeze({
    url: url(env, 'STOA_PROCESSOR_URL', ['http:', 'https:'])?.replace(/\/$/, ''),
    latencyMs: integer(env, 'STOA_PROCESSOR_LATENCY_MS', 50, 0, 60_000),
    slowMs: integer(env, 'STOA_PROCESSOR_SLOW_MS', 5_000, 0, 120_000),
    webhookSecret,
  });
}

function testHoldJobAfterStep(env: Env, nodeEnv: Config['nodeEnv']): number | null {
  const value = env.STOA_TEST_HOLD_JOB_AFTER_STEP;
  if (value === undefined || value === '') return null;
  if (nodeEnv === 'production') fail('STOA_TEST_HOLD_JOB_AFTER_STEP', 'is for tests and is refused with NODE_ENV=production', value);
  return integer(env, 'STOA_TEST_HOLD_JOB_AFTER_STEP', 1, 1, 1_000_000);
}

function graphqlConfig(env: Env, nodeEnv: Config['nodeEnv']): GraphqlConfig {
  const persistedOnly = boolean(env, 'STOA_GRAPHQL_PERSISTED_ONLY', false);
  const allowlist = env.STOA_GRAPHQL_ALLOWLIST && env.STOA_GRAPHQL_ALLOWLIST !== '' ? path.resolve(env.STOA_GRAPHQL_ALLOWLIST) : undefined;
  if (persistedOnly && allowlist === undefined) fail('STOA_GRAPHQL_ALLOWLIST', 'must name the allow-list file when STOA_GRAPHQL_PERSISTED_ONLY=true', '');
  return Object.freeze({
    maxDepth: integer(env, 'STOA_GRAPHQL_MAX_DEPTH', 10, 1, 100),
    maxAliases: integer(env, 'STOA_GRAPHQL_MAX_ALIASES', 30, 0, 1_000),
    maxCost: integer(env, 'STOA_GRAPHQL_MAX_COST', 1000, 1, 10_000_000),
    introspection: boolean(env, 'STOA_GRAPHQL_INTROSPECTION', nodeEnv !== 'production'),
    persistedOnly,
    allowlist,
  });
}

function loadSheddingConfig(env: Env): LoadSheddingConfig | null {
  if (!onOff(env, 'STOA_LOAD_SHEDDING', true)) return null;
  return Object.freeze({
    eventLoopDelayMs: integer(env, 'STOA_SHED_EVENT_LOOP_DELAY_MS', 500, 0, 60_000),
    heapRatio: ratio(env, 'STOA_SHED_HEAP_RATIO', 0.95),
    retryAfterSeconds: integer(env, 'STOA_SHED_RETRY_AFTER', 2, 1, 3_600),
  });
}

/**
 * Reads and validates the configuration. Throws a ConfigError whose message
 * is one line naming the variable when a value is bad.
 */
export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', 'development', ['development', 'production', 'test'] as const);
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = env.HOST && env.HOST !== '' ? env.HOST : '0.0.0.0';
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) fail('HOST', 'must be a host name or IP address', host);
  const dataDirRaw = env.STOA_DATA_DIR && env.STOA_DATA_DIR !== '' ? env.STOA_DATA_DIR : './data';
  const dataDir = dataDirRaw === 'memory' || dataDirRaw === ':memory:' ? 'memory' : path.resolve(dataDirRaw);
  const corsOrigins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin === '*') continue;
    try {
      const u = new URL(origin);
      if (u.origin !== origin) throw new Error('not an origin');
    } catch {
      fail('CORS_ORIGINS', 'must be a comma-separated list of origins like https://app.example.com, or *', origin);
    }
  }
  const publicUrl = (url(env, 'STOA_PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/$/, '');
  const jwtKeys = env.STOA_JWT_KEYS && env.STOA_JWT_KEYS !== '' ? env.STOA_JWT_KEYS : undefined;
  if (jwtKeys !== undefined) {
    let ok = false;
    try {
      const parsed: unknown = JSON.parse(jwtKeys);
      ok = Array.isArray(parsed) && parsed.length > 0 && parsed.every((k) => typeof k === 'object' && k !== null && 'd' in k);
    } catch {
      ok = false;
    }
    if (!ok) fail('STOA_JWT_KEYS', 'must be a JSON array of private JWKs (Ed25519)', '[redacted]');
  }
  const adminEmail = env.STOA_ADMIN_EMAIL || undefined;
  const adminPassword = env.STOA_ADMIN_PASSWORD || undefined;
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    const missing = adminEmail === undefined ? 'STOA_ADMIN_EMAIL' : 'STOA_ADMIN_PASSWORD';
    fail(missing, 'must be set together with ' + (missing === 'STOA_ADMIN_EMAIL' ? 'STOA_ADMIN_PASSWORD' : 'STOA_ADMIN_EMAIL'), '');
  }
  if (adminEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(adminEmail)) fail('STOA_ADMIN_EMAIL', 'must be an email address', adminEmail);
  if (adminPassword !== undefined && (adminPassword.length < 8 || adminPassword.length > 256)) {
    fail('STOA_ADMIN_PASSWORD', 'must be 8 to 256 characters', '[redacted]');
  }

  const v1DeprecatedAt = instant(env, 'STOA_V1_DEPRECATED_AT', '2026-11-01T00:00:00Z');
  const v1SunsetAt = instant(env, 'STOA_V1_SUNSET_AT', '2027-11-01T00:00:00Z');
  if (v1SunsetAt.getTime() < v1DeprecatedAt.getTime()) fail('STOA_V1_SUNSET_AT', 'must not be earlier than STOA_V1_DEPRECATED_AT', env.STOA_V1_SUNSET_AT ?? '');

  return Object.freeze({
    v1DeprecatedAt,
    v1SunsetAt,
    port,
    host,
    grpcPort: integer(env, 'GRPC_PORT', 50051, 0, 65535),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    dataDir,
    logLevel: oneOf(env, 'LOG_LEVEL', nodeEnv === 'test' ? 'silent' : 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    nodeEnv,
    corsOrigins: Object.freeze(corsOrigins),
    publicUrl,
    bodyLimit: integer(env, 'STOA_BODY_LIMIT', 1024 * 1024, 1024, 100 * 1024 * 1024),
    jwtKeys,
    jwtKeysReloadSeconds: duration(env, 'STOA_JWT_KEYS_RELOAD', 30, 1, 3_600),
    jwtKeysEncryptionKey: encryptionKey(env, 'STOA_JWT_KEYS_ENCRYPTION_KEY'),
    jwtIssuer: env.STOA_JWT_ISSUER || publicUrl,
    jwtAudience: env.STOA_JWT_AUDIENCE || 'stoa-api',
    accessTokenTtlSeconds: integer(env, 'STOA_ACCESS_TOKEN_TTL', 900, 30, 86400),
    refreshTokenTtlSeconds: integer(env, 'STOA_REFRESH_TOKEN_TTL', 30 * 86400, 60, 365 * 86400),
    passwordHashCost: integer(env, 'STOA_PASSWORD_HASH_COST', 15, 10, 20),
    adminEmail,
    adminPassword,
    seedDemo: boolean(env, 'STOA_SEED_DEMO', true),
    requireIfMatch: boolean(env, 'STOA_REQUIRE_IF_MATCH', false),
    rateLimit: rateLimitConfig(env, url(env, 'REDIS_URL', ['redis:', 'rediss:'])),
    loadShedding: loadSheddingConfig(env),
    graphql: graphqlConfig(env, nodeEnv),
    idempotency: Object.freeze({
      ttlSeconds: duration(env, 'STOA_IDEMPOTENCY_TTL', 86_400, 60, 30 * 86_400),
      lockTimeoutSeconds: duration(env, 'STOA_IDEMPOTENCY_LOCK_TIMEOUT', 30, 1, 3_600),
    }),
    processor: processorConfig(env),
    role: oneOf(env, 'STOA_ROLE', 'all', ROLES),
    worker: Object.freeze({
      concurrency: integer(env, 'STOA_WORKER_CONCURRENCY', 16, 1, 1_000),
      leaseMs: integer(env, 'STOA_WORKER_LEASE_MS', 30_000, 500, 3_600_000),
      pollMs: integer(env, 'STOA_WORKER_POLL_MS', 1_000, 10, 60_000),
      holdJobAfterStep: testHoldJobAfterStep(env, nodeEnv),
    }),
    webhooks: Object.freeze({
      timeoutMs: integer(env, 'STOA_WEBHOOK_TIMEOUT_MS', 10_000, 1, 300_000),
      retryScheduleMs: Object.freeze(durationList(env, 'STOA_WEBHOOK_RETRY_SCHEDULE', '5s,5m,30m,2h,5h,10h,10h,10h')),
      endpointConcurrency: integer(env, 'STOA_WEBHOOK_ENDPOINT_CONCURRENCY', 4, 1, 1_000),
      disableAfterMs: durationMs(env, 'STOA_WEBHOOK_DISABLE_AFTER', env.STOA_WEBHOOK_DISABLE_AFTER || '5d'),
      allowedCidrs: Object.freeze(cidrList(env, 'STOA_WEBHOOK_ALLOWED_CIDRS')),
    }),
    reportStepOrders: integer(env, 'STOA_REPORT_STEP_ORDERS', 500, 1, 100_000),
    usageFlushMs: integer(env, 'STOA_USAGE_FLUSH_MS', 10_000, 50, 600_000),
    realtime: realtimeConfig(env),
    grpc: grpcConfig(env),
  });
}

function grpcConfig(env: Env): GrpcConfig {
  const tlsCert = env.STOA_GRPC_TLS_CERT || undefined;
  const tlsKey = env.STOA_GRPC_TLS_KEY || undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    fail(tlsCert === undefined ? 'STOA_GRPC_TLS_CERT' : 'STOA_GRPC_TLS_KEY', 'must be set together with ' + (tlsCert === undefined ? 'STOA_GRPC_TLS_KEY' : 'STOA_GRPC_TLS_CERT'), '');
  }
  return Object.freeze({ tlsCert, tlsKey, maxDeadlineMs: integer(env, 'STOA_GRPC_MAX_DEADLINE_MS', 30_000, 100, 3_600_000) });
}

function realtimeConfig(env: Env): RealtimeConfig {
  return Object.freeze({
    sseHeartbeatMs: integer(env, 'STOA_SSE_HEARTBEAT_MS', 15_000, 10, 3_600_000),
    streamsPerPrincipal: integer(env, 'STOA_STREAMS_PER_PRINCIPAL', 10, 1, 10_000),
    streamMaxBufferedBytes: integer(env, 'STOA_STREAM_MAX_BUFFERED_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    wsPingMs: integer(env, 'STOA_WS_PING_MS', 30_000, 1_000, 3_600_000),
    wsMessagesPerSecond: integer(env, 'STOA_WS_MESSAGES_PER_SECOND', 20, 1, 100_000),
    wsMaxMessageBytes: integer(env, 'STOA_WS_MAX_MESSAGE_BYTES', 16 * 1024, 256, 16 * 1024 * 1024),
    pollMs: integer(env, 'STOA_REALTIME_POLL_MS', 2_000, 50, 600_000),
    revalidateMs: integer(env, 'STOA_REALTIME_REVALIDATE_MS', 500, 50, 60_000),
  });
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** One duration in milliseconds: `250ms`, `5s`, `5m`, `2h`, `5d` (a bare number is seconds). */
function parseDurationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2] ?? 's']! : NaN;
}

function durationMs(env: Env, name: string, raw: string): number {
  const value = parseDurationMs(raw);
  if (!(value >= 0 && value <= 365 * 86_400_000)) fail(name, 'must be a duration like 250ms, 30s, 15m, 2h or 5d', raw);
  return value;
}

function durationList(env: Env, name: string, fallback: string): number[] {
  const raw = env[name] === undefined || env[name] === '' ? fallback : env[name]!;
  const values = raw.split(',').map(parseDurationMs);
  if (values.length > 50 || values.some((v) => !(v >= 0 && v <= 30 * 86_400_000))) fail(name, 'must be a comma-separated list of durations like 5s,5m,30m,2h', raw);
  return values;
}

function cidrList(env: Env, name: string): string[] {
  const raw = env[name] ?? '';
  try {
    return parseCidrList(raw);
  } catch (error) {
    return fail(name, `must be a comma-separated list of CIDR ranges like 127.0.0.1/32: ${(error as Error).message}`, raw);
  }
}

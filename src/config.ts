import path from 'node:path';

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

  return Object.freeze({
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
    jwtIssuer: env.STOA_JWT_ISSUER || publicUrl,
    jwtAudience: env.STOA_JWT_AUDIENCE || 'stoa-api',
    accessTokenTtlSeconds: integer(env, 'STOA_ACCESS_TOKEN_TTL', 900, 30, 86400),
    refreshTokenTtlSeconds: integer(env, 'STOA_REFRESH_TOKEN_TTL', 30 * 86400, 60, 365 * 86400),
    passwordHashCost: integer(env, 'STOA_PASSWORD_HASH_COST', 15, 10, 20),
    adminEmail,
    adminPassword,
    seedDemo: boolean(env, 'STOA_SEED_DEMO', true),
    requireIfMatch: boolean(env, 'STOA_REQUIRE_IF_MATCH', false),
  });
}

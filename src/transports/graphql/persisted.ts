import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { GraphQLError } from 'graphql';

/** sha256 hex of a document's exact text: the automatic persisted queries hash. */
export function documentHash(query: string): string {
  return createHash('sha256').update(query).digest('hex');
}

/** Where automatically persisted documents live: shared by every process when Redis is configured. */
export interface PersistedStore {
  get(hash: string): Promise<string | undefined>;
  set(hash: string, query: string): Promise<void>;
}

const MEMORY_ENTRIES = 1_000;
const REDIS_TTL_SECONDS = 24 * 3600;

/** A bounded in-process store (least recently used out first). */
export function memoryStore(max = MEMORY_ENTRIES): PersistedStore {
  const entries = new Map<string, string>();
  return {
    async get(hash) {
      const query = entries.get(hash);
      if (query !== undefined) {
        entries.delete(hash);
        entries.set(hash, query);
      }
      return query;
    },
    async set(hash, query) {
      entries.delete(hash);
      entries.set(hash, query);
      if (entries.size > max) entries.delete(entries.keys().next().value!);
    },
  };
}

/** Redis, so a document registered on one process is found on every other (a day's TTL bounds it). */
export function redisStore(redis: Redis, prefix = 'stoa:apq:'): PersistedStore {
  const local = memoryStore();
  return {
    async get(hash) {
      const cached = await local.get(hash);
      if (cached !== undefined) return cached;
      const query = (await redis.get(prefix + hash)) ?? undefined;
      if (query !== undefined) await local.set(hash, query);
      return query;
    },
    async set(hash, query) {
      await local.set(hash, query);
      await redis.set(prefix + hash, query, 'EX', REDIS_TTL_SECONDS);
    },
  };
}

/** Reads the allow-list file (`{"<sha256 hex>": "<document>", …}`), checking every hash against its document. */
export function loadAllowlist(file: string): ReadonlyMap<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`STOA_GRAPHQL_ALLOWLIST: cannot read ${file} as JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`STOA_GRAPHQL_ALLOWLIST: ${file} must hold a JSON object of sha256 hex → document`);
  const out = new Map<string, string>();
  for (const [hash, query] of Object.entries(parsed)) {
    if (typeof query !== 'string' || documentHash(query) !== hash.toLowerCase()) throw new Error(`STOA_GRAPHQL_ALLOWLIST: the entry ${hash.slice(0, 16)}… is not the sha256 of its document`);
    out.set(hash.toLowerCase(), query);
  }
  return out;
}

/** What a request asks of persisted queries, from its `extensions`. */
export interface PersistedRequest {
  hash: string;
}

const HASH = /^[0-9a-f]{64}$/;

/** The `extensions.persistedQuery` of a request (`{version: 1, sha256Hash}`), null when there is none; an error when it is malformed. */
export function persistedRequestOf(extensions: unknown): PersistedRequest | null | GraphQLError {
  if (extensions === null || typeof extensions !== 'object') return null;
  const pq = (extensions as { persistedQuery?: unknown }).persistedQuery;
  if (pq === undefined || pq === null) return null;
  const { version, sha256Hash } = pq as { version?: unknown; sha256Hash?: unknown };
  if (version !== 1) return new GraphQLError('Unsupported persisted query version; only version 1 is', { extensions: { code: 'BAD_REQUEST' } });
  if (typeof sha256Hash !== 'string' || !HASH.test(sha256Hash.toLowerCase())) {
    return new GraphQLError('extensions.persistedQuery.sha256Hash must be the sha256 of the query, in hex', { extensions: { code: 'BAD_REQUEST' } });
  }
  return { hash: sha256Hash.toLowerCase() };
}

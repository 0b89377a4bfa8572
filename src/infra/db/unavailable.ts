import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { AppError } from '../../domain/shared/errors.ts';

/** What a caller should wait before retrying while the database is away (a restart takes seconds). */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

// Socket errors of a server that is gone or not yet back.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down), too_many_connections.
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
// pg's own errors for a connection lost or never made; they carry no code.
const PG_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /Client has encountered a connection error/, /^Client was closed/];

/** Whether `error` says the database cannot be reached right now (rather than that the statement is wrong). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATES.has(code) || code.startsWith('08'))) return true;
  return PG_MESSAGES.some((pattern) => pattern.test(error.message));
}

function translated(error: unknown): unknown {
  if (!isDatabaseUnavailable(error)) return error;
  return new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly', { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS, cause: error });
}

/**
 * The pool as Kysely sees it, with a lost or refused database connection turned into a 503
 * SERVICE_UNAVAILABLE with Retry-After on every transport, instead of an unexpected 500.
 * One wrapper per pg client: Kysely keeps its connection state per client object.
 */
export function unavailableAs503(pool: pg.Pool): PostgresPool {
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let wrapper = wrappers.get(client);
    if (!wrapper) {
      wrapper = {
        query: ((...args: Parameters<pg.PoolClient['query']>) => {
          const result = (client.query as (...a: unknown[]) => unknown)(...args);
          // A cursor (streamed query) is returned as is; its reads fail on their own.
          return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(translated(error))) : result;
        }) as PostgresPoolClient['query'],
        release: (destroy?: boolean) => client.release(destroy),
      };
      wrappers.set(client, wrapper);
    }
    return wrapper;
  };
  return {
    get options() {
      return pool.options;
    },
    async connect() {
      try {
        return wrap(await pool.connect());
      } catch (error) {
        throw translated(error);
      }
    },
    end: () => pool.end(),
  };
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Kysely } from 'kysely';
import type { Transactor } from '../../domain/shared/transactor.ts';
import type { Database } from './schema.ts';

/** The database handle a repository should use right now: the ambient transaction, or the pool. */
export type Connection = () => Kysely<Database>;

/** Runs work in a transaction whose BEGIN carries a prelude (see `createTransactions`). */
export type PreludeTransactor = <T>(prelude: string, work: () => Promise<T>) => Promise<T>;

/**
 * An ambient transaction (AsyncLocalStorage): repositories called inside
 * `run` join it without being passed a handle, so a service can make several
 * writes — and the event that records them — commit or roll back together.
 * Nested `run` calls join the outer transaction.
 *
 * `runWithPrelude` (PostgreSQL servers only) starts an outermost transaction
 * whose BEGIN is sent together with `prelude` — fixed SQL text without
 * parameters, e.g. a function call with integer arguments — as one simple
 * query: one round trip where a separate statement would cost another. A
 * prelude that fails rolls the transaction back and rejects with its error.
 */
export function createTransactions(db: Kysely<Database>): { connection: Connection; transactor: Transactor; runWithPrelude: PreludeTransactor } {
  const ambient = new AsyncLocalStorage<{ trx: Kysely<Database>; committed: Array<() => void> }>();
  const runCommitted = (committed: Array<() => void>) => {
    for (const callback of committed) callback();
  };
  return {
    connection: () => ambient.getStore()?.trx ?? db,
    transactor: {
      async run(work) {
        if (ambient.getStore()) return work();
        const committed: Array<() => void> = [];
        const result = await db.transaction().execute((trx) => ambient.run({ trx, committed }, work));
        runCommitted(committed);
        return result;
      },
      afterCommit(callback) {
        const store = ambient.getStore();
        if (store) store.committed.push(callback);
        else queueMicrotask(callback);
      },
    },
    async runWithPrelude(prelude, work) {
      if (ambient.getStore()) throw new Error('runWithPrelude starts an outermost transaction; it cannot be nested');
      const committed: Array<() => void> = [];
      const result = await db.connection().execute(async (trx) => {
        try {
          // Without parameters pg sends a simple query, which may hold several statements.
          await sql.raw(`BEGIN; ${prelude}`).execute(trx);
          const value = await ambient.run({ trx, committed }, work);
          const { rows } = await sql.raw<{ command?: string }>('COMMIT').execute(trx);
          // PostgreSQL answers COMMIT with a ROLLBACK tag when an earlier error aborted the transaction.
          if (rows[0]?.command === 'ROLLBACK') throw new Error('the transaction was aborted by an earlier error and rolled back');
          return value;
        } catch (error) {
          await sql.raw('ROLLBACK').execute(trx).catch(() => {});
          throw error;
        }
      });
      runCommitted(committed);
      return result;
    },
  };
}

/**
 * A Kysely handle that resolves to the ambient transaction on every call, for
 * repositories built over a fixed handle: inside a transaction they join it
 * (on PGlite's single connection, anything else would wait for it forever).
 */
export function ambientDatabase(connection: Connection): Kysely<Database> {
  return new Proxy({} as Kysely<Database>, {
    get(_target, property) {
      const current = connection();
      const value: unknown = Reflect.get(current, property, current);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
    },
  });
}

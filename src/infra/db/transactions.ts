import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import type { Transactor } from '../../domain/shared/transactor.ts';
import type { Database } from './schema.ts';

/** The database handle a repository should use right now: the ambient transaction, or the pool. */
export type Connection = () => Kysely<Database>;

/**
 * An ambient transaction (AsyncLocalStorage): repositories called inside
 * `run` join it without being passed a handle, so a service can make several
 * writes — and the event that records them — commit or roll back together.
 * Nested `run` calls join the outer transaction.
 */
export function createTransactions(db: Kysely<Database>): { connection: Connection; transactor: Transactor } {
  const ambient = new AsyncLocalStorage<{ trx: Kysely<Database>; committed: Array<() => void> }>();
  return {
    connection: () => ambient.getStore()?.trx ?? db,
    transactor: {
      async run(work) {
        if (ambient.getStore()) return work();
        const committed: Array<() => void> = [];
        const result = await db.transaction().execute((trx) => ambient.run({ trx, committed }, work));
        for (const callback of committed) callback();
        return result;
      },
      afterCommit(callback) {
        const store = ambient.getStore();
        if (store) store.committed.push(callback);
        else queueMicrotask(callback);
      },
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

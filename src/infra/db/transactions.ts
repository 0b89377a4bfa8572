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
  const ambient = new AsyncLocalStorage<Kysely<Database>>();
  return {
    connection: () => ambient.getStore() ?? db,
    transactor: {
      async run(work) {
        if (ambient.getStore()) return work();
        return db.transaction().execute((trx) => ambient.run(trx, work));
      },
    },
  };
}

import { AppError } from '../../domain/shared/errors.ts';
import type { DatabaseHandle } from './database.ts';
import type { PreludeTransactor } from './transactions.ts';

/** Runs a call's database work bounded by the time its caller has left. */
export type StatementDeadline = <T>(timeoutMs: number, work: () => Promise<T>) => Promise<T>;

/**
 * On PostgreSQL the work runs in one transaction whose BEGIN sets
 * `statement_timeout` to the time left: a statement still running when the
 * deadline passes is cancelled by the server (SQLSTATE 57014) and the
 * transaction rolls back. PGlite runs each statement to its end inside this
 * process's event loop, where nothing can interrupt it: the work runs as it
 * is, and the transport answers DEADLINE_EXCEEDED when the deadline passes.
 */
export function createStatementDeadline(kind: DatabaseHandle['kind'], runWithPrelude: PreludeTransactor): StatementDeadline {
  if (kind === 'pglite') return (_timeoutMs, work) => work();
  return async (timeoutMs, work) => {
    try {
      return await runWithPrelude(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`, work);
    } catch (error) {
      if ((error as { code?: unknown }).code === '57014') {
        throw new AppError('DEADLINE_EXCEEDED', 'The deadline passed while the database was working; the statement was cancelled', { cause: error });
      }
      throw error;
    }
  };
}

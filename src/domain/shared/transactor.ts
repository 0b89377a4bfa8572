/**
 * Runs work in one database transaction. Everything the repositories do
 * inside `run` commits together or not at all; nested calls join the outer one.
 */
export interface Transactor {
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Calls `callback` once the current outermost transaction has committed (never if it rolls back); at once outside one. */
  afterCommit(callback: () => void): void;
}

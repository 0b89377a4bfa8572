export * from './idempotency.core.ts';
export * from './idempotency.store.ts';
export * from './idempotency.run.ts';

export * from './idempotency.core.ts';
export * from './idempotency.store.ts';
export { registerIdempotency, type IdempotencyOptions } from './idempotency.fastify.ts';

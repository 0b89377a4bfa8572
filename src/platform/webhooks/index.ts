export * from './address-policy.ts';
export * from './target-guard.ts';
export * from './secrets.ts';

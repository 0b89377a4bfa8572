export { ALGORITHMS, type AlgorithmName, type CheckOutcome, type FailMode, type Policy, type PolicyScope, type RateLimitCheck, type RateLimitStore } from './rate-limit.store.ts';
export { createMemoryStore, type MemoryStoreOptions } from './rate-limit.memory-store.ts';
export { RateLimiter, type PolicyResult, type RateLimitDecision, type RateLimiterOptions, type RateLimitObserver } from './rate-limit.limiter.ts';
export { parsePolicySpec, PolicySet, POLICY_SLOTS, type PolicySlot, type PolicySpec, type RequestClasses, type RequestIdentity } from './rate-limit.policy.ts';
export { rateLimitHeaders, policyField } from './rate-limit.headers.ts';
export { createClientIpResolver, groupIp, trustedProxyList, type ClientIpResolver } from './client-ip.ts';
export { LoadShedder, createProcessSampler, type LoadSample, type LoadSampler, type LoadShedderOptions } from './load-shedder.ts';

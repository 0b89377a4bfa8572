export { UsageService, type UsageRequest, type UsageServiceDeps } from './usage.service.ts';
export type { UsageFlusher, UsageRepository } from './usage.port.ts';
export type * from './usage.types.ts';
export { SESSION_CLIENT, STATUS_CLASSES, USAGE_GRANULARITIES, USAGE_GROUPS, USAGE_MAX_RANGE_MS, statusClassOf } from './usage.types.ts';

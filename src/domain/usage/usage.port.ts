import type { UsageCount, UsagePoint, UsageQuery } from './usage.types.ts';

/** Where usage counts are kept, shared by every process. */
export interface UsageRepository {
  /** Adds the counts to what is stored (an upsert per row, in one statement). */
  add(counts: readonly UsageCount[]): Promise<void>;
  /** Sums per bucket of the query's granularity and per group, buckets in [from, to). */
  sum(query: UsageQuery): Promise<UsagePoint[]>;
}

/** Makes this process's counts visible to queries (writes what it has not written yet). */
export interface UsageFlusher {
  flush(): Promise<void>;
}

/** How requests are counted and asked about (GET /v1/usage, docs/usage.md). */

/** 429 is its own class: rate-limit rejections are what a developer looks for first. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '429', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export const USAGE_GRANULARITIES = ['minute', 'hour'] as const;
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];

/** `rate_limit_policy` counts only rejected requests (429), by the policy that refused them. */
export const USAGE_GROUPS = ['status_class', 'api_version', 'api_key', 'rate_limit_policy'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

/** The longest range one query may cover, per granularity (at most 1,440 and 744 buckets). */
export const USAGE_MAX_RANGE_MS: Readonly<Record<UsageGranularity, number>> = { minute: 24 * 3_600_000, hour: 31 * 86_400_000 };
export const USAGE_BUCKET_MS: Readonly<Record<UsageGranularity, number>> = { minute: 60_000, hour: 3_600_000 };

/** What the API key column says for a signed-in session (no key); `session:<user id>` when everybody's usage is asked for. */
export const SESSION_CLIENT = 'session';

export function statusClassOf(status: number): StatusClass {
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  return '1xx';
}

/** One counted row: requests in one minute by one caller, key, version and status class. */
export interface UsageCount {
  /** The start of the minute. */
  bucket: Date;
  userId: string;
  /** '' for a signed-in session. */
  apiKeyId: string;
  apiVersion: string;
  statusClass: StatusClass;
  /** The policy that refused a 429; '' otherwise. */
  rateLimitPolicy: string;
  count: number;
}

export interface UsageQuery {
  from: Date;
  to: Date;
  granularity: UsageGranularity;
  /** One dimension, or two (`api_key,api_version`: each client's versions). */
  groupBy: readonly UsageGroup[];
  /** Only this caller's requests; null for everybody's (administrators). */
  userId: string | null;
}

/** One group's count in one bucket, as the store sums it: `keys` in the order of `groupBy`. */
export interface UsagePoint {
  bucket: Date;
  keys: string[];
  count: number;
}

export interface UsageSeries {
  /** The group's value; for two dimensions both, joined by `/` (`key_…/1`). */
  key: string;
  total: number;
  /** One count per bucket, zeros included. */
  counts: number[];
}

export interface UsageReport {
  from: Date;
  to: Date;
  granularity: UsageGranularity;
  groupBy: readonly UsageGroup[];
  /** The start of every bucket in [from, to). */
  buckets: Date[];
  series: UsageSeries[];
}

import type { Clock } from '../shared/clock.ts';
import { AppError, type FieldError } from '../shared/errors.ts';
import { isAdmin, type Principal } from '../shared/principal.ts';
import type { UsageFlusher, UsageRepository } from './usage.port.ts';
import {
  SESSION_CLIENT,
  STATUS_CLASSES,
  USAGE_BUCKET_MS,
  USAGE_GRANULARITIES,
  USAGE_GROUPS,
  USAGE_MAX_RANGE_MS,
  type UsageGranularity,
  type UsageGroup,
  type UsageReport,
  type UsageSeries,
} from './usage.types.ts';

/** A usage question as a transport receives it: every field optional, text as given. */
export interface UsageRequest {
  from?: string | undefined;
  to?: string | undefined;
  granularity?: string | undefined;
  group_by?: string | undefined;
  /** Another caller (administrators), or `all`. */
  user_id?: string | undefined;
}

export interface UsageServiceDeps {
  usage: UsageRepository;
  /** This process's counts not yet written: flushed first, so a caller sees its own last requests. */
  pending?: UsageFlusher;
  clock: Clock;
}

/** Without `from`, a query covers the last hour by minute or the last day by hour. */
const DEFAULT_SPAN_MS: Readonly<Record<UsageGranularity, number>> = { minute: 3_600_000, hour: 86_400_000 };
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function invalid(field: string, code: FieldError['code'], message: string): AppError {
  return new AppError('INVALID_PARAMETER', `Invalid query parameter ${field}: ${message}`, { errors: [{ field, code, message }] });
}

function instant(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = INSTANT.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw invalid(field, 'invalid_format', 'must be an RFC 3339 date-time, e.g. 2026-11-30T18:00:00Z');
  return date;
}

function oneOf<T extends string>(field: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw invalid(field, 'invalid_value', `must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** `group_by`: one dimension, or two different ones separated by a comma. */
function groups(value: string | undefined): UsageGroup[] {
  if (value === undefined) return ['status_class'];
  const parts = value.split(',').map((part) => part.trim());
  const message = `must be one of ${USAGE_GROUPS.join(', ')}, or two of them separated by a comma (api_key,api_version)`;
  if (parts.length > 2 || new Set(parts).size !== parts.length || !parts.every((p) => (USAGE_GROUPS as readonly string[]).includes(p))) {
    throw invalid('group_by', 'invalid_value', message);
  }
  return parts as UsageGroup[];
}

/**
 * Request counts over time for the caller's API keys and sessions, grouped by
 * status class, API version or API key; administrators may ask about anyone.
 */
export class UsageService {
  readonly #deps: UsageServiceDeps;

  constructor(deps: UsageServiceDeps) {
    this.#deps = deps;
  }

  async report(principal: Principal, request: UsageRequest): Promise<UsageReport> {
    const granularity = oneOf('granularity', request.granularity, USAGE_GRANULARITIES, 'minute');
    const groupBy = groups(request.group_by);
    const step = USAGE_BUCKET_MS[granularity];
    const now = this.#deps.clock.now();
    const givenTo = instant('to', request.to);
    const givenFrom = instant('from', request.from);
    const to = givenTo ?? new Date(Math.ceil((now.getTime() + 1) / step) * step);
    const from = givenFrom ?? new Date(to.getTime() - DEFAULT_SPAN_MS[granularity]);
    if (from.getTime() >= to.getTime()) throw invalid('from', 'invalid_range', 'must be before to');
    if (to.getTime() - from.getTime() > USAGE_MAX_RANGE_MS[granularity]) {
      const hours = USAGE_MAX_RANGE_MS[granularity] / 3_600_000;
      throw invalid('to', 'out_of_range', `a ${granularity} query covers at most ${hours} hours; narrow the range or use a coarser granularity`);
    }
    const userId = this.#whose(principal, request.user_id);

    // Whole buckets: from down, to up to a bucket boundary.
    const start = Math.floor(from.getTime() / step) * step;
    const end = Math.ceil(to.getTime() / step) * step;
    await this.#deps.pending?.flush();
    const points = await this.#deps.usage.sum({ from: new Date(start), to: new Date(end), granularity, groupBy, userId });

    const buckets: Date[] = [];
    for (let t = start; t < end; t += step) buckets.push(new Date(t));
    const byKey = new Map<string, UsageSeries>();
    const seriesOf = (key: string) => {
      let series = byKey.get(key);
      if (!series) byKey.set(key, (series = { key, total: 0, counts: buckets.map(() => 0) }));
      return series;
    };
    if (groupBy.length === 1 && groupBy[0] === 'status_class') for (const key of STATUS_CLASSES) seriesOf(key);
    for (const point of points) {
      const index = Math.floor((point.bucket.getTime() - start) / step);
      if (index < 0 || index >= buckets.length) continue;
      const key = point.keys.map((part, i) => (part !== '' ? part : groupBy[i] === 'api_key' ? SESSION_CLIENT : groupBy[i] === 'rate_limit_policy' ? 'other' : part)).join('/');
      const series = seriesOf(key);
      series.counts[index]! += point.count;
      series.total += point.count;
    }
    let series = [...byKey.values()];
    if (groupBy.length > 1 || groupBy[0] !== 'status_class') series = series.sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
    return { from: new Date(start), to: new Date(end), granularity, groupBy, buckets, series };
  }

  #whose(principal: Principal, asked: string | undefined): string | null {
    if (asked === undefined || asked === principal.userId) return principal.userId;
    if (!isAdmin(principal)) throw new AppError('FORBIDDEN', 'Only administrators may read the usage of other callers');
    return asked === 'all' ? null : asked;
  }
}

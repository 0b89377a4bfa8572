import { Counter, type Registry } from 'prom-client';
import type { RateLimitObserver } from './rate-limit.limiter.ts';
import type { ShedReason } from './load-shedder.ts';

/** The logger calls the observer makes (pino's shape). */
export interface IncidentLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * Counts decisions, rejections per policy, store failures and shed requests
 * into the container's registry; logs a store incident once when it starts
 * and once when it ends. Decisions are counted in plain numbers and added to
 * the counter when the registry is read, so a decision costs no metric call.
 */
export function createRateLimitMetrics(registry: Registry, log: IncidentLogger): RateLimitObserver & { shed(reason: ShedReason): void } {
  const counts = { allowed: 0, limited: 0, fail_open: 0, fail_closed: 0 };
  new Counter({
    name: 'stoa_rate_limit_decisions_total',
    help: 'Rate-limit decisions by result (allowed, limited, fail_open, fail_closed)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      for (const result of Object.keys(counts) as (keyof typeof counts)[]) {
        this.inc({ result }, counts[result]);
        counts[result] = 0;
      }
    },
  });
  const rejections = new Counter({ name: 'stoa_rate_limit_rejections_total', help: 'Requests refused by each policy', labelNames: ['policy'] as const, registers: [registry] });
  const failures = new Counter({ name: 'stoa_rate_limit_store_failures_total', help: 'Rate-limit store calls that failed or timed out', registers: [registry] });
  const shed = new Counter({ name: 'stoa_load_shed_total', help: 'Requests answered 503 OVERLOADED by reason', labelNames: ['reason'] as const, registers: [registry] });
  let since = 0;
  let count = 0;
  return {
    decided(decision) {
      if (decision.degraded === 'closed') counts.fail_closed++;
      else if (decision.degraded === 'open') counts.fail_open++;
      else if (decision.allowed) counts.allowed++;
      else counts.limited++;
      if (!decision.allowed) for (const policy of decision.violated) rejections.inc({ policy: policy.name });
    },
    storeFailed(error, first) {
      failures.inc();
      count++;
      if (first) {
        since = Date.now();
        count = 1;
        log.warn({ err: error }, 'rate-limit store unavailable: applying each policy’s fail mode (fail-open policies use this process’s counters)');
      }
    },
    storeRecovered() {
      log.info({ failed_calls: count, outage_ms: Date.now() - since }, 'rate-limit store recovered');
    },
    shed(reason) {
      shed.inc({ reason });
    },
  };
}

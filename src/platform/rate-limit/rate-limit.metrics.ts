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
 * and once when it ends.
 */
export function createRateLimitMetrics(registry: Registry, log: IncidentLogger): RateLimitObserver & { shed(reason: ShedReason): void } {
  const decisions = new Counter({
    name: 'stoa_rate_limit_decisions_total',
    help: 'Rate-limit decisions by result (allowed, limited, fail_open, fail_closed)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const rejections = new Counter({ name: 'stoa_rate_limit_rejections_total', help: 'Requests refused by each policy', labelNames: ['policy'] as const, registers: [registry] });
  const failures = new Counter({ name: 'stoa_rate_limit_store_failures_total', help: 'Rate-limit store calls that failed or timed out', registers: [registry] });
  const shed = new Counter({ name: 'stoa_load_shed_total', help: 'Requests answered 503 OVERLOADED by reason', labelNames: ['reason'] as const, registers: [registry] });
  const allowed = decisions.labels({ result: 'allowed' });
  const limited = decisions.labels({ result: 'limited' });
  const failOpen = decisions.labels({ result: 'fail_open' });
  const failClosed = decisions.labels({ result: 'fail_closed' });
  let since = 0;
  let count = 0;
  return {
    decided(decision) {
      if (decision.degraded === 'closed') failClosed.inc();
      else if (decision.degraded === 'open') failOpen.inc();
      else if (decision.allowed) allowed.inc();
      else limited.inc();
      for (const policy of decision.violated) rejections.inc({ policy: policy.name });
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

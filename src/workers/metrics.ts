import { Counter, Gauge, type Registry } from 'prom-client';
import type { RunnerObserver, WorkQueue } from '../platform/jobs/index.ts';
import type { Clock } from '../domain/shared/clock.ts';

/**
 * Queue depth and lag per kind of work, read from the queue when /metrics is
 * scraped (any role: every process sees the shared queue).
 */
export function registerQueueGauges(registry: Registry, queue: WorkQueue, clock: Clock): void {
  let pending: Promise<Awaited<ReturnType<WorkQueue['stats']>>> | undefined;
  // Both gauges read one query per scrape.
  const stats = () => (pending ??= queue.stats(clock.now()).finally(() => setTimeout(() => (pending = undefined), 0)));
  new Gauge({
    name: 'stoa_queue_depth',
    help: 'Work items by kind and state (queued, running, parked, failed)',
    labelNames: ['kind', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await stats().catch(() => [])) this.set({ kind: s.kind, state: s.state }, s.count);
    },
  });
  new Gauge({
    name: 'stoa_queue_lag_seconds',
    help: 'Age of the oldest due work item by kind (0 when nothing is waiting)',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const lag = new Map<string, number>();
      for (const s of await stats().catch(() => [])) lag.set(s.kind, Math.max(lag.get(s.kind) ?? 0, s.lagSeconds));
      for (const [kind, seconds] of lag) this.set({ kind }, seconds);
    },
  });
}

/** Attempts and outcomes per kind of work, counted by this worker process. */
export function createRunnerMetrics(registry: Registry, log: (error: unknown, kind: string) => void): RunnerObserver {
  // Several runners may share one registry (tests): one set of counters.
  const existing = (name: string) => registry.getSingleMetric(name) as Counter<string> | undefined;
  const attempts = existing('stoa_queue_attempts_total') ?? new Counter({ name: 'stoa_queue_attempts_total', help: 'Work item attempts started by kind', labelNames: ['kind'] as const, registers: [registry] });
  const outcomes = existing('stoa_queue_outcomes_total') ?? new Counter({
    name: 'stoa_queue_outcomes_total',
    help: 'Work item attempts by kind and outcome (done, retry, failed, parked, error, lost)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  return {
    attempt: (kind) => attempts.inc({ kind }),
    outcome: (kind, outcome) => outcomes.inc({ kind, outcome }),
    error: (kind, error) => log(error, kind),
  };
}

/** The age of the oldest due item across every kind, for /readyz. */
export async function queueLag(queue: WorkQueue, clock: Clock): Promise<{ lag_seconds: number; depth: number }> {
  const stats = await queue.stats(clock.now());
  return {
    lag_seconds: Math.round(Math.max(0, ...stats.map((s) => s.lagSeconds)) * 1000) / 1000,
    depth: stats.filter((s) => s.state === 'queued' || s.state === 'running').reduce((n, s) => n + s.count, 0),
  };
}

import { WorkRunner, type PeriodicWork, type WorkHandler } from '../platform/jobs/index.ts';
import { createRunnerMetrics } from './metrics.ts';
import { webhookWork } from './webhooks.ts';
import { jobWork } from './jobs.ts';
import { webhookUserAgent, type Container } from '../container.ts';

/** How often expired idempotency records are swept, once across all workers. */
const IDEMPOTENCY_SWEEP_EVERY_MS = 10 * 60_000;
/** How often pending charges are looked at, and how long one may wait for its outcome before it is submitted again. */
const CHARGE_RESUBMIT_EVERY_MS = 5_000;
const CHARGE_RESUBMIT_AFTER_MS = 20_000;

export interface WorkerOptions {
  /** Resubmit pending charges (needs a connected payment-processor gateway). */
  charges?: boolean;
  log?: (error: unknown, kind: string) => void;
  /** A line worth an operator's attention that is not an error. */
  notice?: (message: string) => void;
  /** Extra work (tests). */
  handlers?: Record<string, WorkHandler>;
  periodic?: PeriodicWork[];
}

/**
 * The background work of a `worker` (or `all`) process: the registry of
 * queued and periodic work, run by a WorkRunner over the shared queue.
 */
export function createWorker(container: Container, options: WorkerOptions = {}): WorkRunner {
  const { config, clock } = container;
  const periodic: PeriodicWork[] = [
    { name: 'idempotency.sweep', everyMs: IDEMPOTENCY_SWEEP_EVERY_MS, run: async () => void (await container.idempotencyStore.sweep(clock.now())) },
    ...(options.charges
      ? [{ name: 'charges.resubmit', everyMs: CHARGE_RESUBMIT_EVERY_MS, run: async () => void (await container.charges.resubmitPending(new Date(clock.now().getTime() - CHARGE_RESUBMIT_AFTER_MS))) }]
      : []),
    ...(options.periodic ?? []),
  ];
  const webhooks = webhookWork(container.webhooks, config.worker.pollMs);
  const runner = new WorkRunner({
    queue: container.queue,
    clock,
    handlers: {
      ...webhooks.handlers,
      ...jobWork({
        jobs: container.jobs,
        findJob: (id) => container.jobRepository.findById(id),
        sender: container.webhookSender,
        clock,
        retryScheduleMs: config.webhooks.retryScheduleMs,
        userAgent: webhookUserAgent,
        holdAfterStep: config.worker.holdJobAfterStep,
        ...(options.notice ? { notice: options.notice } : {}),
      }),
      ...options.handlers,
    },
    periodic: [...periodic, ...webhooks.periodic],
    groupLimit: config.webhooks.endpointConcurrency,
    concurrency: config.worker.concurrency,
    leaseMs: config.worker.leaseMs,
    pollMs: config.worker.pollMs,
    observer: createRunnerMetrics(container.metrics, options.log ?? (() => {})),
  });
  const wake = () => runner.poke();
  const start = runner.start.bind(runner);
  const stop = runner.stop.bind(runner);
  runner.start = async () => {
    container.workListeners.add(wake);
    // As every start did before there were workers: charges an earlier process left pending go to the processor again now.
    if (options.charges) await container.charges.resubmitPending(clock.now()).catch((error: unknown) => options.log?.(error, 'charges.resubmit'));
    await start();
  };
  runner.stop = async (graceMs?: number) => {
    container.workListeners.delete(wake);
    await stop(graceMs);
  };
  return runner;
}

import { presentJob, type Job, type JobScheduler, type JobsService } from '../domain/jobs/index.ts';
import type { WebhookSender } from '../domain/webhooks/index.ts';
import { AppError } from '../domain/shared/errors.ts';
import { newId } from '../domain/shared/ids.ts';
import type { Clock } from '../domain/shared/clock.ts';
import type { Transactor } from '../domain/shared/transactor.ts';
import type { WorkHandler, WorkQueue } from '../platform/jobs/index.ts';
import { signatureHeader } from '../platform/webhooks/index.ts';

export const JOB_STEP_KIND = 'job.step';
export const JOB_CALLBACK_KIND = 'job.callback';
/** A step that met an unreachable database runs again after this, however many steps the job has taken. */
const UNAVAILABLE_RETRY_MS = 1_000;

export function createJobScheduler(queue: WorkQueue, transactor: Transactor, wake: () => void): JobScheduler {
  const poke = () => transactor.afterCommit(wake);
  return {
    async step(jobId, now) {
      await queue.enqueue({ kind: JOB_STEP_KIND, uniqueKey: `job:${jobId}`, payload: { job_id: jobId }, runAt: now }, now);
      poke();
    },
    async callback(jobId, now) {
      await queue.enqueue({ kind: JOB_CALLBACK_KIND, uniqueKey: `job-callback:${jobId}`, payload: { job_id: jobId, event_id: newId('evt', now.getTime()) }, runAt: now }, now);
      poke();
    },
  };
}

/** The job as REST shows it (the callback's `data`). */
export function jobRepresentation(job: Job) {
  const cancellable = job.status === 'queued' || job.status === 'running';
  return {
    ...presentJob(job),
    links: {
      self: `/v1/jobs/${job.id}`,
      ...(cancellable ? { cancel: `/v1/jobs/${job.id}` } : {}),
      ...(job.status === 'succeeded' ? { result: `/v1/reports/${job.id}` } : {}),
    },
  };
}

export interface JobWorkDeps {
  jobs: JobsService;
  findJob(id: string): Promise<Job | undefined>;
  sender: WebhookSender;
  clock: Clock;
  retryScheduleMs: readonly number[];
  userAgent: string;
  /** Tests only (STOA_TEST_HOLD_JOB_AFTER_STEP): stop a job after this many committed steps, holding its claim. */
  holdAfterStep?: number | null;
  notice?: (message: string) => void;
}

export function jobWork(deps: JobWorkDeps): Record<string, WorkHandler> {
  const stepsRun = new Map<string, number>();
  return {
    [JOB_STEP_KIND]: async (item, context) => {
      const jobId = String(item.payload.job_id);
      let outcome;
      try {
        outcome = await deps.jobs.step(jobId);
      } catch (error) {
        // The database away (a restart, a failover) is not the job's fault: the step runs again once it is back.
        if (error instanceof AppError && error.code === 'SERVICE_UNAVAILABLE') {
          return { state: 'queued', runAt: new Date(deps.clock.now().getTime() + UNAVAILABLE_RETRY_MS), error: error.message };
        }
        await deps.jobs.fail(jobId, error instanceof Error ? error.message : String(error));
        return { state: 'done' };
      }
      if (deps.holdAfterStep && outcome.state === 'queued') {
        const steps = (stepsRun.get(jobId) ?? 0) + 1;
        stepsRun.set(jobId, steps);
        if (steps === deps.holdAfterStep) {
          // Between two committed steps, the claim still held (its lease renewed): where a test kills the worker.
          deps.notice?.(`job ${jobId} held after step ${steps} (STOA_TEST_HOLD_JOB_AFTER_STEP)`);
          await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        }
      }
      return outcome;
    },
    [JOB_CALLBACK_KIND]: async (item) => {
      const job = await deps.findJob(String(item.payload.job_id));
      if (!job?.callbackUrl || !job.callbackSecret) return { state: 'done' };
      const now = deps.clock.now();
      const id = String(item.payload.event_id);
      const body = JSON.stringify({ id, type: `job.${job.status}`, timestamp: now.toISOString(), data: jobRepresentation(job) });
      const timestamp = Math.floor(now.getTime() / 1000);
      const result = await deps.sender.send(
        job.callbackUrl,
        {
          'content-type': 'application/json',
          'user-agent': deps.userAgent,
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader([job.callbackSecret], id, timestamp, body),
        },
        body,
      );
      if (result.status !== null && result.status >= 200 && result.status < 300) return { state: 'done' };
      const delay = deps.retryScheduleMs[item.attempts - 1];
      if (delay === undefined) return { state: 'failed', error: result.error ?? `HTTP ${result.status}` };
      const jittered = Math.round(delay * (1 + 0.2 * (2 * Math.random() - 1)));
      return { state: 'queued', runAt: new Date(now.getTime() + jittered), error: result.error ?? `HTTP ${result.status}` };
    },
  };
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../src/domain/shared/errors.ts';
import type { JobsService } from '../src/domain/jobs/index.ts';
import type { WorkItem } from '../src/platform/jobs/index.ts';
import { JOB_STEP_KIND, jobWork } from '../src/workers/jobs.ts';

/** The job-step handler over a jobs service whose next step throws `error`; records the jobs it failed. */
function stepThatThrows(error: unknown) {
  const failed: string[] = [];
  const jobs = {
    step: async () => {
      throw error;
    },
    fail: async (id: string) => void failed.push(id),
  } as unknown as JobsService;
  const now = new Date('2026-11-30T12:00:00Z');
  const handlers = jobWork({ jobs, findJob: async () => undefined, sender: { send: async () => ({ status: 200, error: null }) } as never, clock: { now: () => now }, retryScheduleMs: [], userAgent: 'test' });
  // The fortieth claim of the item: a long job has re-queued its step many times, past the runner's own retry budget.
  const item: WorkItem = { id: 'wi_1', kind: JOB_STEP_KIND, uniqueKey: 'job:job_1', groupKey: null, payload: { job_id: 'job_1' }, attempts: 40, runAt: now, createdAt: now };
  const run = () => handlers[JOB_STEP_KIND]!(item, { signal: new AbortController().signal, now: () => now });
  return { run, failed, now };
}

describe('a report step when the database is away', () => {
  it('runs again once it is back: the job is not failed, however many steps it has taken', async () => {
    const { run, failed, now } = stepThatThrows(new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly', { retryAfterSeconds: 2 }));
    const outcome = await run();
    assert.deepEqual(failed, []);
    assert.equal(outcome?.state, 'queued');
    assert.ok(outcome?.state === 'queued' && outcome.runAt > now, 'the step is due again later, not at once');
  });

  it('any other error still fails the job', async () => {
    const { run, failed } = stepThatThrows(new Error('division by zero'));
    assert.deepEqual(await run(), { state: 'done' });
    assert.deepEqual(failed, ['job_1']);
  });
});

import { Type, type Static } from 'typebox';
import { AppError, notFound, type FieldError } from '../shared/errors.ts';
import type { Clock } from '../shared/clock.ts';
import { newId } from '../shared/ids.ts';
import { defineOperation } from '../shared/operation.ts';
import { isAdmin, requireScope, type Principal, type Scope } from '../shared/principal.ts';

/** Every job is a sales report, computed from orders: an API key needs the scope that reads them. */
const JOB_SCOPE: Scope = 'orders:read';
import type { Transactor } from '../shared/transactor.ts';
import { DOCUMENTED, defineInput } from '../shared/validation.ts';
import type { WebhookTargetChecker } from '../webhooks/webhooks.port.ts';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** `POST /reports`: a key is honoured when sent. */
export const CREATE_REPORT = defineOperation({ name: 'reports.create', idempotencyKey: 'optional' });

const DATE = '^\\d{4}-\\d{2}-\\d{2}$';
export const NewReportInput = defineInput(
  Type.Object(
    {
      type: Type.String({ enum: ['sales'] }),
      from: Type.String({ pattern: DATE, description: 'First day (UTC), YYYY-MM-DD.', [DOCUMENTED]: { format: 'date' } }),
      to: Type.String({ pattern: DATE, description: 'Last day (UTC), YYYY-MM-DD, included.', [DOCUMENTED]: { format: 'date' } }),
      callback_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'Receives a signed POST when the job ends (Standard Webhooks).' })),
    },
    { additionalProperties: false, examples: [{ type: 'sales', from: '2026-11-01', to: '2026-11-30' }] },
  ),
);
export type NewReport = Static<typeof NewReportInput.schema>;

export interface Job {
  id: string;
  userId: string;
  type: string;
  status: JobStatus;
  progress: number;
  params: { from: string; to: string; scope: 'user' | 'shop' };
  state: SalesState;
  result: Record<string, unknown> | null;
  error: { code: string; title: string; detail: string } | null;
  callbackUrl: string | null;
  callbackSecret: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** Partial sales totals, merged step by step (keys: `day|currency`, `product|currency`). */
export interface SalesState {
  afterOrderId?: string;
  total?: number;
  done?: number;
  byDay?: Record<string, { orders: number; amount: number }>;
  byProduct?: Record<string, { quantity: number; amount: number }>;
}

export interface SalesChunk {
  orders: number;
  lastOrderId: string | null;
  byDay: Array<{ day: string; currency: string; orders: number; amount: number }>;
  byProduct: Array<{ productId: string; currency: string; quantity: number; amount: number }>;
}

export interface JobRepository {
  insert(job: Job): Promise<Job>;
  findById(id: string): Promise<Job | undefined>;
  /** Changes a job only while it is in one of `from` (a cancelled job is never overwritten); undefined otherwise. */
  update(id: string, from: readonly JobStatus[], changes: Partial<Omit<Job, 'id' | 'userId' | 'type' | 'params' | 'createdAt'>>, now: Date): Promise<Job | undefined>;
  countOrders(userId: string | null, from: Date, to: Date): Promise<number>;
  /** Totals over the next `limit` orders after `afterOrderId` (by id), not cancelled, created in [from, to). */
  salesChunk(userId: string | null, from: Date, to: Date, afterOrderId: string | undefined, limit: number): Promise<SalesChunk>;
}

export interface JobScheduler {
  /** Queues the job's next step (due now), in the caller's transaction. */
  step(jobId: string, now: Date): Promise<void>;
  /** Queues the completion callback of a finished job. */
  callback(jobId: string, now: Date): Promise<void>;
}

export interface JobsServiceDeps {
  jobs: JobRepository;
  scheduler: JobScheduler;
  targets: WebhookTargetChecker;
  mintSecret(): string;
  transactor: Transactor;
  clock: Clock;
  /** Orders per step (each step commits). */
  stepSize: number;
}

export type StepOutcome = { state: 'done' } | { state: 'queued'; runAt: Date };

const FINISHED: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Jobs and the reports they compute: a job runs in steps that each commit, so a restarted worker resumes. */
export class JobsService {
  readonly #d: JobsServiceDeps;

  constructor(deps: JobsServiceDeps) {
    this.#d = deps;
  }

  async createReport(actor: Principal, input: NewReport): Promise<{ job: Job; callbackSecret: string | null }> {
    requireScope(actor, JOB_SCOPE);
    const extra: FieldError[] = [];
    if (typeof input?.from === 'string' && typeof input?.to === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(input.from) && /^\d{4}-\d{2}-\d{2}$/.test(input.to)) {
      // A day that exists: Date.parse rolls 2026-02-30 over to March 2 rather than refusing it.
      const day = (text: string) => {
        const ms = Date.parse(`${text}T00:00:00Z`);
        return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === text ? ms : Number.NaN;
      };
      const from = day(input.from);
      const to = day(input.to);
      if (Number.isNaN(from)) extra.push({ field: 'from', code: 'invalid_format', message: 'must be a date YYYY-MM-DD' });
      if (Number.isNaN(to)) extra.push({ field: 'to', code: 'invalid_format', message: 'must be a date YYYY-MM-DD' });
      if (from > to) extra.push({ field: 'from', code: 'invalid_range', message: 'must not be after to' });
    }
    if (typeof input?.callback_url === 'string') {
      const checked = await this.#d.targets.check(input.callback_url);
      if (!checked.ok) extra.push({ field: 'callback_url', code: checked.code, message: checked.message });
    }
    NewReportInput.parse(input, extra);
    const now = this.#d.clock.now();
    const callbackSecret = input.callback_url ? this.#d.mintSecret() : null;
    const job = await this.#d.transactor.run(async () => {
      const created = await this.#d.jobs.insert({
        id: newId('job', now.getTime()),
        userId: actor.userId,
        type: 'report.sales',
        status: 'queued',
        progress: 0,
        params: { from: input.from, to: input.to, scope: isAdmin(actor) ? 'shop' : 'user' },
        state: {},
        result: null,
        error: null,
        callbackUrl: input.callback_url ?? null,
        callbackSecret,
        createdAt: now,
        startedAt: null,
        finishedAt: null,
      });
      await this.#d.scheduler.step(created.id, now);
      return created;
    });
    return { job, callbackSecret };
  }

  async get(actor: Principal, id: string): Promise<Job> {
    requireScope(actor, JOB_SCOPE);
    const job = await this.#d.jobs.findById(id);
    if (!job || (job.userId !== actor.userId && !isAdmin(actor))) throw notFound('Job');
    return job;
  }

  async cancel(actor: Principal, id: string): Promise<Job> {
    const job = await this.get(actor, id);
    const now = this.#d.clock.now();
    const cancelled = await this.#d.transactor.run(async () => {
      const updated = await this.#d.jobs.update(id, ['queued', 'running'], { status: 'cancelled', finishedAt: now }, now);
      if (updated?.callbackUrl) await this.#d.scheduler.callback(id, now);
      return updated;
    });
    if (!cancelled) {
      throw new AppError('INVALID_STATE_TRANSITION', `The job is ${job.status}: only a queued or running job can be cancelled`, { extensions: { current_status: job.status } });
    }
    return cancelled;
  }

  /** The report of a succeeded job. */
  async report(actor: Principal, id: string): Promise<{ job: Job; report: Record<string, unknown> }> {
    const job = await this.get(actor, id);
    if (job.status !== 'succeeded' || !job.result) {
      throw new AppError('JOB_NOT_FINISHED', `The job is ${job.status}; its report exists once it has succeeded`, {
        extensions: { status: job.status, links: { job: `/v1/jobs/${job.id}` } },
        ...(job.status === 'queued' || job.status === 'running' ? { retryAfterSeconds: 1 } : {}),
      });
    }
    return { job, report: job.result };
  }

  /** One step of a job (the worker's handler): commits its progress; answers whether another step follows. */
  async step(jobId: string): Promise<StepOutcome> {
    const { jobs, clock, stepSize } = this.#d;
    let job = await jobs.findById(jobId);
    if (!job || FINISHED.includes(job.status)) return { state: 'done' };
    const from = new Date(`${job.params.from}T00:00:00Z`);
    const to = new Date(new Date(`${job.params.to}T00:00:00Z`).getTime() + 86_400_000);
    const userId = job.params.scope === 'shop' ? null : job.userId;
    let now = clock.now();
    if (job.status === 'queued') {
      const total = await jobs.countOrders(userId, from, to);
      job = await jobs.update(jobId, ['queued'], { status: 'running', startedAt: now, state: { ...job.state, total, done: 0 } }, now);
      if (!job) return { state: 'done' };
    }
    const state = job.state;
    const chunk = await jobs.salesChunk(userId, from, to, state.afterOrderId, stepSize);
    const byDay = { ...state.byDay };
    for (const r of chunk.byDay) {
      const key = `${r.day}|${r.currency}`;
      const prev = byDay[key] ?? { orders: 0, amount: 0 };
      byDay[key] = { orders: prev.orders + r.orders, amount: prev.amount + r.amount };
    }
    const byProduct = { ...state.byProduct };
    for (const r of chunk.byProduct) {
      const key = `${r.productId}|${r.currency}`;
      const prev = byProduct[key] ?? { quantity: 0, amount: 0 };
      byProduct[key] = { quantity: prev.quantity + r.quantity, amount: prev.amount + r.amount };
    }
    const done = (state.done ?? 0) + chunk.orders;
    const next: SalesState = { ...state, byDay, byProduct, done, ...(chunk.lastOrderId ? { afterOrderId: chunk.lastOrderId } : {}) };
    now = clock.now();
    if (chunk.orders < stepSize) {
      const finished = await this.#d.transactor.run(async () => {
        const updated = await jobs.update(jobId, ['running'], { status: 'succeeded', progress: 100, state: next, result: salesReport(job!, next), finishedAt: now }, now);
        if (updated?.callbackUrl) await this.#d.scheduler.callback(jobId, now);
        return updated;
      });
      void finished;
      return { state: 'done' };
    }
    const total = Math.max(state.total ?? 1, done, 1);
    const updated = await jobs.update(jobId, ['running'], { state: next, progress: Math.min(99, Math.floor((done / total) * 100)) }, now);
    return updated ? { state: 'queued', runAt: now } : { state: 'done' };
  }

  /** A job ended by a worker error it cannot get past. */
  async fail(jobId: string, message: string): Promise<void> {
    const now = this.#d.clock.now();
    await this.#d.transactor.run(async () => {
      const updated = await this.#d.jobs.update(jobId, ['queued', 'running'], { status: 'failed', error: { code: 'INTERNAL_ERROR', title: 'Internal server error', detail: message.slice(0, 500) }, finishedAt: now }, now);
      if (updated?.callbackUrl) await this.#d.scheduler.callback(jobId, now);
    });
  }
}

function salesReport(job: Job, state: SalesState): Record<string, unknown> {
  const byDay = Object.entries(state.byDay ?? {})
    .map(([key, v]) => {
      const [day, currency] = key.split('|') as [string, string];
      return { day, currency, orders: v.orders, amount: v.amount };
    })
    .sort((a, b) => a.day.localeCompare(b.day) || a.currency.localeCompare(b.currency));
  const byProduct = Object.entries(state.byProduct ?? {})
    .map(([key, v]) => {
      const [product_id, currency] = key.split('|') as [string, string];
      return { product_id, currency, quantity: v.quantity, amount: v.amount };
    })
    .sort((a, b) => a.product_id.localeCompare(b.product_id) || a.currency.localeCompare(b.currency));
  const totals = new Map<string, { currency: string; orders: number; amount: number }>();
  for (const d of byDay) {
    const t = totals.get(d.currency) ?? { currency: d.currency, orders: 0, amount: 0 };
    totals.set(d.currency, { currency: d.currency, orders: t.orders + d.orders, amount: t.amount + d.amount });
  }
  return {
    type: 'sales',
    from: job.params.from,
    to: job.params.to,
    scope: job.params.scope,
    totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)),
    by_day: byDay,
    by_product: byProduct,
  };
}

/** A job as every transport shows it. */
export function presentJob(job: Job) {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    progress: job.progress,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    finished_at: job.finishedAt?.toISOString() ?? null,
    error: job.error && { type: `/problems/${job.error.code.toLowerCase().replace(/_/g, '-')}`, title: job.error.title, status: 500, detail: job.error.detail, code: job.error.code },
  };
}

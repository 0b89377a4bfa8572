import type { FastifyInstance, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import { Type } from 'typebox';
import { CREATE_REPORT, JOB_STATUSES, NewReportInput, presentJob, type Job, type JobsService, type NewReport } from '../../../domain/jobs/index.ts';
import { principalOf } from '../plugins/request-context.ts';
import { typed } from '../type-provider.ts';
import { toCsv } from '../csv.ts';
import { Envelope, IdParams, NoQuery, problemResponses, SECURITY, Timestamp } from '../schemas/common.ts';

/** How long a client should wait before polling a job that is not finished. */
const POLL_SECONDS = 1;

const JobSchema = Type.Object(
  {
    id: Type.String({ examples: ['job_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
    type: Type.String({ examples: ['report.sales'] }),
    status: Type.String({ enum: [...JOB_STATUSES] }),
    progress: Type.Integer({ minimum: 0, maximum: 100 }),
    created_at: Timestamp,
    started_at: Type.Union([Timestamp, Type.Null()]),
    finished_at: Type.Union([Timestamp, Type.Null()]),
    error: Type.Union([Type.Object({}, { additionalProperties: true, description: 'A problem object' }), Type.Null()]),
    links: Type.Object({ self: Type.String(), cancel: Type.Optional(Type.String()), result: Type.Optional(Type.String()) }),
    callback_secret: Type.Optional(Type.String({ description: 'whsec_…: verifies the completion callback. Only in the 202 answer, when callback_url was given.' })),
  },
  { description: 'A long-running job' },
);

const ReportSchema = Type.Object(
  {
    type: Type.Literal('sales'),
    from: Type.String(),
    to: Type.String(),
    scope: Type.String({ enum: ['user', 'shop'], description: "user: the caller's orders; shop: every order (administrators)." }),
    totals: Type.Array(Type.Object({ currency: Type.String(), orders: Type.Integer(), amount: Type.Integer({ description: 'Minor units' }) })),
    by_day: Type.Array(Type.Object({ day: Type.String(), currency: Type.String(), orders: Type.Integer(), amount: Type.Integer() })),
    by_product: Type.Array(Type.Object({ product_id: Type.String(), currency: Type.String(), quantity: Type.Integer(), amount: Type.Integer() })),
  },
  { description: 'The sales report: orders that are not cancelled, in minor units per currency' },
);

const version = (request: FastifyRequest) => (request.url.startsWith('/v1/') ? '/v1' : '/v2');

function present(job: Job, prefix: string) {
  const cancellable = job.status === 'queued' || job.status === 'running';
  return {
    ...presentJob(job),
    links: {
      self: `${prefix}/jobs/${job.id}`,
      ...(cancellable ? { cancel: `${prefix}/jobs/${job.id}` } : {}),
      ...(job.status === 'succeeded' ? { result: `${prefix}/reports/${job.id}` } : {}),
    },
  };
}

/** Jobs and reports: POST /reports answers 202 and a job to poll. */
export function registerJobRoutes(fastify: FastifyInstance, { jobs }: { jobs: JobsService }): void {
  const app = typed(fastify);
  const tags = ['jobs'];
  const security = SECURITY.required;

  app.post('/reports', {
    config: { auth: 'required', idempotency: { operation: CREATE_REPORT, input: (request: FastifyRequest) => request.body as NewReport } },
    schema: {
      operationId: 'createReport',
      tags,
      summary: 'Start a report',
      description:
        "Answers 202 with the job, Location (the job) and Retry-After. A user's sales report covers its own orders, an administrator's the whole shop. With callback_url (same address rules as webhook endpoints), a POST signed with data.callback_secret (shown once) is sent when the job ends. Idempotency-Key is honoured. An API key needs orders:read, for this and every job and report route.",
      security,
      querystring: NoQuery,
      headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ description: 'A retry with the same key answers the first result.' })) }),
      body: NewReportInput.schema,
      response: { 202: Envelope(JobSchema, 'The job, queued'), ...problemResponses(400, 401, 403, 409, 415, 422) },
    },
    handler: async (request, reply) => {
      const { job, callbackSecret } = await jobs.createReport(principalOf(request), request.body);
      const prefix = version(request);
      reply.header('location', `${prefix}/jobs/${job.id}`).header('retry-after', String(POLL_SECONDS)).header('cache-control', 'no-store');
      return reply.code(202).send({ data: { ...present(job, prefix), ...(callbackSecret ? { callback_secret: callbackSecret } : {}) } });
    },
  });

  app.get('/jobs/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getJob',
      tags,
      summary: 'Get a job',
      description: 'Owner or administrator. While queued or running the answer carries Retry-After.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: Envelope(JobSchema, 'The job'), ...problemResponses(401, 403, 404) },
    },
    handler: async (request, reply) => {
      const job = await jobs.get(principalOf(request), request.params.id);
      reply.header('cache-control', 'no-store');
      if (job.status === 'queued' || job.status === 'running') reply.header('retry-after', String(POLL_SECONDS));
      return { data: present(job, version(request)) };
    },
  });

  app.delete('/jobs/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'cancelJob',
      tags,
      summary: 'Cancel a job',
      description: 'A queued or running job becomes cancelled (200); a finished one is 409.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: Envelope(JobSchema, 'The job, cancelled'), ...problemResponses(401, 403, 404, 409) },
    },
    handler: async (request) => ({ data: present(await jobs.cancel(principalOf(request), request.params.id), version(request)) }),
  });

  app.get('/reports/:id', {
    config: { auth: 'required', produces: ['application/json', 'text/csv'] },
    schema: {
      operationId: 'getReport',
      tags,
      summary: "A succeeded job's report",
      description: '{id} is the job id. JSON, or CSV with Accept: text/csv. Before the job has succeeded: 409 JOB_NOT_FINISHED with the job link.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: {
        200: { description: 'The report', content: { 'application/json': { schema: Envelope(ReportSchema, 'The report') }, 'text/csv': { schema: Type.String() } } },
        ...problemResponses(401, 403, 404, 406, 409),
      },
    },
    handler: async (request, reply) => {
      const { report } = await jobs.report(principalOf(request), request.params.id);
      reply.header('vary', 'Accept');
      if (request.headers.accept !== undefined && new Negotiator(request.raw).mediaType(['application/json', 'text/csv']) === 'text/csv') {
        const r = report as { by_day: Array<Record<string, unknown>>; by_product: Array<Record<string, unknown>> };
        const rows = [
          ...r.by_day.map((d) => ({ section: 'day', day: d.day, product_id: null, currency: d.currency, orders: d.orders, quantity: null, amount: d.amount })),
          ...r.by_product.map((p) => ({ section: 'product', day: null, product_id: p.product_id, currency: p.currency, orders: null, quantity: p.quantity, amount: p.amount })),
        ];
        return reply.type('text/csv; charset=utf-8').send(toCsv(rows as never, ['section', 'day', 'product_id', 'currency', 'orders', 'quantity', 'amount']));
      }
      return reply.type('application/json; charset=utf-8').send(JSON.stringify({ data: report }));
    },
  });
}

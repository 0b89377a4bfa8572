import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { USAGE_GRANULARITIES, USAGE_GROUPS, type UsageReport, type UsageService } from '../../../domain/usage/index.ts';
import { principalOf } from '../plugins/request-context.ts';
import { Envelope, problemResponses, SECURITY, Timestamp } from '../schemas/common.ts';
import { typed } from '../type-provider.ts';
import { DOCUMENTED } from '../../../domain/shared/validation.ts';

/** One group or two different ones, as the service takes them (spaces around each allowed): the pattern spells out each. */
const GROUPINGS = [...USAGE_GROUPS.map((a) => ` *${a} *`), ...USAGE_GROUPS.flatMap((a) => USAGE_GROUPS.filter((b) => b !== a).map((b) => ` *${a} *, *${b} *`))];

const UsageQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Start (inclusive), rounded down to a bucket. Default: one hour (minute) or one day (hour) before `to`.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'End (exclusive), rounded up to a bucket. Default: the end of the current bucket. At most 24 hours after `from` by minute, 31 days by hour.' })),
    granularity: Type.Optional(Type.String({ enum: [...USAGE_GRANULARITIES], default: 'minute' })),
    group_by: Type.Optional(
      Type.String({
        maxLength: 64,
        // Documented only: the service checks it, with a message that lists the groups.
        [DOCUMENTED]: { pattern: `^(?:${GROUPINGS.join('|')})$` },
        default: 'status_class',
        examples: ['status_class', 'api_key,api_version'],
        description: `One of ${USAGE_GROUPS.join(', ')}, or two of them separated by a comma: \`api_key,api_version\` is each client's API versions. \`rate_limit_policy\` counts only 429s, by the policy that refused them.`,
      }),
    ),
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "Administrators only: another caller's id, or `all` for every caller." })),
  },
  { additionalProperties: false },
);

const UsageSchema = Type.Object(
  {
    from: Timestamp,
    to: Timestamp,
    granularity: Type.String({ enum: [...USAGE_GRANULARITIES] }),
    group_by: Type.String({ description: 'The dimensions, as asked.' }),
    buckets: Type.Array(Timestamp, { description: 'The start of every bucket in [from, to).' }),
    series: Type.Array(
      Type.Object({
        key: Type.String({
          description:
            'The group: a status class (1xx, 2xx, 3xx, 4xx, 429, 5xx), an API version, a rate-limit policy, or an API key id (`session` for a signed-in session; `session:<user id>` with user_id=all); two dimensions are joined by `/`.',
        }),
        total: Type.Integer({ minimum: 0 }),
        counts: Type.Array(Type.Integer({ minimum: 0 }), { description: 'Requests per bucket, aligned with buckets.' }),
      }),
    ),
  },
  {
    description: 'Request counts per bucket and group.',
    examples: [
      {
        from: '2026-11-30T18:00:00.000Z',
        to: '2026-11-30T18:02:00.000Z',
        granularity: 'minute',
        group_by: 'status_class',
        buckets: ['2026-11-30T18:00:00.000Z', '2026-11-30T18:01:00.000Z'],
        series: [
          { key: '2xx', total: 42, counts: [40, 2] },
          { key: '429', total: 3, counts: [3, 0] },
        ],
      },
    ],
  },
);

function presentUsage(report: UsageReport) {
  return {
    from: report.from.toISOString(),
    to: report.to.toISOString(),
    granularity: report.granularity,
    group_by: report.groupBy.join(','),
    buckets: report.buckets.map((b) => b.toISOString()),
    series: report.series,
  };
}

/** `GET /usage`: the caller's request counts over time (docs/usage.md). */
export function registerUsageRoutes(fastify: FastifyInstance, { usage }: { usage: UsageService }): void {
  const app = typed(fastify);
  app.get('/usage', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getUsage',
      tags: ['usage'],
      summary: 'Request counts over time',
      description:
        "Requests answered for the caller's API keys and sessions, per minute or hour, grouped by status class (429 apart from 4xx), API version or API key. Every process writes its counts in batches (STOA_USAGE_FLUSH_MS), so the last seconds of other processes may not show yet. Administrators may pass user_id.",
      security: SECURITY.required,
      querystring: UsageQuery,
      response: { 200: Envelope(UsageSchema, 'The usage report'), ...problemResponses(400, 401, 403, 406) },
    },
    handler: async (request) => ({ data: presentUsage(await usage.report(principalOf(request), request.query)) }),
  });
}

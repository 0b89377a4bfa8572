import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { Type } from 'typebox';
import { AppError, ERROR_CODES } from '../../../domain/shared/errors.ts';
import type { Readiness } from '../../../platform/health/index.ts';
import { codeFromSlug } from '../problem.ts';
import { NoQuery, problemResponses, SECURITY } from '../schemas/common.ts';
import { typed } from '../type-provider.ts';

const ERRORS_DOC = fileURLToPath(new URL('../../../../docs/errors.md', import.meta.url));

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The `## CODE` sections of docs/errors.md, read once. */
function loadErrorDocs(): Map<string, string> {
  const sections = new Map<string, string>();
  let text = '';
  try {
    text = readFileSync(ERRORS_DOC, 'utf8');
  } catch {
    return sections;
  }
  for (const part of text.split(/^## /m).slice(1)) {
    const [heading = '', ...body] = part.split('\n');
    sections.set(heading.trim(), body.join('\n').trim());
  }
  return sections;
}

export interface OpsDeps {
  readiness: Readiness;
  metrics: Registry;
  /** The work queue's lag (age of the oldest due item) and depth, reported by /readyz. */
  queueLag?: () => Promise<{ lag_seconds: number; depth: number }>;
}

/** Health, readiness, metrics and the problem-type pages. None of them needs or reads credentials. */
export function registerOpsRoutes(fastify: FastifyInstance, deps: OpsDeps): void {
  const app = typed(fastify);
  const config = { auth: 'none' as const };
  const tags = ['operations'];

  app.get('/healthz', {
    config,
    schema: {
      operationId: 'getHealth',
      tags,
      summary: 'Liveness',
      description: 'Answers while the process runs; never touches the database.',
      security: SECURITY.none,
      querystring: NoQuery,
      response: { 200: Type.Object({ status: Type.Literal('ok') }, { description: 'Alive' }), ...problemResponses(400, 406) },
    },
    handler: async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { status: 'ok' as const };
    },
  });

  app.get('/readyz', {
    config,
    schema: {
      operationId: 'getReadiness',
      tags,
      summary: 'Readiness',
      description: 'Checks the database and, when configured, Redis. 503 names the failing dependency.',
      security: SECURITY.none,
      querystring: NoQuery,
      response: {
        200: Type.Object(
          {
            status: Type.Literal('ready'),
            checks: Type.Record(Type.String(), Type.String()),
            queue: Type.Optional(
              Type.Object(
                {
                  lag_seconds: Type.Number({ description: 'Age of the oldest due background work item, in seconds (0 when none waits).' }),
                  depth: Type.Integer({ description: 'Background work items queued or running.' }),
                },
                { description: 'The background work queue shared by the workers.' },
              ),
            ),
          },
          { description: 'Ready' },
        ),
        ...problemResponses(400, 406, 503),
      },
    },
    handler: async (_request, reply) => {
      const { checks, failing } = await deps.readiness.check();
      reply.header('cache-control', 'no-store');
      if (failing.length > 0) {
        throw new AppError('SERVICE_UNAVAILABLE', `Not ready: ${failing.join(', ')} unavailable`, {
          extensions: { checks, failing },
          retryAfterSeconds: 5,
        });
      }
      const queue = deps.queueLag ? await deps.queueLag().catch(() => undefined) : undefined;
      return { status: 'ready' as const, checks, ...(queue ? { queue } : {}) };
    },
  });

  app.get('/metrics', {
    config: { ...config, produces: ['text/plain', 'application/openmetrics-text'] },
    schema: {
      operationId: 'getMetrics',
      tags,
      summary: 'Prometheus metrics',
      security: SECURITY.none,
      querystring: NoQuery,
      response: {
        200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } },
        ...problemResponses(400, 406),
      },
    },
    handler: async (_request, reply) => {
      reply.type(deps.metrics.contentType);
      return deps.metrics.metrics();
    },
  });

  const docs = loadErrorDocs();
  app.get('/problems/:slug', {
    config: { ...config, produces: ['text/html'] },
    schema: { hide: true, params: Type.Object({ slug: Type.String() }) },
    handler: async (request, reply) => {
      const code = codeFromSlug(request.params.slug);
      if (!code) throw new AppError('NOT_FOUND', 'No such problem type');
      const body = (docs.get(code) ?? '')
        .split(/\n\s*\n/)
        .map((p) => `<p>${escapeHtml(p)}</p>`)
        .join('\n');
      reply.type('text/html; charset=utf-8').header('cache-control', 'public, max-age=3600');
      return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${code}</title></head><body><h1>${escapeHtml(ERROR_CODES[code].title)}</h1><p><code>${code}</code> · HTTP ${ERROR_CODES[code].status} · gRPC ${ERROR_CODES[code].grpc}</p>${body}</body></html>`;
    },
  });
}

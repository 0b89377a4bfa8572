import type { FastifyInstance } from 'fastify';
import type { UsageRecorder } from '../../../platform/usage/index.ts';

/**
 * Counts every answered API request that has a caller, for GET /v1/usage: one
 * Map increment here; the recorder writes the counts in batches. Only versioned
 * requests count, so an unversioned request forwarded in-process counts once.
 */
export function registerUsageRecording(app: FastifyInstance, recorder: UsageRecorder, now: () => number): void {
  app.addHook('onResponse', (request, reply, done) => {
    const principal = request.principal;
    if (!principal || !request.versioned) return done();
    recorder.record({
      userId: principal.userId,
      apiKeyId: principal.apiKeyId,
      apiVersion: request.apiVersion,
      status: reply.statusCode,
      rateLimitPolicy: reply.statusCode === 429 ? request.rateLimit?.violated[0]?.name : undefined,
      at: now(),
    });
    done();
  });
}

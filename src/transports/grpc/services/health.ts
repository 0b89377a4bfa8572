import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { AppError } from '../../../domain/shared/errors.ts';
import type { Readiness } from '../../../platform/health/index.ts';
import { HealthCheckResponse_ServingStatus as Status, type Health } from '../gen/grpc/health/v1/health_pb.ts';

/**
 * grpc.health.v1.Health from the health core: the overall status (`""`) and
 * each served service by its full name are SERVING while every readiness
 * probe answers (the database, Redis when configured) and NOT_SERVING while
 * one fails. Watch sends the status at once and again whenever it changes.
 */
export function healthService(readiness: Readiness, services: readonly string[], watchIntervalMs = 1_000): ServiceImpl<typeof Health> {
  const known = new Set(['', ...services]);
  const current = async () => ((await readiness.check()).ready ? Status.SERVING : Status.NOT_SERVING);
  return {
    async check(req) {
      if (!known.has(req.service)) throw new AppError('NOT_FOUND', `No service named "${req.service.slice(0, 200)}" is served here`);
      return { status: await current() };
    },
    async *watch(req, ctx: HandlerContext) {
      if (!known.has(req.service)) {
        // The protocol's answer for an unknown name: SERVICE_UNKNOWN, and the stream stays open (it may be registered later).
        yield { status: Status.SERVICE_UNKNOWN };
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        return;
      }
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const status = await current();
        if (status !== last) {
          last = status;
          yield { status };
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, watchIntervalMs);
          ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    },
  };
}

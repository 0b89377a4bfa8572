import { lookup } from 'node:dns/promises';
import type { WebhookDispatcher, WebhookSender, WebhookTargetChecker, WebhooksService } from '../domain/webhooks/index.ts';
import type { PeriodicWork, WorkHandler, WorkQueue } from '../platform/jobs/index.ts';
import type { Resolver, TargetGuard } from '../platform/webhooks/index.ts';
import type { Transactor } from '../domain/shared/transactor.ts';
import { postToTarget } from '../infra/http/outbound.ts';

export const WEBHOOK_DELIVER_KIND = 'webhook.deliver';

/** The system resolver: every address of a name, as the OS answers it. */
export const systemResolver: Resolver = async (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Webhook attempts as queue items: one per delivery (unique), grouped by endpoint for the per-endpoint bound. */
export function createWebhookDispatcher(queue: WorkQueue, transactor: Transactor, wake: () => void): WebhookDispatcher {
  // Workers in this process look at once, after the commit that made the work visible.
  const poke = () => transactor.afterCommit(wake);
  const key = (deliveryId: string) => `whd:${deliveryId}`;
  return {
    async schedule(delivery, now) {
      await queue.enqueue({ kind: WEBHOOK_DELIVER_KIND, uniqueKey: key(delivery.id), groupKey: delivery.endpointId, payload: { delivery_id: delivery.id }, runAt: now }, now);
      poke();
    },
    async retryNow(deliveryId, now) {
      await queue.wake({ uniqueKey: key(deliveryId) }, now);
      poke();
    },
    async resume(endpointId, now) {
      await queue.wake({ groupKey: endpointId, kind: WEBHOOK_DELIVER_KIND, state: 'parked' }, now);
      poke();
    },
  };
}

/** Registration-time URL checks: a name that does not resolve now is accepted (it is checked again at every attempt). */
export function createTargetChecker(guard: TargetGuard): WebhookTargetChecker {
  return {
    async check(url) {
      const checked = await guard.check(url);
      if (checked.ok || checked.reason === 'unresolvable') return { ok: true };
      return { ok: false, code: checked.reason === 'forbidden_address' ? 'forbidden_address' : 'invalid_value', message: checked.message };
    },
  };
}

/** Every attempt: resolve once, check every address, connect to the checked one, no redirects. */
export function createWebhookSender(guard: TargetGuard, timeoutMs: () => number): WebhookSender {
  return {
    async send(url, headers, body) {
      const checked = await guard.check(url);
      if (!checked.ok) return { status: null, latencyMs: 0, error: `${checked.reason}: ${checked.message}` };
      return postToTarget(checked.target, headers, body, timeoutMs());
    },
  };
}

export function webhookWork(webhooks: WebhooksService, everyMs: number): { handlers: Record<string, WorkHandler>; periodic: PeriodicWork[] } {
  return {
    handlers: {
      [WEBHOOK_DELIVER_KIND]: async (item) => {
        const outcome = await webhooks.attempt(String(item.payload.delivery_id));
        return outcome;
      },
    },
    periodic: [{ name: 'webhooks.fanout', everyMs, run: async () => void (await webhooks.fanOut()) }],
  };
}

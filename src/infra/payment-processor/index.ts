import type { ChargesService, InboundHeaders, ProcessorWebhookVerifier } from '../../domain/charges/index.ts';
import type { ProcessorGateway } from './payment-processor.client.ts';
import { startPaymentProcessor, type RunningProcessor } from './payment-processor.server.ts';
import { verify } from './standard-webhooks.ts';

export { createProcessorGateway, type ProcessorGateway } from './payment-processor.client.ts';
export { startPaymentProcessor, type RunningProcessor } from './payment-processor.server.ts';
export * as standardWebhooks from './standard-webhooks.ts';

export const WEBHOOK_PATH = '/v1/webhooks/payment-processor';

/** Verifies the processor's deliveries as Standard Webhooks signed with `secret`, against `clock`. */
export function createProcessorWebhookVerifier(secret: string, clock: { now(): Date }): ProcessorWebhookVerifier {
  const first = (headers: InboundHeaders, name: string) => {
    const value = headers[name];
    return typeof value === 'string' ? value : value?.[0];
  };
  return {
    verify(rawBody, headers) {
      const id = first(headers, 'webhook-id');
      const signed = { id, timestamp: first(headers, 'webhook-timestamp'), signature: first(headers, 'webhook-signature') };
      const refused = verify(secret, signed, rawBody, Math.floor(clock.now().getTime() / 1000));
      return refused === null ? { webhookId: id! } : { refused };
    },
  };
}

export interface ProcessorSettings {
  processorUrl: string | undefined;
  latencyMs: number;
  slowMs: number;
  webhookSecret: string;
  publicUrl: string;
}

export interface AttachedProcessor {
  /** The in-process processor, when Stoa runs its own. */
  processor: RunningProcessor | undefined;
  close(): Promise<void>;
}

/**
 * Connects Stoa to its payment processor once Stoa listens at `stoaUrl`:
 * the configured STOA_PROCESSOR_URL (outcomes to STOA_PUBLIC_URL), or a
 * processor started in this process on an ephemeral port (outcomes to
 * `stoaUrl`). Charges left pending are submitted again by the workers
 * (`charges.resubmit` in src/workers/), not here.
 */
export async function attachPaymentProcessor(
  // charges and clock are no longer used here (resubmission is the workers' work); still accepted for existing callers.
  deps: { gateway: ProcessorGateway; charges?: ChargesService; clock?: { now(): Date } },
  settings: ProcessorSettings,
  stoaUrl: string,
): Promise<AttachedProcessor> {
  const processor = settings.processorUrl
    ? undefined
    : await startPaymentProcessor({ latencyMs: settings.latencyMs, slowMs: settings.slowMs, webhookSecret: settings.webhookSecret });
  deps.gateway.connect({
    processorUrl: settings.processorUrl ?? processor!.url,
    callbackUrl: `${settings.processorUrl ? settings.publicUrl : stoaUrl}${WEBHOOK_PATH}`,
  });
  return {
    processor,
    async close() {
      await processor?.close();
    },
  };
}

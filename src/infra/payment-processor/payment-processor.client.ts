import type { Charge, PaymentGateway } from '../../domain/charges/index.ts';

export interface ProcessorEndpoints {
  /** Where the processor listens (`POST {url}/charges`). */
  processorUrl: string;
  /** Where the processor reports outcomes: Stoa's inbound webhook. */
  callbackUrl: string;
}

export interface ProcessorGateway extends PaymentGateway {
  /** Points the gateway at a processor; until then, charges wait (pending) for resubmission. */
  connect(endpoints: ProcessorEndpoints): void;
  readonly connected: boolean;
}

const ATTEMPTS = 6;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Stoa's side of the processor's HTTP boundary: submits charges, retrying transient failures (5xx, network) with backoff and jitter. */
export function createProcessorGateway(): ProcessorGateway {
  let endpoints: ProcessorEndpoints | undefined;
  return {
    get connected() {
      return endpoints !== undefined;
    },
    connect(next) {
      endpoints = next;
    },
    async submit(charge: Charge) {
      const target = endpoints;
      if (!target) return;
      const body = JSON.stringify({ id: charge.id, amount: charge.amount, currency: charge.currency, source: charge.source, callback_url: target.callbackUrl });
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        try {
          const res = await fetch(`${target.processorUrl}/charges`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer().catch(() => undefined);
          if (res.status < 500) return;
        } catch {
          // Network trouble: retry.
        }
        await sleep(100 * 2 ** attempt * (0.5 + Math.random() / 2));
      }
      throw new Error(`the payment processor did not accept charge ${charge.id}`);
    },
  };
}

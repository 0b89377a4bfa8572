import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signedHeaders } from './standard-webhooks.ts';

export interface ProcessorOptions {
  /** How long deciding a charge takes. */
  latencyMs: number;
  /** How long `tok_slow` takes. */
  slowMs: number;
  /** Signs the outcome webhooks. */
  webhookSecret: string;
  host?: string;
  port?: number;
  /** How many first attempts of a `tok_error` charge fail with 503. */
  transientFailures?: number;
}

export interface RunningProcessor {
  url: string;
  close(): Promise<void>;
}

interface ChargeRequest {
  id: string;
  amount: number;
  currency: string;
  source: string;
  callback_url: string;
}

type Verdict = { status: 'succeeded'; failure_code: null } | { status: 'failed'; failure_code: string };

/** The card tokens and what they do (Stripe's test tokens in spirit). */
function decide(source: string): Verdict {
  switch (source) {
    case 'tok_declined':
      return { status: 'failed', failure_code: 'card_declined' };
    case 'tok_insufficient_funds':
      return { status: 'failed', failure_code: 'insufficient_funds' };
    default:
      return { status: 'succeeded', failure_code: null };
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A simulated payment processor behind its own HTTP boundary: `POST /charges`
 * accepts a charge (202), decides it by card token after a delay, and reports
 * the outcome to the charge's `callback_url` as a Standard-Webhooks-signed
 * event, redelivering with backoff until it gets a 2xx. The webhook-id is
 * derived from the charge, so every report of one charge — redeliveries, or a
 * resubmission after a crash — carries the same id.
 */
export async function startPaymentProcessor(options: ProcessorOptions): Promise<RunningProcessor> {
  const transientFailures = options.transientFailures ?? 2;
  const attempts = new Map<string, number>();
  const accepted = new Set<string>();
  const timers = new Set<AbortController>();
  let closed = false;

  const deliver = async (charge: ChargeRequest, verdict: Verdict) => {
    const body = JSON.stringify({
      type: `charge.${verdict.status}`,
      timestamp: new Date().toISOString(),
      data: { charge_id: charge.id, status: verdict.status, failure_code: verdict.failure_code, amount: charge.amount, currency: charge.currency },
    });
    const id = `msg_${charge.id}`;
    for (let attempt = 0; attempt < 10 && !closed; attempt++) {
      try {
        const res = await fetch(charge.callback_url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signedHeaders(options.webhookSecret, id, Math.floor(Date.now() / 1000), body) },
          body,
          signal: AbortSignal.timeout(15_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok || res.status === 410) return;
      } catch {
        // Unreachable: back off and retry.
      }
      await sleep(Math.min(200 * 2 ** attempt, 10_000) * (0.5 + Math.random() / 2));
    }
  };

  const process = async (charge: ChargeRequest) => {
    await sleep(charge.source === 'tok_slow' ? options.slowMs : options.latencyMs);
    if (closed) return;
    await deliver(charge, decide(charge.source));
    accepted.delete(charge.id);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'POST' || request.url !== '/charges') return reply(404, { error: 'not_found' });
    let charge: ChargeRequest;
    try {
      charge = JSON.parse(await readBody(request)) as ChargeRequest;
    } catch {
      return reply(400, { error: 'invalid_json' });
    }
    if (typeof charge?.id !== 'string' || typeof charge.source !== 'string' || typeof charge.callback_url !== 'string') {
      return reply(400, { error: 'invalid_request' });
    }
    if (charge.source === 'tok_error') {
      const seen = (attempts.get(charge.id) ?? 0) + 1;
      attempts.set(charge.id, seen);
      if (seen <= transientFailures) return reply(503, { error: 'temporarily_unavailable' });
    }
    // A charge already being processed is not processed twice.
    if (!accepted.has(charge.id)) {
      accepted.add(charge.id);
      void process(charge).catch(() => accepted.delete(charge.id));
    }
    return reply(202, { id: charge.id, status: 'processing' });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    async close() {
      closed = true;
      for (const timer of timers) timer.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedTarget } from '../../platform/webhooks/target-guard.ts';

export interface OutboundResult {
  /** The response status, or null when no response came (timeout, refused connection, …). */
  status: number | null;
  latencyMs: number;
  /** Why the attempt failed without a response. */
  error: string | null;
}

/** At most this much of a response body is read (and thrown away). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs `body` to a checked target, connecting to the address that was
 * checked whatever the host name resolves to now (the lookup is pinned; TLS
 * still verifies the host name). Redirects are not followed: a 3xx is an
 * answer like any other. Never throws.
 */
export function postToTarget(target: CheckedTarget, headers: Record<string, string>, body: string, timeoutMs: number): Promise<OutboundResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: OutboundResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const client = target.url.protocol === 'https:' ? https : http;
    const request = client.request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned,
        agent: false,
      },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) response.destroy();
        });
        const done = () => finish({ status: response.statusCode ?? null, latencyMs: elapsed(), error: null });
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      request.destroy(new Error(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('error', (error) => finish({ status: null, latencyMs: elapsed(), error: error.message.slice(0, 500) }));
    request.end(body);
  });
}

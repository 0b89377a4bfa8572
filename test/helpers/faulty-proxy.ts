import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  | { kind: 'pass' }
  /** Answer this status itself (the upstream never sees the request). */
  | { kind: 'status'; status: number; retryAfter?: string; body?: string; contentType?: string }
  /** Destroy the connection before forwarding (the upstream never sees it). */
  | { kind: 'reset' }
  /** Forward, let the upstream act, then destroy the connection instead of answering: a lost response. */
  | { kind: 'lose-response' }
  /** Wait, then forward. */
  | { kind: 'delay'; ms: number };

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  at: number;
  fault: Fault['kind'];
}

export interface FaultyProxy {
  url: string;
  /** Every request that reached the proxy, in order. */
  seen: SeenRequest[];
  /** Decides each request's fault (n counts from 0 over the proxy's life). */
  plan: (request: http.IncomingMessage, n: number) => Fault;
  /** Destroys every open connection (drops live streams). */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * A small fault-injecting HTTP proxy in front of a real, listening Stoa:
 * it answers 503/429 with Retry-After itself, resets connections, loses
 * responses after the upstream acted, delays, and drops live streams.
 */
export async function startFaultyProxy(upstream: string): Promise<FaultyProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  let count = 0;
  const proxy: FaultyProxy = {
    url: '',
    seen: [],
    plan: () => ({ kind: 'pass' }),
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  const forward = (request: http.IncomingMessage, response: http.ServerResponse, loseResponse: boolean) => {
    const outbound = http.request(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: { ...request.headers, host: target.host } },
      (answer) => {
        if (loseResponse) {
          // Read the whole answer (the upstream finished its work), then drop the client without a byte.
          answer.resume();
          answer.on('end', () => request.socket.destroy());
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
        response.on('close', () => answer.destroy());
      },
    );
    outbound.on('error', () => request.socket.destroy());
    request.pipe(outbound);
  };

  const server = http.createServer((request, response) => {
    const fault = proxy.plan(request, count++);
    proxy.seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, at: Date.now(), fault: fault.kind });
    switch (fault.kind) {
      case 'pass':
        return forward(request, response, false);
      case 'lose-response':
        return forward(request, response, true);
      case 'delay': {
        const timer = setTimeout(() => forward(request, response, false), fault.ms);
        request.socket.on('close', () => clearTimeout(timer));
        return;
      }
      case 'reset':
        request.resume();
        return request.socket.destroy();
      case 'status': {
        request.resume();
        const headers: Record<string, string> = { 'content-type': fault.contentType ?? 'application/problem+json', 'x-request-id': String(request.headers['x-request-id'] ?? 'proxy') };
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        const body = fault.body ?? JSON.stringify({ type: 'about:blank', title: 'Injected', status: fault.status, detail: 'injected by the test proxy', instance: request.url, code: fault.status === 429 ? 'RATE_LIMITED' : 'SERVICE_UNAVAILABLE', request_id: headers['x-request-id'] });
        response.writeHead(fault.status, headers).end(body);
        return;
      }
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

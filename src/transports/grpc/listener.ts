import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createContextValues } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { FastifyInstance } from 'fastify';
import type { GrpcConfig } from '../../config.ts';
import { kPeer } from './context.ts';
import type { Rpc } from './rpc.ts';

/** The largest message a call may send (an avatar chunk is 64 KiB; requests are small otherwise): larger ones are refused from their length prefix, unread. */
const READ_MAX_BYTES = 256 * 1024;

export interface GrpcListener {
  port: number;
  /** Stops accepting, ends server streams with UNAVAILABLE, lets unary calls finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The gRPC port: HTTP/2 (plaintext h2c, or TLS with ALPN when a certificate
 * is configured) serving gRPC — and Connect and gRPC-Web, from the same
 * handlers — for every service of `rpc`.
 */
export async function listenGrpc(rpc: Rpc, options: { port: number; host: string; config: GrpcConfig }): Promise<GrpcListener> {
  const handler = connectNodeAdapter({
    routes: (router) => rpc.routes(router),
    interceptors: rpc.interceptors,
    readMaxBytes: READ_MAX_BYTES,
    contextValues: (req) => createContextValues().set(kPeer, { address: req.socket.remoteAddress, forwardedFor: undefined }),
  });
  const { tlsCert, tlsKey } = options.config;
  const server =
    tlsCert && tlsKey
      ? http2.createSecureServer({ cert: readFileSync(tlsCert), key: readFileSync(tlsKey), allowHTTP1: true }, handler)
      : http2.createServer({}, handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      rpc.shutdownStreams();
      // GOAWAY: no new calls on open connections; calls in flight run to their end.
      for (const session of sessions) session.close();
      const timer = setTimeout(() => sessions.forEach((s) => s.destroy()), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Connect-protocol and gRPC-Web content types (and gRPC's, for Connect peers over HTTP/1.1). */
const RPC_MEDIA_TYPES = [
  'application/json',
  'application/proto',
  'application/connect+json',
  'application/connect+proto',
  'application/grpc-web',
  'application/grpc-web+proto',
  'application/grpc-web+json',
  'application/grpc-web-text',
  'application/grpc-web-text+proto',
  'application/grpc',
  'application/grpc+proto',
  'application/grpc+json',
];

/**
 * The same services for browsers on the HTTP port under `/rpc`: the Connect
 * protocol (`POST /rpc/stoa.v1.UserService/GetUser` with JSON) and gRPC-Web.
 * The route leaves authentication, rate limiting and bodies to the gRPC
 * interceptor and Connect, so every protocol runs the same stack.
 */
export function registerRpcRoutes(app: FastifyInstance, rpc: Rpc): void {
  const handler = connectNodeAdapter({
    routes: (router) => rpc.routes(router),
    interceptors: rpc.interceptors,
    readMaxBytes: READ_MAX_BYTES,
    requestPathPrefix: '/rpc',
    contextValues: (req) =>
      createContextValues().set(kPeer, { address: req.socket.remoteAddress, forwardedFor: header(req.headers['x-forwarded-for']), requestId: requestIds.get(req) }),
  });
  const requestIds = new WeakMap<object, string>();
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Connect reads the body itself, streaming.
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    scope.route({
      method: ['GET', 'POST'],
      url: '/rpc/*',
      config: { auth: 'none', produces: RPC_MEDIA_TYPES, rateLimit: false, idempotency: false },
      schema: { hide: true },
      handler(request, reply) {
        requestIds.set(request.raw, request.id);
        // Headers other hooks set (CORS, request id) travel on the raw response.
        for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value);
        reply.hijack();
        handler(request.raw, reply.raw);
      },
    });
  });
}

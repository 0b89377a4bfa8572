import { readFileSync } from 'node:fs';
import { createContextValues } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { GrpcConfig } from '../../config.ts';
import { kPeer } from './context.ts';
import { grpcJsService } from './grpc-js.ts';
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
 * The gRPC port: gRPC over HTTP/2 (plaintext h2c, or TLS when a certificate
 * is configured) for every service of `rpc`, served by @grpc/grpc-js through
 * the adapter (the same implementations and interceptors as Connect under
 * /rpc; grpc-js costs about a third less CPU per call than Connect-ES here,
 * bench/grpc.ts). Messages over 256 KiB are refused from their length prefix.
 */
export async function listenGrpc(rpc: Rpc, options: { port: number; host: string; config: GrpcConfig }): Promise<GrpcListener> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': READ_MAX_BYTES });
  for (const { service, impl } of rpc.services) {
    const { definition, handlers } = grpcJsService(service, impl, rpc.interceptors);
    server.addService(definition, handlers);
  }
  const { tlsCert, tlsKey } = options.config;
  const credentials =
    tlsCert && tlsKey ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(tlsCert), private_key: readFileSync(tlsKey) }], false) : grpc.ServerCredentials.createInsecure();
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${host}:${options.port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
  return {
    port,
    async close(graceMs = 10_000) {
      rpc.shutdownStreams();
      // Stops listening and sends GOAWAY: no new calls; calls in flight run to their end, up to graceMs.
      const timer = setTimeout(() => server.forceShutdown(), graceMs);
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
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

import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createContextValues, type HandlerContext, type Interceptor, type StreamRequest, type StreamResponse, type UnaryRequest, type UnaryResponse } from '@connectrpc/connect';
import * as grpc from '@grpc/grpc-js';
import { kPeer } from './context.ts';
import { LiteHeaders } from './lite-headers.ts';
import { StatusSchema } from './gen/google/rpc/status_pb.ts';

/**
 * Connect service implementations served by @grpc/grpc-js: one implementation
 * per method, whatever the protocol. Connect answers Connect and gRPC-Web
 * under /rpc; the gRPC port uses grpc-js, whose HTTP/2 framing costs about
 * a third less CPU per call (bench/grpc.ts). Each call runs the same
 * interceptors as on Connect, with a Connect-shaped request and handler
 * context built from the grpc-js call.
 */

type AnyRequest = UnaryRequest | StreamRequest;
type AnyResponse = UnaryResponse | StreamResponse;
type AnyFn = (req: AnyRequest) => Promise<AnyResponse>;
type Impl = (message: unknown, ctx: HandlerContext) => unknown;
type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

/** A Connect error as grpc-js's status: code, message, the error's metadata and `grpc-status-details-bin` (a google.rpc.Status), as Connect's gRPC protocol sends it. */
function statusOf(error: unknown): grpc.StatusObject {
  const failure = error instanceof ConnectError ? error : new ConnectError('internal error', Code.Internal);
  const metadata = new grpc.Metadata();
  failure.metadata.forEach((value, key) => metadata.set(key, value));
  if (failure.details.length > 0) {
    const status = create(StatusSchema, {
      code: failure.code,
      message: failure.rawMessage,
      details: failure.details.map((d) => ('desc' in d ? anyPack(d.desc, create(d.desc, d.value)) : { typeUrl: `type.googleapis.com/${d.type}`, value: d.value })),
    });
    metadata.set('grpc-status-details-bin', Buffer.from(toBinary(StatusSchema, status)));
  }
  return { code: failure.code as number as grpc.status, details: failure.rawMessage, metadata };
}

function headersOf(metadata: grpc.Metadata, deadlineAt: number): Headers {
  const header = new LiteHeaders();
  for (const [key, value] of Object.entries(metadata.getMap())) if (typeof value === 'string') header.set(key, value);
  // grpc-js takes `grpc-timeout` out of the metadata; the interceptor reads the deadline from it, as on the other protocols.
  if (Number.isFinite(deadlineAt)) header.set('grpc-timeout', `${Math.max(1, Math.ceil(deadlineAt - Date.now()))}m`);
  return header;
}

function metadataOf(header: Headers): grpc.Metadata {
  const metadata = new grpc.Metadata();
  header.forEach((value, key) => metadata.set(key, value));
  return metadata;
}

/** `127.0.0.1:5678` / `[::1]:5678` (grpc-js's peer) as the bare address. */
function peerAddress(peer: string): string {
  const colon = peer.lastIndexOf(':');
  if (colon < 0 || !/^\d+$/.test(peer.slice(colon + 1))) return peer;
  const host = peer.slice(0, colon);
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

async function* once<T>(value: T): AsyncGenerator<T> {
  yield value;
}

async function* normalized(output: DescMessage, source: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const message of source) yield create(output, message as never);
}

async function first<T>(source: AsyncIterable<T>): Promise<T> {
  for await (const value of source) return value;
  throw new ConnectError('protocol error: missing input message', Code.Unimplemented);
}

/** The client's messages of a client or bidi stream, read as the handler asks for them (grpc-js reads from the network on demand), without ending the call when the handler stops reading. */
function incoming(call: grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>): AsyncIterable<unknown> {
  return { [Symbol.asyncIterator]: () => call.iterator({ destroyOnReturn: false }) };
}

/** What the handler gets from `impl`, as Connect builds it: the call's messages in, the method's messages out. */
function implementation(method: DescMethod, impl: Impl, ctxOf: (req: AnyRequest) => HandlerContext): AnyFn {
  const output = method.output;
  const response = (req: AnyRequest, ctx: HandlerContext, stream: boolean, message: unknown) => ({ stream, message, method, service: req.service, header: ctx.responseHeader, trailer: ctx.responseTrailer }) as AnyResponse;
  switch (method.methodKind) {
    case 'unary':
      return async (req) => {
        const ctx = ctxOf(req);
        return response(req, ctx, false, create(output, (await impl(req.message, ctx)) as never));
      };
    case 'server_streaming':
      return async (req) => {
        const ctx = ctxOf(req);
        return response(req, ctx, true, normalized(output, impl(await first(req.message as AsyncIterable<unknown>), ctx) as AsyncIterable<unknown>));
      };
    case 'client_streaming':
      return async (req) => {
        const ctx = ctxOf(req);
        return response(req, ctx, true, once(create(output, (await impl(req.message, ctx)) as never)));
      };
    case 'bidi_streaming':
      return async (req) => {
        const ctx = ctxOf(req);
        return response(req, ctx, true, normalized(output, impl(req.message, ctx) as AsyncIterable<unknown>));
      };
  }
}

/** Writes a response stream to the call, waiting for the network when grpc-js asks to, until it ends or the client goes away. */
async function send(call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, messages: AsyncIterable<unknown>): Promise<void> {
  for await (const message of messages) {
    if (call.cancelled) return;
    if (!call.write(message)) await new Promise((resolve) => call.once('drain', resolve));
  }
}

/** One method of a Connect service implementation as a grpc-js handler, through `interceptors`. */
function handlerOf(service: DescService, method: DescMethod, impl: Impl, interceptors: readonly Interceptor[]) {
  const url = `/${service.typeName}/${method.name}`;
  const contexts = new WeakMap<AnyRequest, HandlerContext>();
  const ctxOf = (req: AnyRequest) => {
    const base = contexts.get(req)!;
    // The signal is an accessor of both (made on first use), so only the header and values can have been replaced.
    return base.requestHeader === req.header && base.values === req.contextValues ? base : { ...base, requestHeader: req.header, signal: req.signal, values: req.contextValues };
  };
  const invoke = interceptors.reduceRight<AnyFn>((next, interceptor) => interceptor(next as never) as AnyFn, implementation(method, impl, ctxOf));
  const streamingIn = method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming';

  return (call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => {
    const deadline = call.getDeadline();
    const deadlineAt = deadline instanceof Date ? deadline.getTime() : deadline;
    // The call's signal, made when something first asks for it (most unary calls never do).
    let controller: AbortController | undefined;
    let cancelled: ConnectError | undefined;
    const signal = () => {
      if (!controller) {
        controller = new AbortController();
        if (cancelled) controller.abort(cancelled);
      }
      return controller.signal;
    };
    // grpc-js has already answered a call whose deadline passed (DEADLINE_EXCEEDED); the handler learns it from its signal.
    // grpc-js also emits `cancelled` when the stream of a call it has answered closes: that one is not a cancellation.
    let answered = false;
    (call as grpc.ServerUnaryCall<unknown, unknown>).once('cancelled', () => {
      if (answered) return;
      cancelled = new ConnectError('cancelled', Date.now() >= deadlineAt ? Code.DeadlineExceeded : Code.Canceled);
      controller?.abort(cancelled);
    });
    const header = headersOf(call.metadata, deadlineAt);
    const values = createContextValues().set(kPeer, { address: peerAddress(call.getPeer()), forwardedFor: undefined });
    const ctx = {
      method,
      service,
      protocolName: 'grpc',
      requestMethod: 'POST',
      url,
      get signal() {
        return signal();
      },
      timeoutMs: () => (Number.isFinite(deadlineAt) ? deadlineAt - Date.now() : undefined),
      requestHeader: header,
      responseHeader: new LiteHeaders(),
      responseTrailer: new LiteHeaders(),
      values,
      abort: (reason?: unknown) => {
        signal();
        controller!.abort(reason);
      },
    } as HandlerContext;
    const message = streamingIn ? incoming(call as grpc.ServerReadableStream<unknown, unknown>) : method.methodKind === 'unary' ? (call as grpc.ServerUnaryCall<unknown, unknown>).request : once((call as grpc.ServerWritableStream<unknown, unknown>).request);
    const req = {
      stream: method.methodKind !== 'unary',
      message,
      method,
      service,
      requestMethod: 'POST',
      url,
      get signal() {
        return signal();
      },
      header,
      contextValues: values,
    } as AnyRequest;
    contexts.set(req, ctx);
    const trailerOf = (res: AnyResponse) => (res.trailer.keys().next().done === true ? undefined : metadataOf(res.trailer));

    if (callback) {
      // Unary and client streaming: one answer.
      invoke(req)
        .then(async (res) => {
          const answer = res.stream ? await first(res.message) : res.message;
          call.sendMetadata(metadataOf(res.header));
          answered = true;
          callback(null, answer, trailerOf(res));
        })
        .catch((error: unknown) => {
          answered = true;
          callback(statusOf(error));
        });
      return;
    }
    const stream = call as grpc.ServerWritableStream<unknown, unknown>;
    invoke(req)
      .then(async (res) => {
        stream.sendMetadata(metadataOf(res.header));
        await send(stream, res.message as AsyncIterable<unknown>);
        answered = true;
        stream.end(trailerOf(res));
      })
      .catch((error: unknown) => {
        answered = true;
        stream.emit('error', statusOf(error));
      });
  };
}

const serializer = (schema: DescMessage) => (value: unknown) => Buffer.from(toBinary(schema, value as never));
const deserializer = (schema: DescMessage) => (bytes: Buffer) => fromBinary(schema, bytes);

/** A grpc-js service definition and its handlers for the methods `impl` (a Connect implementation) has, through `interceptors`; grpc-js answers the others UNIMPLEMENTED. */
export function grpcJsService(service: DescService, impl: object, interceptors: readonly Interceptor[]): { definition: grpc.ServiceDefinition; handlers: grpc.UntypedServiceImplementation } {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const fn = (impl as Record<string, unknown>)[method.localName];
    if (typeof fn !== 'function') continue;
    definition[method.name] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
    };
    handlers[method.name] = handlerOf(service, method, (fn as Impl).bind(impl), interceptors) as grpc.UntypedHandleCall;
  }
  return { definition, handlers };
}

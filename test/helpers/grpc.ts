import { create, createRegistry, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema, type BadRequest, type ErrorInfo, type RetryInfo } from '../../src/transports/grpc/gen/google/rpc/error_details_pb.ts';
import { StatusSchema } from '../../src/transports/grpc/gen/google/rpc/status_pb.ts';
import { listenGrpc, type GrpcListener } from '../../src/transports/grpc/listener.ts';
import type { TestApp } from './app.ts';

/** A method's request and response types from its descriptor. */
type In<M extends DescMethod> = MessageInitShape<M['input']>;
type Out<M extends DescMethod> = MessageShape<M['output']>;

const serializer =
  <D extends DescMessage>(schema: D) =>
  (value: MessageInitShape<D>) =>
    Buffer.from(toBinary(schema, create(schema, value)));
const deserializer =
  <D extends DescMessage>(schema: D) =>
  (bytes: Buffer) =>
    fromBinary(schema, bytes);
const pathOf = (method: DescMethod) => `/${method.parent.typeName}/${method.name}`;

/** A @grpc/grpc-js client (the reference implementation, over the network) that speaks Stoa's generated message types. */
export class GrpcClient {
  readonly raw: grpc.Client;
  constructor(address: string, credentials = grpc.credentials.createInsecure()) {
    this.raw = new grpc.Client(address, credentials);
  }

  unary<M extends DescMethod>(method: M, input: In<M>, metadata: Record<string, string> = {}, options: grpc.CallOptions = {}): Promise<{ message: Out<M>; headers: grpc.Metadata }> {
    return new Promise((resolve, reject) => {
      let headers = new grpc.Metadata();
      const call = this.raw.makeUnaryRequest(pathOf(method), serializer(method.input), deserializer(method.output) as (b: Buffer) => Out<M>, input, toMetadata(metadata), options, (error, message) =>
        error ? reject(error) : resolve({ message: message!, headers }),
      );
      call.on('metadata', (m) => (headers = m));
    });
  }

  serverStream<M extends DescMethod>(method: M, input: In<M>, metadata: Record<string, string> = {}, options: grpc.CallOptions = {}): grpc.ClientReadableStream<Out<M>> {
    return this.raw.makeServerStreamRequest(pathOf(method), serializer(method.input), deserializer(method.output) as (b: Buffer) => Out<M>, input, toMetadata(metadata), options);
  }

  clientStream<M extends DescMethod>(method: M, metadata: Record<string, string>, callback: (error: grpc.ServiceError | null, message?: Out<M>) => void, options: grpc.CallOptions = {}): grpc.ClientWritableStream<In<M>> {
    return this.raw.makeClientStreamRequest(pathOf(method), serializer(method.input), deserializer(method.output) as (b: Buffer) => Out<M>, toMetadata(metadata), options, callback);
  }

  bidi<M extends DescMethod>(method: M, metadata: Record<string, string> = {}, options: grpc.CallOptions = {}): grpc.ClientDuplexStream<In<M>, Out<M>> {
    return this.raw.makeBidiStreamRequest(pathOf(method), serializer(method.input), deserializer(method.output) as (b: Buffer) => Out<M>, toMetadata(metadata), options);
  }

  close(): void {
    this.raw.close();
  }
}

function toMetadata(values: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(values)) metadata.set(key, value);
  return metadata;
}

/** A gRPC status as a test reads it: the code, and the google.rpc.Status details from grpc-status-details-bin. */
export interface Failure {
  code: grpc.status;
  message: string;
  metadata: grpc.Metadata;
  errorInfo: ErrorInfo | undefined;
  badRequest: BadRequest | undefined;
  retryInfo: RetryInfo | undefined;
  /** Every detail's type name, in order. */
  detailTypes: string[];
}

const detailRegistry = createRegistry(ErrorInfoSchema, BadRequestSchema, RetryInfoSchema);

export function failureOf(error: unknown): Failure {
  const e = error as grpc.ServiceError;
  if (typeof e?.code !== 'number' || !(e.metadata instanceof grpc.Metadata)) throw new Error(`not a gRPC status: ${String(error)}`);
  const bin = e.metadata.get('grpc-status-details-bin')[0];
  const status = bin ? fromBinary(StatusSchema, bin as Buffer) : undefined;
  const details = (status?.details ?? []).map((any) => anyUnpack(any, detailRegistry));
  const of = <T extends { $typeName: string }>(name: string) => details.find((d): d is never => d?.$typeName === name) as T | undefined;
  if (status && status.code !== e.code) throw new Error(`google.rpc.Status code ${status.code} differs from grpc-status ${e.code}`);
  return {
    code: e.code,
    message: e.details,
    metadata: e.metadata,
    errorInfo: of<ErrorInfo>('google.rpc.ErrorInfo'),
    badRequest: of<BadRequest>('google.rpc.BadRequest'),
    retryInfo: of<RetryInfo>('google.rpc.RetryInfo'),
    detailTypes: (status?.details ?? []).map((d) => d.typeUrl.replace(/^.*\//, '')),
  };
}

/** Awaits a call expected to fail and returns its status. */
export async function failure(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (error) {
    return failureOf(error);
  }
  throw new Error('the call succeeded; a failure was expected');
}

/** Every message of a server stream, or the stream's error. */
export function collect<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    stream.on('data', (item: T) => items.push(item));
    stream.on('error', reject);
    stream.on('end', () => resolve(items));
  });
}

/** Opens the gRPC port of a test app on an ephemeral port, with a client. */
export async function grpcOf(t: TestApp): Promise<{ listener: GrpcListener; client: GrpcClient; address: string; close(): Promise<void> }> {
  const listener = await listenGrpc(t.app.rpc, { port: 0, host: '127.0.0.1', config: t.config.grpc });
  const address = `127.0.0.1:${listener.port}`;
  const client = new GrpcClient(address);
  return {
    listener,
    client,
    address,
    async close() {
      client.close();
      await listener.close(1_000);
    },
  };
}

import { create, createFileRegistry, toBinary, type DescFile, type FileRegistry, type MessageInitShape } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import * as v1 from '../gen/grpc/reflection/v1/reflection_pb.ts';
import * as v1alpha from '../gen/grpc/reflection/v1alpha/reflection_pb.ts';

const NOT_FOUND = 5;

/** A file and everything it imports, each once, dependencies first: what a reflection client needs to build the schema. */
function withDependencies(file: DescFile, out: DescFile[] = [], seen = new Set<string>()): DescFile[] {
  if (seen.has(file.name)) return out;
  seen.add(file.name);
  for (const dependency of file.dependencies) withDependencies(dependency, out, seen);
  out.push(file);
  return out;
}

function fileOfSymbol(registry: FileRegistry, symbol: string): DescFile | undefined {
  const found = registry.get(symbol);
  if (found) return found.file;
  // A method (`pkg.Service.Method`) or field: look up its parent.
  const dot = symbol.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const parent = registry.get(symbol.slice(0, dot));
  if (parent?.kind === 'service') return parent.method[symbol.slice(dot + 1)] ? parent.file : undefined;
  if (parent?.kind === 'message') return parent.field[symbol.slice(dot + 1)] ? parent.file : undefined;
  return undefined;
}

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;
type Answer = MessageInitShape<typeof v1.ServerReflectionResponseSchema>['messageResponse'];

/** One answer of the reflection protocol, the same in v1 and v1alpha. */
function answer(registry: FileRegistry, services: readonly string[], request: Request): Answer {
  const files = (file: DescFile | undefined, what: string): Answer =>
    file
      ? { case: 'fileDescriptorResponse', value: { fileDescriptorProto: withDependencies(file).map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) } }
      : { case: 'errorResponse', value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } };
  const m = request.messageRequest;
  switch (m.case) {
    case 'listServices':
      return { case: 'listServicesResponse', value: { service: services.map((name) => ({ name })) } };
    case 'fileByFilename':
      return files(registry.getFile(m.value), `file ${m.value}`);
    case 'fileContainingSymbol':
      return files(fileOfSymbol(registry, m.value), `symbol ${m.value}`);
    case 'fileContainingExtension':
      return files(registry.getExtensionFor(registry.getMessage(m.value.containingType)!, m.value.extensionNumber)?.file, `extension ${m.value.extensionNumber} of ${m.value.containingType}`);
    case 'allExtensionNumbersOfType': {
      const message = registry.getMessage(m.value);
      if (!message) return { case: 'errorResponse', value: { errorCode: NOT_FOUND, errorMessage: `type ${m.value} not found` } };
      const numbers: number[] = [];
      for (const type of registry) if (type.kind === 'extension' && type.extendee.typeName === m.value) numbers.push(type.number);
      return { case: 'allExtensionNumbersResponse', value: { baseTypeName: m.value, extensionNumber: numbers } };
    }
    default:
      return { case: 'errorResponse', value: { errorCode: 3, errorMessage: 'empty reflection request' } };
  }
}

/**
 * gRPC server reflection, v1 and v1alpha (grpcurl, buf curl, Postman), from
 * the generated descriptors: the files of every served service with their
 * imports, so a client needs no .proto file.
 */
export function reflectionServices(files: readonly DescFile[], services: readonly string[]) {
  const all = new Map(files.flatMap((f) => withDependencies(f)).map((f) => [f.name, f]));
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...all.values()].map((f) => f.proto) }));
  const impl = <Req extends Request>(schema: typeof v1.ServerReflectionResponseSchema | typeof v1alpha.ServerReflectionResponseSchema) =>
    async function* serverReflectionInfo(requests: AsyncIterable<Req>) {
      for await (const request of requests) {
        yield create(schema, { validHost: request.host, originalRequest: request, messageResponse: answer(registry, services, request) } as never);
      }
    };
  return {
    v1: { serverReflectionInfo: impl<v1.ServerReflectionRequest>(v1.ServerReflectionResponseSchema) } as ServiceImpl<typeof v1.ServerReflection>,
    v1alpha: { serverReflectionInfo: impl<v1alpha.ServerReflectionRequest>(v1alpha.ServerReflectionResponseSchema) } as ServiceImpl<typeof v1alpha.ServerReflection>,
  };
}

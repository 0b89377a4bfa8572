import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type Serializer = (data: unknown) => string;
type SerializerCompiler = (route: { schema: unknown; method: string; url: string; httpStatus: string }) => Serializer;

/**
 * Fastify's own response serializers (fast-json-stringify), each built by the first response that needs it
 * rather than all of them at start: building them was a fifth of a start's CPU, for routes a process may
 * never answer.
 */
export function buildSerializerFactory() {
  const buildEager = SerializerSelector();
  return (externalSchemas: unknown, serializerOptions: unknown): SerializerCompiler => {
    const compile = buildEager(externalSchemas as never, serializerOptions as never) as unknown as SerializerCompiler;
    return (route) => {
      let serialize: Serializer | undefined;
      return (data) => (serialize ??= compile(route))(data);
    };
  };
}

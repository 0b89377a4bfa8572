import { buildSchema, GraphQLScalarType, isInterfaceType, isObjectType, Kind, type GraphQLSchema, type ValueNode } from 'graphql';
import { scalarError } from '../errors.ts';
import { mutationResolvers } from '../resolvers/mutation.ts';
import { objectResolvers } from '../resolvers/objects.ts';
import { subscriptionResolvers, type SubscriptionField } from '../resolvers/subscription.ts';
import { nodeTypeOf, queryResolvers } from '../resolvers/query.ts';
import type { Resolvers } from '../resolvers/support.ts';
import { TYPE_DEFS } from './type-defs.ts';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

function parseDateTime(value: unknown): string {
  if (typeof value !== 'string' || !RFC3339.test(value) || Number.isNaN(Date.parse(value))) {
    throw scalarError('must be an RFC 3339 date-time (2026-11-30T12:00:00Z)', typeof value === 'string' ? 'invalid_format' : 'invalid_type');
  }
  return value;
}

function parseLong(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw scalarError('must be an integer of at most 53 bits');
  return value;
}

function literal(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.INT:
      return Number(node.value);
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.STRING:
      return node.value;
    case Kind.BOOLEAN:
      return node.value;
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map(literal);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value)]));
    default:
      return undefined;
  }
}

const SCALARS: Record<string, Pick<GraphQLScalarType, 'serialize' | 'parseValue' | 'parseLiteral'>> = {
  DateTime: {
    serialize: (value: unknown) => (value instanceof Date ? value.toISOString() : String(value)),
    parseValue: parseDateTime,
    parseLiteral: (node: ValueNode) => parseDateTime(node.kind === Kind.STRING ? node.value : literal(node)),
  },
  Long: {
    serialize: (value: unknown) => Number(value),
    parseValue: parseLong,
    parseLiteral: (node: ValueNode) => parseLong(node.kind === Kind.INT ? Number(node.value) : literal(node)),
  },
  JSON: {
    serialize: (value: unknown) => value,
    parseValue: (value: unknown) => value,
    parseLiteral: (node: ValueNode) => literal(node),
  },
};

/** Puts resolvers, scalar behaviour and the Node type resolution on a schema built from SDL. */
function attach(schema: GraphQLSchema, resolvers: Resolvers, subscriptions: Record<string, Record<string, SubscriptionField>>): GraphQLSchema {
  for (const [typeName, fields] of Object.entries(subscriptions)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`subscriptions for ${typeName}, which is no object type`);
    for (const [fieldName, { subscribe, resolve }] of Object.entries(fields)) {
      const field = type.getFields()[fieldName];
      if (!field) throw new Error(`a subscription ${typeName}.${fieldName}, which the schema does not have`);
      Object.assign(field, { subscribe, resolve });
    }
  }
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`resolvers for ${typeName}, which is no object type`);
    const defined = type.getFields();
    for (const [fieldName, resolve] of Object.entries(fields)) {
      const field = defined[fieldName];
      if (!field) throw new Error(`a resolver for ${typeName}.${fieldName}, which the schema does not have`);
      field.resolve = resolve;
    }
  }
  for (const [name, behaviour] of Object.entries(SCALARS)) {
    const scalar = schema.getType(name);
    if (!(scalar instanceof GraphQLScalarType)) throw new Error(`no scalar ${name}`);
    Object.assign(scalar, behaviour);
  }
  // Connections carry `totalCount` and each edge its `cursor` as functions, run only when selected.
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    const fields = type.getFields();
    if (type.name.endsWith('Connection') && fields.totalCount) fields.totalCount.resolve = (connection: { totalCount: () => Promise<number> }) => connection.totalCount();
    if (type.name.endsWith('Edge') && fields.cursor) fields.cursor.resolve = (edge: { cursor: () => string }) => edge.cursor();
  }
  const node = schema.getType('Node');
  if (isInterfaceType(node)) node.resolveType = (value: { id?: unknown }) => nodeTypeOf(value);
  return schema;
}

/** The executable schema: SDL from `type-defs.ts`, resolvers from `resolvers/`. Built once per process. */
export function buildStoaSchema(): GraphQLSchema {
  return attach(buildSchema(TYPE_DEFS), { ...queryResolvers, ...mutationResolvers, ...objectResolvers }, subscriptionResolvers);
}

export { TYPE_DEFS };

import {
  getNamedType,
  GraphQLError,
  isLeafType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  isObjectType,
  isInterfaceType,
  typeFromAST,
  isCompositeType,
} from 'graphql';
import { CONNECTION_PAGE_MAX } from './connections.ts';

/** The limits a document must stay within before it runs (STOA_GRAPHQL_MAX_*). */
export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
}

const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/** The fields a selection set reaches, fragments inlined (each fragment at most once per path, so cycles end). */
function* fieldsOf(selectionSet: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, seen: ReadonlySet<string> = new Set()): Generator<FieldNode> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) yield selection;
    else if (selection.kind === Kind.INLINE_FRAGMENT) yield* fieldsOf(selection.selectionSet, fragments, seen);
    else {
      const name = selection.name.value;
      const fragment = fragments[name];
      if (fragment && !seen.has(name)) yield* fieldsOf(fragment.selectionSet, fragments, new Set([...seen, name]));
    }
  }
}

function fragmentsOf(context: ValidationContext): Record<string, FragmentDefinitionNode> {
  const out: Record<string, FragmentDefinitionNode> = {};
  for (const definition of context.getDocument().definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) out[definition.name.value] = definition;
  return out;
}

function depthOf(selectionSet: SelectionSetNode | undefined, fragments: Record<string, FragmentDefinitionNode>): number {
  if (!selectionSet) return 0;
  let deepest = 0;
  for (const field of fieldsOf(selectionSet, fragments)) {
    // Introspection is exempt (GraphiQL's own query is deeper than most limits).
    if (INTROSPECTION_FIELDS.has(field.name.value)) continue;
    deepest = Math.max(deepest, 1 + depthOf(field.selectionSet, fragments));
  }
  return deepest;
}

/** Refuses an operation nested deeper than `max` fields (the root field is 1): QUERY_TOO_DEEP. */
export function depthLimitRule(max: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const depth = depthOf(operation.selectionSet, fragmentsOf(context));
      if (depth > max) {
        context.reportError(
          new GraphQLError(`The query is ${depth} levels deep; at most ${max} are allowed`, { nodes: [operation], extensions: { code: 'QUERY_TOO_DEEP', depth, max_depth: max } }),
        );
      }
    },
  });
}

/** Refuses a document with more than `max` aliases (each alias is another resolution of a field): QUERY_TOO_COMPLEX. */
export function aliasLimitRule(max: number): ValidationRule {
  return (context) => {
    let aliases = 0;
    return {
      Field(field) {
        if (field.alias) aliases += 1;
      },
      Document: {
        leave(document) {
          if (aliases > max) {
            context.reportError(new GraphQLError(`The query uses ${aliases} aliases; at most ${max} are allowed`, { nodes: [document], extensions: { code: 'QUERY_TOO_COMPLEX', aliases, max_aliases: max } }));
          }
        },
      },
    };
  };
}

function isConnection(type: GraphQLOutputType): boolean {
  return getNamedType(type).name.endsWith('Connection');
}

function argumentValue(field: FieldNode, name: string, variables: Readonly<Record<string, unknown>>): number | undefined {
  const argument = field.arguments?.find((a) => a.name.value === name);
  if (!argument) return undefined;
  const value = argument.value;
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const given = variables[value.name.value];
    return typeof given === 'number' ? given : undefined;
  }
  return undefined;
}

/**
 * The cost of a selection set on `type`:
 * - a leaf field (scalar, enum) costs 0;
 * - any other field costs 1 plus what is under it;
 * - a connection costs 1, plus `n` times what one of its nodes costs (what is
 *   selected under `edges { node }` and `nodes`), where `n` is `first` or
 *   `last` (a connection given neither counts as the largest page, 100), plus
 *   1 for `totalCount` (one more query); `pageInfo` and cursors cost nothing.
 * Introspection costs nothing.
 */
function costOf(
  selectionSet: SelectionSetNode | undefined,
  type: GraphQLCompositeType,
  schema: GraphQLSchema,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Readonly<Record<string, unknown>>,
): number {
  if (!selectionSet) return 0;
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const narrowed = selection.typeCondition ? typeFromAST(schema, selection.typeCondition) : type;
      total += costOf(selection.selectionSet, isCompositeType(narrowed) ? narrowed : type, schema, fragments, variables);
      continue;
    }
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = fragments[selection.name.value];
      if (!fragment) continue;
      const narrowed = typeFromAST(schema, fragment.typeCondition);
      // Spreads of one fragment inside itself are refused by validation before the cost is taken.
      total += costOf(fragment.selectionSet, isCompositeType(narrowed) ? narrowed : type, schema, { ...fragments, [selection.name.value]: undefined as never }, variables);
      continue;
    }
    const name = selection.name.value;
    if (name.startsWith('__')) continue;
    const field: GraphQLField<unknown, unknown> | undefined = isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
    if (!field) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) {
      if (name === 'totalCount') total += 1;
      continue;
    }
    if (isConnection(field.type)) {
      const n = argumentValue(selection, 'first', variables) ?? argumentValue(selection, 'last', variables) ?? CONNECTION_PAGE_MAX;
      const { perNode, fixed } = connectionCost(selection.selectionSet, named as GraphQLObjectType, schema, fragments, variables);
      total += 1 + fixed + Math.max(0, n) * perNode;
    } else {
      total += 1 + costOf(selection.selectionSet, named as GraphQLCompositeType, schema, fragments, variables);
    }
  }
  return total;
}

/** What a connection's selection costs: per node (under `edges.node` and `nodes`), and once (`totalCount`). */
function connectionCost(
  selectionSet: SelectionSetNode | undefined,
  type: GraphQLObjectType,
  schema: GraphQLSchema,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Readonly<Record<string, unknown>>,
): { perNode: number; fixed: number } {
  let perNode = 0;
  let fixed = 0;
  if (!selectionSet) return { perNode, fixed };
  const nodeType = getNamedType(type.getFields().nodes?.type) as GraphQLCompositeType | undefined;
  for (const field of fieldsOf(selectionSet, fragments)) {
    const name = field.name.value;
    if (name === 'totalCount') fixed += 1;
    else if (name === 'nodes' && nodeType) perNode += costOf(field.selectionSet, nodeType, schema, fragments, variables);
    else if (name === 'edges' && field.selectionSet && nodeType) {
      for (const inner of fieldsOf(field.selectionSet, fragments)) {
        if (inner.name.value === 'node') perNode += costOf(inner.selectionSet, nodeType, schema, fragments, variables);
      }
    }
  }
  return { perNode, fixed };
}

/** The cost of running `operation` with `variables` (see `costOf`; docs/graphql.md gives the formula). */
export function operationCost(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: readonly FragmentDefinitionNode[], variables: Readonly<Record<string, unknown>>): number {
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  if (!root) return 0;
  return costOf(operation.selectionSet, root, schema, Object.fromEntries(fragments.map((f) => [f.name.value, f])), variables);
}

import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { openGraphqlWs } from '../../helpers/graphql.ts';
import type { Case, Operation } from '../case.ts';
import type { ContractWorld } from '../world.ts';
import type { Actor, CallOptions, Driver, Outcome } from './driver.ts';
import { beforeSentinel, CATCH_UP_MS, commitSentinels, listen, type FeedEvent } from './event-stream.ts';
import { channelSkip } from './rest.ts';

const USER = 'id displayName email role status plan emailVerifiedAt createdAt updatedAt';
const POST = 'id authorId title content likes createdAt updatedAt';
const COMMENT = 'id postId authorId content createdAt updatedAt';
const PRODUCT = 'id name description category price currency stock inStock createdAt updatedAt';
const ORDER = 'id userId status total currency createdAt updatedAt items { id orderId productId quantity unitPrice total currency createdAt }';
const CHARGE = 'id userId orderId amount currency source description status failureCode createdAt updatedAt';

interface Mapping {
  /** The document; `$input` takes the input (less what `args` names) in GraphQL's field names. */
  document: string;
  /** The root field whose value is the operation's data. */
  field: string;
  /** Input keys sent as arguments of their own (`id` → `$id`), not in `$input`. */
  args?: readonly string[];
  /** The data is a connection: its nodes. */
  nodes?: true;
  /** The data is a user (the public profile's null fields are absent, as REST leaves them out). */
  user?: true;
  /** The transport refuses the operation without a key. */
  keyRequired?: true;
}

/** The operations of the contract as GraphQL documents; `users.delete` has no mutation in the schema, `events.read` is a subscription (readEvents). */
const MAPPINGS: Record<Exclude<Operation, 'users.delete' | 'events.read'>, Mapping> = {
  'users.create': { document: `mutation($input: SignUpInput!) { data: signUp(input: $input) { ${USER} } }`, field: 'data', user: true },
  'users.get': { document: `query($id: ID!) { data: user(id: $id) { ${USER} } }`, field: 'data', args: ['id'], user: true },
  'users.update': { document: `mutation($id: ID!, $input: UpdateUserInput!) { data: updateUser(id: $id, input: $input) { ${USER} } }`, field: 'data', args: ['id'], user: true },
  'users.list': { document: `query { data: users(first: 100) { nodes { ${USER} } } }`, field: 'data', nodes: true },
  'posts.create': { document: `mutation($input: CreatePostInput!) { data: createPost(input: $input) { ${POST} } }`, field: 'data' },
  'posts.get': { document: `query($id: ID!) { data: post(id: $id) { ${POST} } }`, field: 'data', args: ['id'] },
  'posts.update': { document: `mutation($id: ID!, $input: UpdatePostInput!) { data: updatePost(id: $id, input: $input) { ${POST} } }`, field: 'data', args: ['id'] },
  'posts.delete': { document: 'mutation($id: ID!) { data: deletePost(id: $id) { deletedId } }', field: 'data', args: ['id'] },
  'comments.create': { document: `mutation($input: CreateCommentInput!) { data: createComment(input: $input) { ${COMMENT} } }`, field: 'data' },
  'comments.update': { document: `mutation($id: ID!, $input: UpdateCommentInput!) { data: updateComment(id: $id, input: $input) { ${COMMENT} } }`, field: 'data', args: ['id'] },
  'comments.delete': { document: 'mutation($id: ID!) { data: deleteComment(id: $id) { deletedId } }', field: 'data', args: ['id'] },
  'follows.create': { document: 'mutation($userId: ID!) { data: follow(userId: $userId) { user { id } } }', field: 'data', args: ['user_id'] },
  'follows.delete': { document: 'mutation($userId: ID!) { data: unfollow(userId: $userId) { user { id } } }', field: 'data', args: ['user_id'] },
  'products.create': { document: `mutation($input: CreateProductInput!) { data: createProduct(input: $input) { ${PRODUCT} } }`, field: 'data' },
  'orders.create': { document: `mutation($input: CreateOrderInput!, $key: String) { data: createOrder(input: $input, idempotencyKey: $key) { ${ORDER} } }`, field: 'data', keyRequired: true },
  'orders.get': { document: `query($id: ID!) { data: order(id: $id) { ${ORDER} } }`, field: 'data', args: ['id'] },
  'orders.update': { document: `mutation($id: ID!, $input: UpdateOrderStatusInput!) { data: updateOrderStatus(id: $id, input: $input) { ${ORDER} } }`, field: 'data', args: ['id'] },
  'orders.cancel': { document: `mutation($id: ID!) { data: cancelOrder(id: $id) { ${ORDER} } }`, field: 'data', args: ['id'] },
  'orders.list': { document: `query { data: orders(first: 100) { nodes { ${ORDER} } } }`, field: 'data', nodes: true },
  'charges.create': { document: `mutation($input: CreateChargeInput!, $key: String) { data: createCharge(input: $input, idempotencyKey: $key) { ${CHARGE} } }`, field: 'data', keyRequired: true },
  'charges.get': { document: `query($id: ID!) { data: charge(id: $id) { ${CHARGE} } }`, field: 'data', args: ['id'] },
  'charges.list': { document: `query { data: charges(first: 100) { nodes { ${CHARGE} } } }`, field: 'data', nodes: true },
};

/**
 * Cases GraphQL cannot express as the table writes them, each with the reason.
 * A GraphQL input type refuses an unknown field while it coerces the
 * variables, before any resolver runs, so the domain's own findings on the
 * other fields of the same input are never reached.
 */
const UNEXPRESSIBLE: Array<[Operation, string, string]> = [
  ['posts.create', 'names every failing field at once', 'an unknown input field is refused by the CreatePostInput type before the domain checks title and content'],
];

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function keysWith(value: unknown, rename: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => keysWith(v, rename));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), keysWith(v, rename)]));
}

/** A public profile's fields GraphQL answers as null and REST leaves out. */
const PRIVATE_USER_FIELDS = ['email', 'role', 'status', 'plan', 'email_verified_at', 'updated_at'];

function headersFor(actor: Actor): Record<string, string> {
  if (actor.credential === null) return {};
  if (actor.credential.type === 'access_token') return { authorization: `Bearer ${actor.credential.token}` };
  return { 'x-api-key': actor.credential.key };
}

const EVENTS = 'subscription($types: [String!], $after: String) { events(types: $types, after: $after) { id sequence type resourceType resourceId data createdAt } }';

/** An `error` message's first error (or a GraphQL result's) as an outcome. */
function failure(error: { extensions?: Record<string, unknown> }): Outcome {
  const { code, fields, ...details } = error.extensions ?? {};
  return {
    ok: false,
    code: String(code),
    fields: ((fields ?? []) as Array<{ field: string; code: string }>).map((f) => ({ field: f.field.split('.').map(snake).join('.'), code: f.code })),
    details,
  };
}

/**
 * `events.read` as the `events` subscription over graphql-transport-ws
 * (credentials on the upgrade), from `after`, read until the driver's
 * sentinels have passed (event-stream.ts).
 */
async function readEvents(world: ContractWorld, url: string, actor: Actor, input: Record<string, unknown>): Promise<Outcome> {
  const client = await openGraphqlWs(url, { headers: headersFor(actor) });
  try {
    await client.init();
    const id = 'read';
    client.subscribe(id, EVENTS, { after: String(input.after), ...(input.types ? { types: input.types } : {}) });
    const sentinels = await commitSentinels(world, actor, input);
    const events = () => client.data<{ events: Record<string, unknown> }>(id).map((d) => keysWith(d.events, snake) as FeedEvent);
    const ended = await client.next((m) => m.id === id && (m.type === 'error' || m.type === 'complete' || beforeSentinel(events(), sentinels) !== undefined), CATCH_UP_MS, 'an event about a sentinel');
    if (ended.type === 'error') return failure((ended.payload as Array<{ extensions?: Record<string, unknown> }>)[0]!);
    const data = beforeSentinel(events(), sentinels);
    if (data === undefined) throw new Error(`the subscription ended before its sentinels: ${JSON.stringify(ended)}`);
    return { ok: true, data };
  } finally {
    client.socket.close();
  }
}

/** GraphQL over POST /graphql (`events.read`: the events subscription over /graphql's WebSocket): errors[0].extensions become the code, field codes (snake_case paths) and details. */
export function graphqlDriver(): Driver {
  let app: FastifyInstance;
  let world: ContractWorld;
  let url: string;
  return {
    name: 'GraphQL',
    async setup(w: ContractWorld) {
      world = w;
      app = w.base.app;
      url = `${(await listen(w)).replace(/^http/, 'ws')}/graphql`;
    },
    skip(c: Case): string | undefined {
      if ([c, ...(c.given ?? []), ...(c.then ?? [])].some((s) => s.operation === 'users.delete')) return 'the GraphQL schema has no mutation deleting a user';
      if (c.operation === 'events.read' && c.actor === 'anonymous') return 'graphql-transport-ws closes a connection without credentials with 4403 at connection_init, before any operation: there is no registry code to compare';
      const channel = channelSkip(c, 'The events subscription');
      if (channel) return channel;
      return UNEXPRESSIBLE.find(([operation, name]) => operation === c.operation && name === c.name)?.[2];
    },
    async call(actor: Actor, operation: Operation, input: Record<string, unknown>, options: CallOptions = {}): Promise<Outcome> {
      if (operation === 'users.delete') throw new Error('GraphQL has no users.delete (skipped)');
      if (operation === 'events.read') return readEvents(world, url, actor, input);
      const mapping = MAPPINGS[operation];
      const variables: Record<string, unknown> = {};
      const rest = { ...input };
      for (const arg of mapping.args ?? []) {
        variables[camel(arg)] = rest[arg];
        delete rest[arg];
      }
      if (mapping.document.includes('$input')) variables.input = keysWith(rest, camel);
      if (mapping.keyRequired) variables.key = options.idempotencyKey ?? randomUUID();
      const res = await app.inject({
        method: 'POST',
        url: '/graphql',
        headers: { ...headersFor(actor), 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        payload: JSON.stringify({ query: mapping.document, variables }),
      });
      const body = res.json() as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: Record<string, unknown> }> };
      const error = body.errors?.[0];
      if (error) return failure(error);
      let data: unknown = body.data?.[mapping.field] ?? null;
      if (mapping.nodes) data = (data as { nodes: unknown[] }).nodes;
      data = keysWith(data, snake);
      if (mapping.user && data !== null && (data as Record<string, unknown>).email === null) {
        data = Object.fromEntries(Object.entries(data as Record<string, unknown>).filter(([k]) => !PRIVATE_USER_FIELDS.includes(k)));
      }
      return { ok: true, data };
    },
  };
}

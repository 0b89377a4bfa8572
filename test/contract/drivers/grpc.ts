import { toJson, type DescMethod } from '@bufbuild/protobuf';
import type { Case, Operation, Step } from '../case.ts';
import type { ContractWorld } from '../world.ts';
import type { Actor, Driver, Outcome } from './driver.ts';
import { collect, failureOf, GrpcClient } from '../../helpers/grpc.ts';
import { listenGrpc, type GrpcListener } from '../../../src/transports/grpc/listener.ts';
import { OrderService } from '../../../src/transports/grpc/gen/stoa/v1/orders_pb.ts';
import { UserService } from '../../../src/transports/grpc/gen/stoa/v1/users_pb.ts';

interface Mapping {
  method: DescMethod;
  /** The request message from the operation's canonical input (snake_case, as REST v2). */
  request(input: Record<string, unknown>): Record<string, unknown>;
  /** The field of the response holding the resource (or resources). */
  field: string;
  /** A server stream: the data is the field of every message, in order. */
  stream?: true;
}

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const camelKeys = (input: Record<string, unknown>) => Object.fromEntries(Object.entries(input).map(([k, v]) => [camel(k), v]));

/** The pagination core's canonical `limit`/`cursor` as the methods' `page_size`/`page_token`. */
const pageOf = (input: Record<string, unknown>) => ({ ...(input.limit === undefined ? {} : { pageSize: input.limit }), ...(input.cursor === undefined ? {} : { pageToken: input.cursor }) });

/** The operations of the contract gRPC exposes (PRODUCT.md §9); every other one is a skip with its reason. */
const MAPPINGS: Partial<Record<Operation, Mapping>> = {
  'users.create': { method: UserService.method.createUser, request: camelKeys, field: 'user' },
  'users.get': { method: UserService.method.getUser, request: (i) => ({ id: i.id }), field: 'user' },
  'users.delete': { method: UserService.method.deleteUser, request: (i) => ({ id: i.id }), field: 'deleted_id' },
  'users.list': { method: UserService.method.listUsers, request: (i) => pageOf(i), field: 'user', stream: true },
  'orders.get': { method: OrderService.method.getOrder, request: (i) => ({ id: i.id }), field: 'order' },
  'orders.list': { method: OrderService.method.listOrders, request: (i) => pageOf(i), field: 'orders' },
};

/** Cases protobuf's type system cannot express as the table writes them, each with the reason. */
const UNEXPRESSIBLE: Array<[Operation, string, string]> = [
  ['users.create', 'refuses a display_name that is a number', 'display_name is a protobuf string: a client cannot send a number there'],
  ['users.create', 'refuses a role', 'CreateUserRequest has no role field: a client cannot send one (protobuf drops unknown fields by its rules)'],
];

/** Money as a message ({amount_minor, currency}) back into the canonical amount + currency. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object' && 'amount_minor' in v) {
      out[key] = Number((v as { amount_minor: string }).amount_minor);
      out.currency = (v as { currency: string }).currency;
    } else out[key] = canonical(v);
  }
  return out;
}

function metadataFor(actor: Actor): Record<string, string> {
  if (actor.credential === null) return {};
  if (actor.credential.type === 'access_token') return { authorization: `Bearer ${actor.credential.token}` };
  return { 'x-api-key': actor.credential.key };
}

/**
 * gRPC through @grpc/grpc-js over the network: the status's ErrorInfo gives
 * the code and its metadata the details, BadRequest the failing fields, and
 * JSON with the proto field names gives the data.
 */
export function grpcDriver(): Driver {
  let listener: GrpcListener;
  let client: GrpcClient;
  return {
    name: 'gRPC',
    async setup(world: ContractWorld) {
      listener = await listenGrpc(world.base.app.rpc, { port: 0, host: '127.0.0.1', config: world.base.t.config.grpc });
      client = new GrpcClient(`127.0.0.1:${listener.port}`);
      const close = world.close;
      world.close = async () => {
        client.close();
        await listener.close(1_000);
        await close();
      };
    },
    skip(c: Case): string | undefined {
      if (c.operation === 'events.read') return 'gRPC has no general event feed: WatchOrder streams the changes of one order alone';
      const steps: Array<Pick<Step, 'operation'>> = [c, ...(c.given ?? []), ...(c.then ?? [])];
      const missing = steps.find((s) => !MAPPINGS[s.operation]);
      if (missing) return `gRPC does not expose ${missing.operation} (PRODUCT.md §9 lists its methods)`;
      return UNEXPRESSIBLE.find(([operation, name]) => operation === c.operation && name === c.name)?.[2];
    },
    async call(actor: Actor, operation: Operation, input: Record<string, unknown>): Promise<Outcome> {
      const mapping = MAPPINGS[operation]!;
      const field = (message: unknown) => (toJson(mapping.method.output, message as never, { useProtoFieldName: true }) as Record<string, unknown>)[mapping.field] ?? null;
      try {
        if (mapping.stream) {
          const messages = await collect(client.serverStream(mapping.method, mapping.request(input) as never, metadataFor(actor)));
          return { ok: true, data: canonical(messages.map(field)) };
        }
        const { message } = await client.unary(mapping.method, mapping.request(input) as never, metadataFor(actor));
        return { ok: true, data: canonical(field(message)) };
      } catch (error) {
        const f = failureOf(error);
        return {
          ok: false,
          code: f.errorInfo?.reason ?? `grpc:${f.code}`,
          fields: (f.badRequest?.fieldViolations ?? []).map((v) => ({ field: v.field, code: v.reason })),
          details: { ...f.errorInfo?.metadata },
        };
      }
    },
  };
}

import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { problemOf } from '../../helpers/app.ts';
import type { Case, Operation } from '../case.ts';
import type { ContractWorld } from '../world.ts';
import type { Actor, CallOptions, Driver, Outcome } from './driver.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Route {
  method: Method;
  /** `:key` takes `input[key]`; the route's own parameter is always `id`. */
  path: string;
  /** The transport refuses the operation without an Idempotency-Key. */
  keyRequired?: true;
  /** The request has no body: its input is all in the path. */
  bodiless?: true;
}

/** Every operation of the contract as a REST v2 request; `events.read` pages `GET /v2/events` (readEvents). */
const ROUTES: Record<Exclude<Operation, 'events.read'>, Route> = {
  'users.create': { method: 'POST', path: '/v2/users' },
  'users.get': { method: 'GET', path: '/v2/users/:id' },
  'users.update': { method: 'PATCH', path: '/v2/users/:id' },
  'users.delete': { method: 'DELETE', path: '/v2/users/:id', bodiless: true },
  'users.list': { method: 'GET', path: '/v2/users' },
  'posts.create': { method: 'POST', path: '/v2/posts' },
  'posts.get': { method: 'GET', path: '/v2/posts/:id' },
  'posts.update': { method: 'PATCH', path: '/v2/posts/:id' },
  'posts.delete': { method: 'DELETE', path: '/v2/posts/:id', bodiless: true },
  'comments.create': { method: 'POST', path: '/v2/posts/:post_id/comments' },
  'comments.update': { method: 'PATCH', path: '/v2/comments/:id' },
  'comments.delete': { method: 'DELETE', path: '/v2/comments/:id', bodiless: true },
  'follows.create': { method: 'PUT', path: '/v2/users/:user_id/followers/me', bodiless: true },
  'follows.delete': { method: 'DELETE', path: '/v2/users/:user_id/followers/me', bodiless: true },
  'products.create': { method: 'POST', path: '/v2/products' },
  'orders.create': { method: 'POST', path: '/v2/orders', keyRequired: true },
  'orders.get': { method: 'GET', path: '/v2/orders/:id' },
  'orders.update': { method: 'PATCH', path: '/v2/orders/:id' },
  'orders.cancel': { method: 'POST', path: '/v2/orders/:id/cancel', bodiless: true },
  'orders.list': { method: 'GET', path: '/v2/orders' },
  'charges.create': { method: 'POST', path: '/v2/charges', keyRequired: true },
  'charges.get': { method: 'GET', path: '/v2/charges/:id' },
  'charges.list': { method: 'GET', path: '/v2/charges' },
};

/** Members every problem has; the rest are the error's details. */
const PROBLEM_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance', 'code', 'request_id', 'errors']);

function headersFor(actor: Actor): Record<string, string> {
  if (actor.credential === null) return {};
  if (actor.credential.type === 'access_token') return { authorization: `Bearer ${actor.credential.token}` };
  return { 'x-api-key': actor.credential.key };
}

/** A problem document as an outcome; `renamed` maps a field name the transport uses to the contract's input key. */
export function problemOutcome(problem: Record<string, unknown>, renamed: Record<string, string> = {}): Outcome {
  const errors = (problem.errors ?? []) as Array<{ field: string; code: string }>;
  return {
    ok: false,
    code: String(problem.code),
    fields: errors.map((e) => ({ field: renamed[e.field] ?? e.field, code: e.code })),
    details: Object.fromEntries(Object.entries(problem).filter(([k]) => !PROBLEM_MEMBERS.has(k))),
  };
}

/** The contract's `types` is the query's comma-separated `type`. */
export const EVENT_FIELDS_RENAMED = { type: 'types' };

/** The event-feed cases a transport without channels cannot express (only WebSocket has `orders` and `posts:<user id>`). */
export function channelSkip(c: Case, transport: string): string | undefined {
  const channel = c.input?.channel;
  if (c.operation === 'events.read' && channel !== undefined && channel !== 'events') return `${transport} has no channels: it reads the whole feed, what WebSocket's events channel carries`;
  return undefined;
}

/**
 * `events.read` as `GET /v2/events`: newest first (`sort=-sequence`), page
 * after page until an event at or before `after`, then oldest first as the
 * feed reads.
 */
async function readEvents(app: FastifyInstance, actor: Actor, input: Record<string, unknown>): Promise<Outcome> {
  const after = input.after as number;
  const types = input.types as string[] | undefined;
  const seen: Array<{ sequence: number }> = [];
  let cursor: string | undefined;
  for (;;) {
    const query = { sort: '-sequence', limit: '100', ...(types ? { type: types.join(',') } : {}), ...(cursor ? { cursor } : {}) };
    const res = await app.inject({ method: 'GET', url: '/v2/events', headers: { ...headersFor(actor), accept: 'application/json' }, query });
    if (res.statusCode >= 300) return problemOutcome(problemOf(res), EVENT_FIELDS_RENAMED);
    const page = res.json() as { data: Array<{ sequence: number }>; pagination: { next_cursor?: string | null } };
    const newer = page.data.filter((e) => e.sequence > after);
    seen.push(...newer);
    cursor = page.pagination.next_cursor ?? undefined;
    if (newer.length < page.data.length || !cursor) return { ok: true, data: seen.reverse() };
  }
}

/** Fills the path from the input; the rest of the input is the body (or, for GET, the query). */
function request(route: Route, input: Record<string, unknown>) {
  const rest = { ...input };
  let pathParam: string | undefined;
  const url = route.path.replace(/:([a-z_]+)/g, (_, key: string) => {
    pathParam = key;
    const value = rest[key];
    delete rest[key];
    return encodeURIComponent(String(value));
  });
  return { url, rest, pathParam };
}

/** REST v2 over `app.inject`: problem documents become codes and field codes; `{data}` envelopes become data. */
export function restDriver(): Driver {
  let app: FastifyInstance;
  return {
    name: 'REST v2',
    async setup(world: ContractWorld) {
      app = world.base.app;
    },
    skip: (c) => channelSkip(c, 'REST'),
    async call(actor: Actor, operation: Operation, input: Record<string, unknown>, options: CallOptions = {}): Promise<Outcome> {
      if (operation === 'events.read') return readEvents(app, actor, input);
      const route = ROUTES[operation];
      const { url, rest, pathParam } = request(route, input);
      const key = options.idempotencyKey ?? (route.keyRequired ? randomUUID() : undefined);
      const headers = { ...headersFor(actor), ...(key === undefined ? {} : { 'idempotency-key': key }) };
      const res =
        route.method === 'GET'
          ? await app.inject({ method: 'GET', url, headers, query: Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)])) })
          : await app.inject({
              method: route.method,
              url,
              headers,
              ...(route.bodiless ? {} : { payload: rest }),
            });
      if (res.statusCode < 300) return { ok: true, data: res.statusCode === 204 ? null : res.json().data };
      // A path parameter is reported by its route name (`id`); the contract names it by its input key.
      return problemOutcome(problemOf(res), pathParam ? { id: pathParam } : {});
    },
  };
}

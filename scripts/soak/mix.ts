/**
 * The soak's traffic: weighted operations over REST, GraphQL and gRPC, each call
 * judged against the answers it may intend (429 and 503 are always intended:
 * the limiter and load shedding are allowed to refuse under load).
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { OrderService } from '../../src/transports/grpc/gen/stoa/v1/orders_pb.ts';
import { UserService } from '../../src/transports/grpc/gen/stoa/v1/users_pb.ts';
import type { GrpcClient } from '../../test/helpers/grpc.ts';

export interface Outcome {
  op: string;
  /** The HTTP status, `grpc:<CODE>`, or `error:<message>` when no answer came. */
  status: string;
  ms: number;
  intended: boolean;
  /** Why an answer is not intended, beyond its status. */
  detail?: string;
}

export interface Actor {
  id: string;
  email: string;
  auth: string;
  /** Recent posts of this actor (bounded), and everyone's orders it placed. */
  posts: string[];
  orders: string[];
}

export interface Fixture {
  url: string;
  grpc: GrpcClient;
  actors: Actor[];
  products: string[];
}

const ALWAYS_INTENDED = new Set([429, 503]);
const GRPC_INTENDED = new Set([grpc.status.OK, grpc.status.RESOURCE_EXHAUSTED, grpc.status.UNAVAILABLE]);
const WORDS = ['soak', 'steady', 'widget', 'flat', 'heap', 'market', 'coffee'];
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const KEEP_POSTS = 50;

interface Answer {
  outcome: Outcome;
  status: number;
  headers: Headers;
  body: string;
}

async function call(
  f: Fixture,
  op: string,
  path: string,
  expect: readonly number[],
  init: { method?: string; headers?: Record<string, string>; body?: unknown; auth?: string } = {},
): Promise<Answer> {
  const started = performance.now();
  const headers: Record<string, string> = { ...(init.auth ? { authorization: init.auth } : {}), ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(f.url + path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), signal: AbortSignal.timeout(30_000) });
    const body = await res.text();
    const ms = performance.now() - started;
    const intended = expect.includes(res.status) || ALWAYS_INTENDED.has(res.status);
    return { outcome: { op, status: String(res.status), ms, intended, ...(intended ? {} : { detail: body.slice(0, 300) }) }, status: res.status, headers: res.headers, body };
  } catch (error) {
    return { outcome: { op, status: `error:${(error as Error).message}`, ms: performance.now() - started, intended: false }, status: 0, headers: new Headers(), body: '' };
  }
}

/** An answer that had the right status but not the right content. */
function wrong(answer: Answer, detail: string): Outcome {
  return { ...answer.outcome, intended: false, detail };
}

function dataOf(answer: Answer): Record<string, unknown> & { id?: string } {
  return answer.status >= 200 && answer.status < 300 && answer.body ? ((JSON.parse(answer.body) as { data: Record<string, unknown> & { id?: string } }).data ?? {}) : {};
}

type Run = (f: Fixture, actor: Actor) => Promise<Outcome[]>;

/** Lists with cursors: a first page and the next one. */
const listWithCursor =
  (resource: 'posts' | 'products', query: string): Run =>
  async (f, actor) => {
    const first = await call(f, `GET /${resource}`, `/v2/${resource}?limit=20${query}`, [200], { auth: actor.auth });
    if (first.status !== 200) return [first.outcome];
    const next = (JSON.parse(first.body) as { pagination?: { next_cursor?: string | null } }).pagination?.next_cursor;
    if (!next) return [first.outcome];
    const second = await call(f, `GET /${resource} (cursor)`, `/v2/${resource}?limit=20${query}&cursor=${encodeURIComponent(next)}`, [200], { auth: actor.auth });
    return [first.outcome, second.outcome];
  };

/**
 * A single GET, then the same with If-None-Match: 304 with no body — or, for a
 * resource others change meanwhile (a product's stock moves with every order),
 * 200 with another ETag.
 */
const conditionalGet =
  (label: string, path: (f: Fixture, actor: Actor) => string | undefined, changes = false): Run =>
  async (f, actor) => {
    const target = path(f, actor);
    if (!target) return [];
    const first = await call(f, `GET ${label}`, target, [200, 404], { auth: actor.auth });
    const etag = first.headers.get('etag');
    if (first.status !== 200) return [first.outcome];
    if (!etag) return [wrong(first, 'no ETag on a 200')];
    const again = await call(f, `GET ${label} (If-None-Match)`, target, changes ? [304, 200, 404] : [304, 404], { auth: actor.auth, headers: { 'if-none-match': etag } });
    if (again.status === 304 && again.body !== '') return [first.outcome, wrong(again, '304 with a body')];
    if (again.status === 200 && again.headers.get('etag') === etag) return [first.outcome, wrong(again, '200 with the ETag that was sent in If-None-Match')];
    return [first.outcome, again.outcome];
  };

const search: Run = async (f, actor) => {
  const word = pick(WORDS);
  return [
    (await call(f, 'GET /posts?q=', `/v2/posts?q=${word}&limit=10`, [200], { auth: actor.auth })).outcome,
    (await call(f, 'GET /products?q=', `/v2/products?q=${word}&limit=10`, [200], { auth: actor.auth })).outcome,
  ];
};

/** POST with an Idempotency-Key; now and then the retry, which must replay the first answer. */
async function idempotentPost(f: Fixture, actor: Actor, op: string, path: string, body: unknown): Promise<{ outcomes: Outcome[]; created?: string }> {
  const key = randomUUID();
  const first = await call(f, op, path, [201], { method: 'POST', auth: actor.auth, body, headers: { 'idempotency-key': key } });
  const outcomes = [first.outcome];
  if (first.status === 201 && Math.random() < 0.2) {
    const retry = await call(f, `${op} (retry)`, path, [201], { method: 'POST', auth: actor.auth, body, headers: { 'idempotency-key': key } });
    if (retry.status !== 201) outcomes.push(retry.outcome);
    else if (retry.headers.get('idempotent-replayed') !== 'true' || dataOf(retry).id !== dataOf(first).id) outcomes.push(wrong(retry, 'a retry with the same key did not replay the first answer'));
    else outcomes.push(retry.outcome);
  }
  return { outcomes, created: dataOf(first).id };
}

const createPost: Run = async (f, actor) => {
  const { outcomes, created } = await idempotentPost(f, actor, 'POST /posts', '/v2/posts', { title: `${pick(WORDS)} ${randomUUID().slice(0, 8)}`, content: `${pick(WORDS)} ${pick(WORDS)} content` });
  if (created) {
    actor.posts.push(created);
    // Deleting the oldest keeps the table the size of a steady service, so memory that grows is the process's, not the data's.
    if (actor.posts.length > KEEP_POSTS) outcomes.push((await call(f, 'DELETE /posts/{id}', `/v2/posts/${actor.posts.shift()}`, [204], { method: 'DELETE', auth: actor.auth })).outcome);
  }
  return outcomes;
};

const createOrder: Run = async (f, actor) => {
  const { outcomes, created } = await idempotentPost(f, actor, 'POST /orders', '/v2/orders', { items: [{ product_id: pick(f.products), quantity: 1 }] });
  if (created) {
    actor.orders.push(created);
    if (actor.orders.length > KEEP_POSTS) actor.orders.shift();
  }
  return outcomes;
};

const createCharge: Run = async (f, actor) => (await idempotentPost(f, actor, 'POST /charges', '/v2/charges', { amount: 500, currency: 'EUR', source: 'tok_visa', description: 'soak' })).outcomes;

/** Refusals a client earns: a missing post, an invalid body, a key reused for another body. */
const refusals: Run = async (f, actor) => {
  const key = randomUUID();
  const outcomes = [
    (await call(f, 'GET /posts/{missing}', `/v2/posts/pst_${randomUUID().replace(/-/g, '').slice(0, 26)}`, [404], { auth: actor.auth })).outcome,
    (await call(f, 'POST /posts (invalid)', '/v2/posts', [400, 422], { method: 'POST', auth: actor.auth, body: { title: '', content: 'x' } })).outcome,
  ];
  const first = await call(f, 'POST /posts', '/v2/posts', [201], { method: 'POST', auth: actor.auth, body: { title: 'reused key', content: 'one' }, headers: { 'idempotency-key': key } });
  outcomes.push(first.outcome);
  const created = dataOf(first).id;
  if (created) {
    outcomes.push((await call(f, 'POST /posts (key reused)', '/v2/posts', [422], { method: 'POST', auth: actor.auth, body: { title: 'reused key', content: 'two' }, headers: { 'idempotency-key': key } })).outcome);
    outcomes.push((await call(f, 'DELETE /posts/{id}', `/v2/posts/${created}`, [204], { method: 'DELETE', auth: actor.auth })).outcome);
  }
  return outcomes;
};

const GRAPHQL_QUERY = `query Soak($q: String) {
  me { id displayName }
  posts(first: 5, q: $q) { nodes { id title author { id displayName } commentCount } pageInfo { hasNextPage endCursor } }
  products(first: 5) { nodes { id name price currency } }
  orders(first: 5) { nodes { id status } }
}`;

const graphqlQuery: Run = async (f, actor) => {
  const answer = await call(f, 'POST /graphql', '/graphql', [200], { method: 'POST', auth: actor.auth, body: { query: GRAPHQL_QUERY, variables: { q: Math.random() < 0.5 ? pick(WORDS) : null } } });
  if (answer.status !== 200) return [answer.outcome];
  const errors = (JSON.parse(answer.body) as { errors?: Array<{ message: string; extensions?: { code?: string } }> }).errors;
  // A GraphQL refusal to overload or the limiter travels as an error in a 200.
  const refused = errors?.every((e) => ['RATE_LIMITED', 'OVERLOADED', 'SERVICE_UNAVAILABLE'].includes(e.extensions?.code ?? ''));
  return [errors && !refused ? wrong(answer, `errors: ${JSON.stringify(errors).slice(0, 300)}`) : answer.outcome];
};

async function grpcCall(op: string, run: () => Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  try {
    await run();
    return { op, status: 'grpc:OK', ms: performance.now() - started, intended: true };
  } catch (error) {
    const e = error as grpc.ServiceError;
    const status = typeof e.code === 'number' ? `grpc:${grpc.status[e.code]}` : `error:${e.message}`;
    const intended = typeof e.code === 'number' && GRPC_INTENDED.has(e.code);
    return { op, status, ms: performance.now() - started, intended, ...(intended ? {} : { detail: e.details ?? e.message }) };
  }
}

const grpcCalls: Run = async (f, actor) => {
  const metadata = { authorization: actor.auth };
  const deadline = () => ({ deadline: new Date(Date.now() + 30_000) });
  const outcomes = [
    await grpcCall('gRPC GetUser', () => f.grpc.unary(UserService.method.getUser, { id: actor.id }, metadata, deadline())),
    await grpcCall('gRPC ListOrders', () => f.grpc.unary(OrderService.method.listOrders, { pageSize: 10 }, metadata, deadline())),
  ];
  const order = actor.orders.at(-1);
  if (order) outcomes.push(await grpcCall('gRPC GetOrder', () => f.grpc.unary(OrderService.method.getOrder, { id: order }, metadata, deadline())));
  return outcomes;
};

/** The mix, by weight: mostly reads, a fifth writes. */
export const MIX: ReadonlyArray<{ name: string; weight: number; run: Run }> = [
  { name: 'posts list + cursor', weight: 14, run: listWithCursor('posts', '') },
  { name: 'products list + cursor', weight: 8, run: listWithCursor('products', '&in_stock=true') },
  { name: 'post GET + ETag', weight: 12, run: conditionalGet('/posts/{id}', (f) => postPath(f)) },
  { name: 'order GET + ETag', weight: 6, run: conditionalGet('/orders/{id}', (_f, actor) => (actor.orders.length ? `/v2/orders/${pick(actor.orders)}` : undefined)) },
  { name: 'product GET + ETag', weight: 6, run: conditionalGet('/products/{id}', (f) => `/v2/products/${pick(f.products)}`, true) },
  { name: 'search', weight: 8, run: search },
  { name: 'create post', weight: 8, run: createPost },
  { name: 'create order', weight: 5, run: createOrder },
  { name: 'create charge', weight: 4, run: createCharge },
  { name: 'refusals', weight: 3, run: refusals },
  { name: 'graphql', weight: 10, run: graphqlQuery },
  { name: 'grpc', weight: 10, run: grpcCalls },
];

/** Someone's latest post: recent enough to exist, mostly. */
function postPath(f: Fixture): string | undefined {
  const id = pick(f.actors).posts.at(-1);
  return id ? `/v2/posts/${id}` : undefined;
}

const TOTAL_WEIGHT = MIX.reduce((s, op) => s + op.weight, 0);

/** One operation of the mix, drawn by weight, for a random actor. */
export function nextOperation(f: Fixture): () => Promise<Outcome[]> {
  let r = Math.random() * TOTAL_WEIGHT;
  const op = MIX.find((o) => (r -= o.weight) < 0) ?? MIX[0]!;
  const actor = pick(f.actors);
  return () => op.run(f, actor);
}

import type { ApiVersion } from './generated/index.ts';
import { openEventStream, type EventStream, type EventStreamOptions } from './event-stream.ts';
import { expandPath, send, type RequestOptions, type StoaResponse, type TransportConfig } from './http.ts';
import { pageRequest, type PageRequest, type Pagination } from './pagination.ts';
import type { Input, Item, Output, Query } from './types.ts';

type Result<T> = Promise<StoaResponse<T>>;
/** Options of a call that reads one resource: `query` takes its `fields`/`include` and the like. */
export type GetOptions<Q> = RequestOptions & { query?: Q };

export interface AuthApi<V extends ApiVersion> {
  /** Email and password → access and refresh tokens (pass the access token as `accessToken`, e.g. with `stoa.withOptions`). */
  login(input: Input<V, '/auth/login', 'post'>, options?: RequestOptions): Result<Output<V, '/auth/login', 'post'>>;
  refresh(input: Input<V, '/auth/refresh', 'post'>, options?: RequestOptions): Result<Output<V, '/auth/refresh', 'post'>>;
  logout(input: Input<V, '/auth/logout', 'post'>, options?: RequestOptions): Result<undefined>;
}

export interface UsersApi<V extends ApiVersion> {
  list(query?: Query<V, '/users'>, options?: RequestOptions): PageRequest<Item<V, '/users'>>;
  /** Sign-up. */
  create(input: Input<V, '/users', 'post'>, options?: RequestOptions): Result<Output<V, '/users', 'post'>>;
  get(id: string, options?: GetOptions<Query<V, '/users/{id}'>>): Result<Output<V, '/users/{id}', 'get'>>;
  /** The signed-in user. */
  me(options?: GetOptions<Query<V, '/me'>>): Result<Output<V, '/me', 'get'>>;
  replace(id: string, input: Input<V, '/users/{id}', 'put'>, options?: RequestOptions): Result<Output<V, '/users/{id}', 'put'>>;
  update(id: string, patch: Input<V, '/users/{id}', 'patch'>, options?: RequestOptions): Result<Output<V, '/users/{id}', 'patch'>>;
  delete(id: string, options?: RequestOptions): Result<undefined>;
  verifyEmail(id: string, input?: Input<V, '/users/{id}/verify-email', 'post'>, options?: RequestOptions): Result<Output<V, '/users/{id}/verify-email', 'post'>>;
  followers(id: string, query?: Query<V, '/users/{id}/followers'>, options?: RequestOptions): PageRequest<Item<V, '/users/{id}/followers'>>;
  following(id: string, query?: Query<V, '/users/{id}/following'>, options?: RequestOptions): PageRequest<Item<V, '/users/{id}/following'>>;
  follow(id: string, options?: RequestOptions): Result<undefined>;
  unfollow(id: string, options?: RequestOptions): Result<undefined>;
  posts(id: string, query?: Query<V, '/users/{id}/posts'>, options?: RequestOptions): PageRequest<Item<V, '/users/{id}/posts'>>;
  orders(id: string, query?: Query<V, '/users/{id}/orders'>, options?: RequestOptions): PageRequest<Item<V, '/users/{id}/orders'>>;
}

export interface ApiKeysApi<V extends ApiVersion> {
  /** The answer carries the secret, once. */
  create(input: Input<V, '/api-keys', 'post'>, options?: RequestOptions): Result<Output<V, '/api-keys', 'post'>>;
  list(query?: Query<V, '/api-keys'>, options?: RequestOptions): PageRequest<Item<V, '/api-keys'>>;
  get(id: string, options?: GetOptions<Query<V, '/api-keys/{id}'>>): Result<Output<V, '/api-keys/{id}', 'get'>>;
  update(id: string, patch: Input<V, '/api-keys/{id}', 'patch'>, options?: RequestOptions): Result<Output<V, '/api-keys/{id}', 'patch'>>;
  /** Revokes the key. */
  delete(id: string, options?: RequestOptions): Result<undefined>;
  revoke(id: string, options?: RequestOptions): Result<undefined>;
}

export interface PostsApi<V extends ApiVersion> {
  list(query?: Query<V, '/posts'>, options?: RequestOptions): PageRequest<Item<V, '/posts'>>;
  create(input: Input<V, '/posts', 'post'>, options?: RequestOptions): Result<Output<V, '/posts', 'post'>>;
  get(id: string, options?: GetOptions<Query<V, '/posts/{id}'>>): Result<Output<V, '/posts/{id}', 'get'>>;
  update(id: string, patch: Input<V, '/posts/{id}', 'patch'>, options?: RequestOptions): Result<Output<V, '/posts/{id}', 'patch'>>;
  delete(id: string, options?: RequestOptions): Result<undefined>;
  /** Posts of the people the caller follows. */
  feed(query?: Query<V, '/feed'>, options?: RequestOptions): PageRequest<Item<V, '/feed'>>;
}

export interface CommentsApi<V extends ApiVersion> {
  list(postId: string, query?: Query<V, '/posts/{id}/comments'>, options?: RequestOptions): PageRequest<Item<V, '/posts/{id}/comments'>>;
  create(postId: string, input: Input<V, '/posts/{id}/comments', 'post'>, options?: RequestOptions): Result<Output<V, '/posts/{id}/comments', 'post'>>;
  get(id: string, options?: GetOptions<Query<V, '/comments/{id}'>>): Result<Output<V, '/comments/{id}', 'get'>>;
  update(id: string, patch: Input<V, '/comments/{id}', 'patch'>, options?: RequestOptions): Result<Output<V, '/comments/{id}', 'patch'>>;
  delete(id: string, options?: RequestOptions): Result<undefined>;
}

export interface ProductsApi<V extends ApiVersion> {
  list(query?: Query<V, '/products'>, options?: RequestOptions): PageRequest<Item<V, '/products'>>;
  create(input: Input<V, '/products', 'post'>, options?: RequestOptions): Result<Output<V, '/products', 'post'>>;
  get(id: string, options?: GetOptions<Query<V, '/products/{id}'>>): Result<Output<V, '/products/{id}', 'get'>>;
  update(id: string, patch: Input<V, '/products/{id}', 'patch'>, options?: RequestOptions): Result<Output<V, '/products/{id}', 'patch'>>;
  delete(id: string, options?: RequestOptions): Result<undefined>;
}

export interface OrdersApi<V extends ApiVersion> {
  list(query?: Query<V, '/orders'>, options?: RequestOptions): PageRequest<Item<V, '/orders'>>;
  /** Places an order; the Idempotency-Key the server requires is generated once and reused by every retry. */
  create(input: Input<V, '/orders', 'post'>, options?: RequestOptions): Result<Output<V, '/orders', 'post'>>;
  get(id: string, options?: GetOptions<Query<V, '/orders/{id}'>>): Result<Output<V, '/orders/{id}', 'get'>>;
  /** Moves the order's status (`{ status: 'shipped' }`). */
  update(id: string, patch: Input<V, '/orders/{id}', 'patch'>, options?: RequestOptions): Result<Output<V, '/orders/{id}', 'patch'>>;
  cancel(id: string, options?: RequestOptions): Result<Output<V, '/orders/{id}/cancel', 'post'>>;
  items(orderId: string, query?: Query<V, '/orders/{id}/items'>, options?: RequestOptions): PageRequest<Item<V, '/orders/{id}/items'>>;
  getItem(itemId: string, options?: GetOptions<Query<V, '/order-items/{id}'>>): Result<Output<V, '/order-items/{id}', 'get'>>;
}

export interface ChargesApi<V extends ApiVersion> {
  /** Pays for an order; keyed like `orders.create`. */
  create(input: Input<V, '/charges', 'post'>, options?: RequestOptions): Result<Output<V, '/charges', 'post'>>;
  list(query?: Query<V, '/charges'>, options?: RequestOptions): PageRequest<Item<V, '/charges'>>;
  get(id: string, options?: GetOptions<Query<V, '/charges/{id}'>>): Result<Output<V, '/charges/{id}', 'get'>>;
}

export type StoaEvent<V extends ApiVersion> = Item<V, '/events'>;

export interface EventsApi<V extends ApiVersion> {
  list(query?: Query<V, '/events'>, options?: RequestOptions): PageRequest<StoaEvent<V>>;
  /** The live stream (SSE), resumed on its own after any drop, each event once; `for await` it, `break` to stop. */
  stream(options?: EventStreamOptions): EventStream<StoaEvent<V>>;
}

export interface RealtimeApi<V extends ApiVersion> {
  /** A single-use ticket for `?ticket=` on the event stream or the WebSocket. */
  createTicket(options?: RequestOptions): Result<Output<V, '/realtime/tickets', 'post'>>;
}

export interface WebhookEndpointsApi<V extends ApiVersion> {
  create(input: Input<V, '/webhook-endpoints', 'post'>, options?: RequestOptions): Result<Output<V, '/webhook-endpoints', 'post'>>;
  list(query?: Query<V, '/webhook-endpoints'>, options?: RequestOptions): PageRequest<Item<V, '/webhook-endpoints'>>;
  get(id: string, options?: GetOptions<Query<V, '/webhook-endpoints/{id}'>>): Result<Output<V, '/webhook-endpoints/{id}', 'get'>>;
  update(id: string, patch: Input<V, '/webhook-endpoints/{id}', 'patch'>, options?: RequestOptions): Result<Output<V, '/webhook-endpoints/{id}', 'patch'>>;
  delete(id: string, options?: RequestOptions): Result<undefined>;
  rotateSecret(id: string, options?: RequestOptions): Result<Output<V, '/webhook-endpoints/{id}/rotate-secret', 'post'>>;
  /** Sends a test event to the endpoint. */
  test(id: string, options?: RequestOptions): Result<Output<V, '/webhook-endpoints/{id}/test', 'post'>>;
  deliveries(id: string, query?: Query<V, '/webhook-endpoints/{id}/deliveries'>, options?: RequestOptions): PageRequest<Item<V, '/webhook-endpoints/{id}/deliveries'>>;
}

export interface WebhookDeliveriesApi<V extends ApiVersion> {
  get(id: string, options?: GetOptions<Query<V, '/webhook-deliveries/{id}'>>): Result<Output<V, '/webhook-deliveries/{id}', 'get'>>;
  retry(id: string, options?: RequestOptions): Result<Output<V, '/webhook-deliveries/{id}/retry', 'post'>>;
}

export interface JobsApi<V extends ApiVersion> {
  get(id: string, options?: GetOptions<Query<V, '/jobs/{id}'>>): Result<Output<V, '/jobs/{id}', 'get'>>;
  cancel(id: string, options?: RequestOptions): Result<Output<V, '/jobs/{id}', 'delete'>>;
}

export interface ReportsApi<V extends ApiVersion> {
  /** Starts a report job (202); follow it with `jobs.get` or `reports.get`. */
  create(input: Input<V, '/reports', 'post'>, options?: RequestOptions): Result<Output<V, '/reports', 'post'>>;
  get(id: string, options?: GetOptions<Query<V, '/reports/{id}'>>): Result<Output<V, '/reports/{id}', 'get'>>;
}

export interface Resources<V extends ApiVersion> {
  auth: AuthApi<V>;
  users: UsersApi<V>;
  apiKeys: ApiKeysApi<V>;
  posts: PostsApi<V>;
  comments: CommentsApi<V>;
  products: ProductsApi<V>;
  orders: OrdersApi<V>;
  charges: ChargesApi<V>;
  events: EventsApi<V>;
  realtime: RealtimeApi<V>;
  webhookEndpoints: WebhookEndpointsApi<V>;
  webhookDeliveries: WebhookDeliveriesApi<V>;
  jobs: JobsApi<V>;
  reports: ReportsApi<V>;
}

/**
 * The namespaces, written once over version-less routes: each call goes to
 * `/v{apiVersion}{route}`, and its types come from that version's document.
 */
export function createResources<V extends ApiVersion>(transport: TransportConfig, version: V): Resources<V> {
  const path = (route: string, params?: Record<string, unknown>) => expandPath(`/v${version}${route}`, params);
  /** A call whose answer is `{ data }` (or nothing): the result's `data` is the resource. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the public interfaces above carry the types
  const one = async (method: string, route: string, params?: Record<string, unknown>, body?: unknown, options?: GetOptions<unknown>): Promise<StoaResponse<any>> => {
    const { query, ...rest } = options ?? {};
    const response = await send<{ data?: unknown } | string | undefined>(transport, { method, path: path(route, params), query: query as Record<string, unknown> | undefined, body, options: rest });
    const payload = response.data;
    return { ...response, data: payload !== null && typeof payload === 'object' && 'data' in payload ? payload.data : payload };
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const list = (route: string, params?: Record<string, unknown>, query?: unknown, options?: RequestOptions): PageRequest<any> =>
    pageRequest((q, o) => send(transport, { method: 'GET', path: path(route, params), query: q, options: o }), query as Record<string, unknown> | undefined, options);
  const id = (value: string) => ({ id: value });

  const crud = (route: string) => ({
    list: (query?: unknown, options?: RequestOptions) => list(route, undefined, query, options),
    create: (input: unknown, options?: RequestOptions) => one('POST', route, undefined, input, options),
    get: (key: string, options?: GetOptions<unknown>) => one('GET', `${route}/{id}`, id(key), undefined, options),
    update: (key: string, patch: unknown, options?: RequestOptions) => one('PATCH', `${route}/{id}`, id(key), patch, options),
    delete: (key: string, options?: RequestOptions) => one('DELETE', `${route}/{id}`, id(key), undefined, options),
  });

  return {
    auth: {
      login: (input, options) => one('POST', '/auth/login', undefined, input, options),
      refresh: (input, options) => one('POST', '/auth/refresh', undefined, input, options),
      logout: (input, options) => one('POST', '/auth/logout', undefined, input, options),
    },
    users: {
      ...crud('/users'),
      me: (options) => one('GET', '/me', undefined, undefined, options),
      replace: (key, input, options) => one('PUT', '/users/{id}', id(key), input, options),
      verifyEmail: (key, input, options) => one('POST', '/users/{id}/verify-email', id(key), input ?? {}, options),
      followers: (key, query, options) => list('/users/{id}/followers', id(key), query, options),
      following: (key, query, options) => list('/users/{id}/following', id(key), query, options),
      follow: (key, options) => one('PUT', '/users/{id}/followers/me', id(key), undefined, options),
      unfollow: (key, options) => one('DELETE', '/users/{id}/followers/me', id(key), undefined, options),
      posts: (key, query, options) => list('/users/{id}/posts', id(key), query, options),
      orders: (key, query, options) => list('/users/{id}/orders', id(key), query, options),
    },
    apiKeys: { ...crud('/api-keys'), revoke: (key, options) => one('DELETE', '/api-keys/{id}', id(key), undefined, options) },
    posts: { ...crud('/posts'), feed: (query, options) => list('/feed', undefined, query, options) },
    comments: {
      list: (postId, query, options) => list('/posts/{id}/comments', id(postId), query, options),
      create: (postId, input, options) => one('POST', '/posts/{id}/comments', id(postId), input, options),
      get: (key, options) => one('GET', '/comments/{id}', id(key), undefined, options),
      update: (key, patch, options) => one('PATCH', '/comments/{id}', id(key), patch, options),
      delete: (key, options) => one('DELETE', '/comments/{id}', id(key), undefined, options),
    },
    products: crud('/products'),
    orders: {
      ...crud('/orders'),
      cancel: (key, options) => one('POST', '/orders/{id}/cancel', id(key), undefined, options),
      items: (key, query, options) => list('/orders/{id}/items', id(key), query, options),
      getItem: (key, options) => one('GET', '/order-items/{id}', id(key), undefined, options),
    },
    charges: (({ list: l, create, get }) => ({ list: l, create, get }))(crud('/charges')),
    events: {
      list: (query, options) => list('/events', undefined, query, options),
      stream: (options) =>
        openEventStream<StoaEvent<V> & { sequence: number }>(
          {
            transport,
            path: path('/events'),
            ticket: async () => (await one('POST', '/realtime/tickets', undefined, undefined, { maxRetries: 0 })).data.ticket as string,
            head: async () => {
              const newest = await send<{ data: Array<{ sequence: number }> }>(transport, { method: 'GET', path: path('/events'), query: { sort: '-sequence', limit: 1 }, options: { maxRetries: 0 } });
              return newest.data.data[0]?.sequence ?? 0;
            },
          },
          options,
        ),
    },
    realtime: { createTicket: (options) => one('POST', '/realtime/tickets', undefined, undefined, options) },
    webhookEndpoints: {
      ...crud('/webhook-endpoints'),
      rotateSecret: (key, options) => one('POST', '/webhook-endpoints/{id}/rotate-secret', id(key), undefined, options),
      test: (key, options) => one('POST', '/webhook-endpoints/{id}/test', id(key), undefined, options),
      deliveries: (key, query, options) => list('/webhook-endpoints/{id}/deliveries', id(key), query, options),
    },
    webhookDeliveries: {
      get: (key, options) => one('GET', '/webhook-deliveries/{id}', id(key), undefined, options),
      retry: (key, options) => one('POST', '/webhook-deliveries/{id}/retry', id(key), undefined, options),
    },
    jobs: {
      get: (key, options) => one('GET', '/jobs/{id}', id(key), undefined, options),
      cancel: (key, options) => one('DELETE', '/jobs/{id}', id(key), undefined, options),
    },
    reports: {
      create: (input, options) => one('POST', '/reports', undefined, input, options),
      get: (key, options) => one('GET', '/reports/{id}', id(key), undefined, options),
    },
  };
}

export type { Pagination };

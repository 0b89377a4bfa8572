import { API_VERSIONS, LATEST_API_VERSION, type ApiVersion } from './generated/index.ts';
import { expandPath, send, type RequestOptions, type RetryInfo, type StoaResponse, type TransportConfig } from './http.ts';
import { createResources, type Resources } from './resources.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.ts';
import type { BodyOf, HttpMethod, Operation, PathParams, PathsWith, QueryOf, SuccessOf } from './types.ts';

export interface StoaOptions<V extends ApiVersion = ApiVersion> {
  /** Where Stoa listens, e.g. `https://api.example.com` (no version: the SDK adds `/v{apiVersion}`). */
  baseUrl: string;
  /** An API key (`stoa_…`), sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** An access token from `auth.login`, or a function giving the current one (called before each attempt). */
  accessToken?: string | (() => string | undefined | Promise<string | undefined>);
  /** The API version every call is pinned to (default: the newest the SDK was generated for). */
  apiVersion?: V;
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
  /** Per attempt, from sending to the last byte (default 30 000 ms). */
  timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Backoff tuning: base (500 ms), cap (8 s), the longest Retry-After waited for (60 s). */
  retry?: Partial<Omit<RetryPolicy, 'maxRetries'>>;
  /** Headers sent with every call. */
  headers?: Record<string, string>;
  /** Called before each retry with why and how long it waits (logs, metrics). */
  onRetry?: (info: RetryInfo) => void;
}

type UpperMethod = Uppercase<HttpMethod>;
type Op<V extends ApiVersion, M extends UpperMethod, P> = P extends PathsWith<V, Lowercase<M>> ? Operation<V, P, Lowercase<M>> : never;

/** The typed parts of a low-level call; which are required follows the operation. */
export type RequestInit<O> = RequestOptions & ([PathParams<O>] extends [never] ? { params?: never } : { params: PathParams<O> }) & ([QueryOf<O>] extends [never] ? { query?: never } : { query?: QueryOf<O> }) & ([BodyOf<O>] extends [never] ? { body?: never } : { body: BodyOf<O> });

/** `init` is required when the operation has path parameters or a body. */
export type RequestArgs<O> = [PathParams<O>] extends [never] ? ([BodyOf<O>] extends [never] ? [init?: RequestInit<O>] : [init: RequestInit<O>]) : [init: RequestInit<O>];

export interface Stoa<V extends ApiVersion = typeof LATEST_API_VERSION> extends Resources<V> {
  readonly apiVersion: V;
  readonly baseUrl: string;
  /**
   * Any operation of the pinned version's document, typed from it: the path
   * as the document writes it (`/v2/users/{id}`), `params` fill its braces.
   * Same retries, keys, timeouts and errors as the namespaces; `data` is the
   * whole response body.
   */
  request<M extends UpperMethod, P extends PathsWith<V, Lowercase<M>>>(method: M, path: P, ...init: RequestArgs<Op<V, M, P>>): Promise<StoaResponse<SuccessOf<Op<V, M, P>>>>;
  /** A client with some options changed (e.g. the access token after signing in); the rest is shared. */
  withOptions(overrides: Partial<StoaOptions<V>>): Stoa<V>;
}

function check(options: StoaOptions<ApiVersion>): void {
  if (typeof options.baseUrl !== 'string' || !/^https?:\/\//i.test(options.baseUrl)) throw new TypeError('createStoa: baseUrl must be an http(s) URL');
  new URL(options.baseUrl);
  if (options.apiVersion !== undefined && !API_VERSIONS.includes(options.apiVersion)) throw new TypeError(`createStoa: apiVersion must be one of ${API_VERSIONS.join(', ')}`);
  if (options.apiKey !== undefined && options.accessToken !== undefined) throw new TypeError('createStoa: pass apiKey or accessToken, not both');
  if (options.maxRetries !== undefined && !(Number.isInteger(options.maxRetries) && options.maxRetries >= 0)) throw new TypeError('createStoa: maxRetries must be a non-negative integer');
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) throw new TypeError('createStoa: timeoutMs must be a positive number');
  for (const [name, value] of Object.entries(options.retry ?? {})) {
    if (!(Number.isFinite(value) && value >= 0)) throw new TypeError(`createStoa: retry.${name} must be a non-negative number`);
  }
}

/** A Stoa client. One per credential; it holds no connection and costs nothing to make. */
export function createStoa<V extends ApiVersion = typeof LATEST_API_VERSION>(options: StoaOptions<V>): Stoa<V> {
  check(options);
  const version = (options.apiVersion ?? LATEST_API_VERSION) as V;
  const { apiKey, accessToken } = options;
  const transport: TransportConfig = {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    // Unbound, a browser's fetch throws "Illegal invocation".
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    timeoutMs: options.timeoutMs ?? 30_000,
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry, maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries },
    authorization: async () => {
      const token = apiKey ?? (typeof accessToken === 'function' ? await accessToken() : accessToken);
      return token ? `Bearer ${token}` : undefined;
    },
    headers: { ...options.headers },
    onRetry: options.onRetry,
  };
  return {
    ...createResources(transport, version),
    apiVersion: version,
    baseUrl: transport.baseUrl,
    request(method, path, ...[init]) {
      const { params, query, body, ...rest } = (init ?? {}) as RequestOptions & { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
      return send(transport, { method, path: expandPath(path as string, params), query, body, options: rest });
    },
    withOptions: (overrides) => createStoa<V>({ ...options, ...overrides }),
  };
}

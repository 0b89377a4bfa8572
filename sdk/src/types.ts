import type { ApiVersion, PathsByVersion } from './generated/index.ts';

/** The HTTP methods of an OpenAPI path item, as openapi-typescript names them. */
export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch' | 'head';

export type Paths<V extends ApiVersion> = PathsByVersion[V];

/** The operation at `path` and `method` in version V's document. */
export type Operation<V extends ApiVersion, P extends keyof Paths<V>, M extends HttpMethod> = Paths<V>[P] extends infer Item ? (M extends keyof Item ? NonNullable<Item[M]> : never) : never;

/** The paths of version V that have `method`. */
export type PathsWith<V extends ApiVersion, M extends HttpMethod> = {
  [P in keyof Paths<V>]: [Operation<V, P, M>] extends [never] ? never : Operation<V, P, M> extends { responses: unknown } ? P : never;
}[keyof Paths<V>];

type Defined<T> = Exclude<T, undefined>;

export type PathParams<Op> = Op extends { parameters: { path?: infer X } } ? ([Defined<X>] extends [never] ? never : Defined<X>) : never;
export type QueryOf<Op> = Op extends { parameters: { query?: infer Q } } ? ([Defined<Q>] extends [never] ? never : Defined<Q>) : never;
export type BodyOf<Op> = Op extends { requestBody?: infer B } ? ([Defined<B>] extends [never] ? never : Defined<B> extends { content: { 'application/json': infer J } } ? J : never) : never;

/** The body of the operation's 2xx answers (undefined for 204 or no content). */
export type SuccessOf<Op> = Op extends { responses: infer R }
  ? {
      [S in keyof R]: S extends 200 | 201 | 202 | 203 | 206 ? (R[S] extends { content: infer C } ? (C extends { 'application/json': infer J } ? J : C[keyof C]) : undefined) : S extends 204 ? undefined : never;
    }[keyof R]
  : never;

/** `{ data: T }` → T. */
export type DataOf<Body> = Body extends { data: infer D } ? D : never;
/** A list's item: `{ data: T[] }` → T. */
export type ItemOf<Body> = Body extends { data: Array<infer I> } ? I : never;

/** The operation of `/v{V}{Suffix}` (version-less suffix, as namespaces name routes). */
export type Route<V extends ApiVersion, Suffix extends string, M extends HttpMethod> = `/v${V}${Suffix}` extends keyof Paths<V> ? Operation<V, `/v${V}${Suffix}`, M> : never;

/** The JSON body of a version-less route's request. */
export type Input<V extends ApiVersion, Suffix extends string, M extends HttpMethod> = BodyOf<Route<V, Suffix, M>>;
/** The query of a version-less route. */
export type Query<V extends ApiVersion, Suffix extends string, M extends HttpMethod = 'get'> = QueryOf<Route<V, Suffix, M>>;
/** The resource a version-less route answers with (`data` of its envelope). */
export type Output<V extends ApiVersion, Suffix extends string, M extends HttpMethod> = DataOf<SuccessOf<Route<V, Suffix, M>>>;
/** The items of a version-less list route. */
export type Item<V extends ApiVersion, Suffix extends string> = ItemOf<SuccessOf<Route<V, Suffix, 'get'>>>;

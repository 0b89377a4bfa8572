import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export const GRAPHQL_RESPONSE = 'application/graphql-response+json';

export interface GraphqlError {
  message: string;
  path?: Array<string | number>;
  extensions: { code: string; fields?: Array<{ field: string; code: string; message: string }>; [key: string]: unknown };
}

export interface GraphqlBody {
  data?: Record<string, unknown> | null;
  errors?: GraphqlError[];
  extensions?: Record<string, unknown>;
}

export interface GraphqlCall {
  variables?: Record<string, unknown>;
  headers?: Record<string, string>;
  operationName?: string;
  extensions?: Record<string, unknown>;
  /** Default: the GraphQL-over-HTTP media type. */
  accept?: string;
}

/** POST /graphql with a JSON body; the parsed answer beside the response. */
export async function gql(app: FastifyInstance, query: string | undefined, call: GraphqlCall = {}): Promise<{ res: LightMyRequestResponse; body: GraphqlBody }> {
  const res = await app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json', accept: call.accept ?? GRAPHQL_RESPONSE, ...call.headers },
    payload: JSON.stringify({ query, variables: call.variables, operationName: call.operationName, extensions: call.extensions }),
  });
  return { res, body: res.body === '' ? {} : (JSON.parse(res.body) as GraphqlBody) };
}

/** The data of a call that must succeed without errors. */
export async function gqlData<T = Record<string, unknown>>(app: FastifyInstance, query: string, call: GraphqlCall = {}): Promise<T> {
  const { res, body } = await gql(app, query, call);
  if (res.statusCode !== 200 || body.errors) throw new Error(`GraphQL call failed: ${res.statusCode} ${res.body}`);
  return body.data as T;
}

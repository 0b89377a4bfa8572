import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { WebSocket } from 'ws';

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

/** A graphql-transport-ws message as the server sends it. */
export type WsMessage = { type: string; id?: string; payload?: unknown };

export interface GraphqlWsClient {
  socket: WebSocket;
  messages: WsMessage[];
  closed: { code: number; reason: string } | null;
  send(message: unknown): void;
  /** Waits for the first message (from the start) that `match` accepts. */
  next(match: (m: WsMessage) => boolean, timeoutMs?: number, what?: string): Promise<WsMessage>;
  waitForClose(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  /** `connection_init` with this payload, then the `connection_ack`. */
  init(payload?: Record<string, unknown>): Promise<void>;
  subscribe(id: string, query: string, variables?: Record<string, unknown>, extra?: Record<string, unknown>): void;
  /** The `data` of every `next` for `id`, in order. */
  data<T = Record<string, unknown>>(id: string): T[];
}

async function until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw graphql-transport-ws client (the subprotocol unless told otherwise), recording every message and the close. */
export async function openGraphqlWs(url: string, options: { protocol?: string | null; headers?: Record<string, string> } = {}): Promise<GraphqlWsClient> {
  const protocol = options.protocol === undefined ? 'graphql-transport-ws' : options.protocol;
  const socket = protocol === null ? new WebSocket(url, { headers: options.headers ?? {} }) : new WebSocket(url, protocol, { headers: options.headers ?? {} });
  const client: GraphqlWsClient = {
    socket,
    messages: [],
    closed: null,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next: (match, timeoutMs = 5_000, what = 'a message') => until(() => client.messages.find(match), timeoutMs, what),
    waitForClose: (timeoutMs = 5_000) => until(() => client.closed ?? undefined, timeoutMs, 'the close'),
    async init(payload) {
      client.send({ type: 'connection_init', ...(payload && { payload }) });
      await until(() => (client.messages.some((m) => m.type === 'connection_ack') ? true : client.closed ? false : undefined), 5_000, 'connection_ack').then((ok) => {
        if (!ok) throw new Error(`closed instead of acknowledged: ${JSON.stringify(client.closed)}`);
      });
    },
    subscribe(id, query, variables, extra = {}) {
      client.send({ id, type: 'subscribe', payload: { query, ...(variables && { variables }), ...extra } });
    },
    data: <T>(id: string) => client.messages.filter((m) => m.type === 'next' && m.id === id).map((m) => (m.payload as { data: T }).data),
  };
  socket.on('message', (data) => client.messages.push(JSON.parse(String(data)) as WsMessage));
  socket.on('close', (code, reason) => (client.closed = { code, reason: reason.toString() }));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    socket.once('close', () => resolve());
  });
  return client;
}

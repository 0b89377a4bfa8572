import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { createSourceEventStream, execute, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type SubscribePayload } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Container } from '../../container.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import { credentialExpiry } from '../../platform/auth/tickets.ts';
import { asAppError } from '../../platform/errors/index.ts';
import { upgradeCredential } from '../../platform/realtime/index.ts';
import type { GraphqlContext } from './context.ts';
import type { GraphqlEngine } from './engine.ts';
import { coercionFailure, formatError, toGraphqlError } from './errors.ts';
import { createLoaders } from './loaders.ts';

/** Close codes of /graphql's WebSocket: graphql-ws's own (4400, 4403, 4406, 4408, 4409, 4429), and 1013 for a peer that does not read. */
export const GRAPHQL_WS_CLOSE = { forbidden: CloseCode.Forbidden, goingAway: 1001, tryAgainLater: 1013 } as const;

/** What one connection knows of its caller. */
interface Connection {
  socket: WebSocket;
  ip: string;
  /** From the upgrade (a ticket, or credentials in the request headers). */
  principal: Principal | null;
  expiresAt: Date | null;
  /** The upgrade carried a credential that failed: `connection_init` is refused. */
  refused: boolean;
  unwatch?: () => void;
  missedPongs: number;
}

function stringOf(params: Readonly<Record<string, unknown>> | undefined, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = params?.[name];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** Errors as the `error` message carries them: registry codes, nothing of an unexpected failure's cause. */
function asGraphqlErrors(error: unknown): GraphQLError[] {
  if (error instanceof GraphQLError) return [error];
  return [toGraphqlError(asAppError(error))];
}

/**
 * Subscriptions (and queries and mutations) over graphql-transport-ws on
 * `/graphql`, through graphql-ws's protocol machine on a `ws` server of our
 * own (noServer: the HTTP server's upgrade routing hands us `/graphql`).
 * Authentication: a ticket (`?ticket=`, single use) or credentials on the
 * upgrade, else `connection_init`'s payload (`authorization: "Bearer …"`, or
 * `x-api-key`); none or a bad one closes with 4403. Every operation goes
 * through the engine as over HTTP (persisted queries, depth, aliases, cost
 * budget, rate limit by cost). A revoked key, a suspended account or an
 * expired token closes with 4403; a peer whose unsent data passes
 * STOA_STREAM_MAX_BUFFERED_BYTES with 1013.
 */
export class GraphqlSubscriptions {
  readonly #engine: GraphqlEngine;
  readonly #container: Container;
  readonly #wss: WebSocketServer;
  readonly #server;
  readonly #connections = new Set<Connection>();
  readonly #ping: NodeJS.Timeout;
  readonly #log: FastifyBaseLogger;
  /** Source streams opened by `subscribe` messages (in #prepare), by their operation's context. */
  readonly #streams = new WeakMap<object, AsyncIterableIterator<unknown>>();

  constructor(engine: GraphqlEngine, container: Container, log: FastifyBaseLogger) {
    this.#engine = engine;
    this.#container = container;
    this.#log = log;
    const realtime = container.realtime;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: realtime.config.wsMaxMessageBytes, clientTracking: false, perMessageDeflate: false, handleProtocols: (protocols) => handleProtocols(protocols) });
    this.#server = makeServer<Record<string, unknown>, Connection>({
      schema: engine.schema,
      execute: (args: ExecutionArgs) => engine.execute(args),
      subscribe: (args: ExecutionArgs) => this.#results(args),
      onConnect: (ctx) => this.#connect(ctx.extra, ctx.connectionParams),
      onSubscribe: (ctx, _id, payload) => this.#prepare(ctx.extra, payload),
      onNext: (_ctx, _id, _payload, _args, result) => ({ ...result, ...(result.errors && { errors: result.errors.map(formatError) }) }) as ReturnType<typeof formatError> & ExecutionResult,
      onError: (_ctx, _id, _payload, errors) => errors.map(formatError),
    });
    this.#ping = setInterval(() => this.#heartbeat(), realtime.config.wsPingMs);
    this.#ping.unref();
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The `upgrade` of `/graphql`. */
  handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://stoa.invalid');
    const ip = this.#container.rateLimiting.clientIp.resolve(request.socket.remoteAddress, request.headers['x-forwarded-for']);
    this.#authenticateUpgrade(request, url).then(
      (found) => {
        if (socket.destroyed) return;
        this.#wss.handleUpgrade(request, socket, head, (ws) => this.#open(ws, { ip, principal: found ? found.principal : null, expiresAt: found ? found.expiresAt : null, refused: found === false }));
      },
      () => socket.destroy(),
    );
  };

  /** Closes every connection with 1001 (server shutdown). */
  closeAll(): void {
    clearInterval(this.#ping);
    for (const connection of [...this.#connections]) connection.socket.close(GRAPHQL_WS_CLOSE.goingAway, 'server shutting down');
  }

  /** A principal from the upgrade (headers, then ticket, as /v1/ws), null when it carried no credential, false when the one it carried failed. */
  async #authenticateUpgrade(request: IncomingMessage, url: URL): Promise<{ principal: Principal; expiresAt: Date | null } | null | false> {
    try {
      return await upgradeCredential({ authenticator: this.#container.authenticator, tickets: this.#container.realtime.tickets }, request, url);
    } catch {
      return false;
    }
  }

  async #credentials(authorization: string | undefined, apiKey: string | undefined): Promise<{ principal: Principal; expiresAt: Date | null } | null> {
    const principal = await this.#container.authenticator.authenticate({ authorization, apiKey });
    if (!principal) return null;
    return { principal, expiresAt: credentialExpiry(principal, authorization) };
  }

  #open(socket: WebSocket, known: Omit<Connection, 'socket' | 'missedPongs'>): void {
    const connection: Connection = { ...known, socket, missedPongs: 0 };
    this.#connections.add(connection);
    const limit = this.#container.realtime.config.streamMaxBufferedBytes;
    const closed = this.#server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, () => resolve());
            // ws queues without bound (ws#2009): a peer that does not read is dropped.
            if (socket.bufferedAmount > limit) socket.close(GRAPHQL_WS_CLOSE.tryAgainLater, 'too much unread data');
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (listener) =>
          socket.on('message', (data, isBinary) => {
            if (isBinary) return socket.close(CloseCode.BadRequest, 'Send JSON text frames');
            listener(String(data)).catch((error: unknown) => {
              this.#log.error({ err: error }, 'graphql-ws message failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      connection,
    );
    socket.on('pong', () => (connection.missedPongs = 0));
    socket.on('error', () => {});
    socket.once('close', (code, reason) => {
      this.#connections.delete(connection);
      connection.unwatch?.();
      void closed(code, reason.toString());
    });
  }

  /** `connection_init`: the upgrade's principal, or the payload's credentials; false closes with 4403. */
  async #connect(connection: Connection, params: Readonly<Record<string, unknown>> | undefined): Promise<boolean> {
    if (connection.refused) return false;
    if (!connection.principal) {
      try {
        const found = await this.#credentials(stringOf(params, 'authorization', 'Authorization'), stringOf(params, 'x-api-key', 'X-API-Key', 'apiKey'));
        if (!found) return false;
        connection.principal = found.principal;
        connection.expiresAt = found.expiresAt;
      } catch {
        return false;
      }
    }
    const { socket } = connection;
    connection.unwatch = this.#container.realtime.watch.add({
      principal: connection.principal,
      expiresAt: connection.expiresAt,
      close: (reason) => socket.close(GRAPHQL_WS_CLOSE.forbidden, reason === 'expired' ? 'credential expired' : 'credential revoked'),
    });
    return true;
  }

  /** `subscribe`: the same checks as over HTTP, before anything runs; a refusal is an `error` message with registry codes. */
  async #prepare(connection: Connection, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const engine = this.#engine;
    try {
      // graphql-ws requires a query string: an empty one stands for none (a persisted query by hash).
      const query = payload.query === '' ? undefined : payload.query;
      const text = (await engine.persistedText(query, payload.extensions)) ?? query;
      if (typeof text !== 'string' || text === '') return [new GraphQLError('The subscribe payload needs a query (or a persisted query hash)', { extensions: { code: 'BAD_REQUEST' } })];
      const document = engine.documentOf(text);
      if (Array.isArray(document)) return document;
      const parsed = document as Exclude<typeof document, readonly GraphQLError[]>;
      const operation = engine.operationOf(parsed, payload.operationName);
      if (!operation) return [new GraphQLError('No operation to run: name one with operationName', { extensions: { code: 'BAD_REQUEST' } })];
      const cost = engine.costOf(parsed, operation, payload.variables, coercionFailure);
      if (cost instanceof GraphQLError) return [cost];
      await engine.limitByCost({ principal: connection.principal, ip: connection.ip }, cost, operation.operation === 'mutation');
      const context: GraphqlContext = { principal: connection.principal, deps: this.#container, loaders: createLoaders(this.#container, connection.principal), idempotencyKeyHeader: undefined };
      const args: ExecutionArgs = { schema: engine.schema, document: parsed, operationName: payload.operationName ?? undefined, variableValues: payload.variables ?? undefined, contextValue: context };
      if (operation.operation !== 'subscription') return args;
      // The field's subscribe (authorization, arguments, the hub) runs here, so a refusal is an `error` message, as a refused document is.
      const stream = await createSourceEventStream(args);
      if (!(Symbol.asyncIterator in Object(stream))) return [...((stream as ExecutionResult).errors ?? [])];
      this.#streams.set(context, stream as AsyncIterableIterator<unknown>);
      return args;
    } catch (error) {
      return asGraphqlErrors(error);
    }
  }

  /**
   * The opened source stream, each event executed against the selection (as
   * graphql-js's subscribe does); `return()` goes straight to the source, so a
   * `complete` ends it without waiting for another event.
   */
  #results(args: ExecutionArgs): AsyncIterableIterator<ExecutionResult> {
    const source = this.#streams.get(args.contextValue as object)!;
    this.#streams.delete(args.contextValue as object);
    const results: AsyncIterableIterator<ExecutionResult> = {
      async next() {
        const step = await source.next();
        if (step.done) return { value: undefined, done: true };
        return { value: await execute({ ...args, rootValue: step.value }), done: false };
      },
      return: async () => {
        await source.return?.();
        return { value: undefined, done: true };
      },
      throw: async (error: unknown) => {
        await source.return?.();
        throw error;
      },
      [Symbol.asyncIterator]: () => results,
    };
    return results;
  }

  #heartbeat(): void {
    for (const connection of this.#connections) {
      if (connection.missedPongs >= 2) {
        connection.socket.terminate();
        continue;
      }
      connection.missedPongs += 1;
      try {
        connection.socket.ping();
      } catch {
        connection.socket.terminate();
      }
    }
  }
}


import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod, preValidationHookHandler } from 'fastify';
import { AppError, ERROR_CODES, type ErrorCode } from '../../../domain/shared/errors.ts';
import type { Operation } from '../../../domain/shared/operation.ts';
import {
  canonicalJson,
  keyError,
  operationFingerprint,
  runIdempotent,
  type IdempotencyContext,
  type IdempotentRenderer,
  type Json,
  type KeyClaim,
  type RecordedOutcome,
  type Settled,
} from '../../../platform/idempotency/index.ts';
import { PROBLEM_CONTENT_TYPE, problemHeaders, toProblem } from '../problem.ts';
import { toAppError } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The domain operation this route carries, for idempotency: its name and
     * whether a key is required come from the operation; `input` gives the
     * operation's canonical input (the domain input plus the ids of the
     * target), which the key is bound to. Without it a route is its own
     * operation (`PATCH /products/:id`), keys optional, bound to its path
     * parameters, query and body. `false`: the route runs its own keyed calls
     * through the core (`/graphql`: createOrder and createCharge), so REST's
     * wrapper stays out of it.
     */
    idempotency?: RestIdempotency | false;
  }
}

export interface RestIdempotency {
  operation: Operation;
  /** The operation's input as every transport would give it; `{ params, body }` when absent. */
  input?: (request: FastifyRequest) => unknown;
}

export interface IdempotencyOptions extends IdempotencyContext {
  publicUrl: string;
  bodyLimit: number;
}

/**
 * A response as REST stores it for replay: what the handler sent, before the
 * transport's serialisation, so a replay goes through the same pipeline
 * (version transforms, serializer, compression) and comes out the same.
 */
export type StoredResponse = {
  status: number;
  /** Only the headers that matter to a client (content-type, location, etag, …), lower-case. */
  headers: Record<string, string>;
  /** JSON text of the payload when `json`, else the payload as sent. */
  body: string;
  json: boolean;
};

/** The headers kept with a response and replayed with it. */
export const REPLAYED_HEADERS = ['content-type', 'location', 'etag', 'last-modified', 'retry-after', 'link', 'allow', 'www-authenticate', 'x-request-id'] as const;

/** What a handler's run produced: the response to store, and the payload to send now. */
interface Captured {
  response: StoredResponse;
  payload: unknown;
}

const TRANSPORT = 'rest';
const HEADER = 'idempotency-key';
const SENT = Symbol('sent');
const VERSION_PREFIX = /^\/v\d+(?=\/)/;
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

function keyOf(request: FastifyRequest): string | undefined {
  const raw = request.headers[HEADER];
  return Array.isArray(raw) ? raw.join(', ') : raw;
}

function pickHeaders(reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function send(reply: FastifyReply, response: StoredResponse, replayed: boolean): FastifyReply {
  reply.code(response.status).headers(response.headers);
  if (replayed) reply.header('idempotent-replayed', 'true');
  return reply.send(response.json ? (JSON.parse(response.body) as unknown) : response.body === '' ? undefined : response.body);
}

/** Puts the reply's headers back as they were before a run of the handler that is not the answer. */
function restoreHeaders(reply: FastifyReply, before: ReturnType<FastifyReply['getHeaders']>): void {
  for (const name of Object.keys(reply.getHeaders())) if (!(name in before)) reply.removeHeader(name);
  reply.headers(before);
}

/**
 * Runs a handler with `reply.send` captured: the payload is returned instead
 * of sent, so it can be stored in the same transaction before anything leaves.
 */
async function capture(handler: RouteHandlerMethod, self: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<Captured> {
  let sent: { payload: unknown } | undefined;
  let signalSent!: () => void;
  // Never resolve a promise with `reply` itself: it is a thenable that settles only once the response is out.
  const sending = new Promise<typeof SENT>((resolve) => (signalSent = () => resolve(SENT)));
  const own = reply as unknown as { send: (payload?: unknown) => FastifyReply };
  own.send = (payload?: unknown) => {
    sent = { payload };
    signalSent();
    return reply;
  };
  let returned: unknown;
  try {
    // An async handler that returns `reply` adopts that thenable and would wait forever: stop at send.
    const running = Promise.resolve(handler.call(self, request, reply) as unknown);
    running.catch(() => {});
    returned = await Promise.race([running, sending]);
  } finally {
    delete (own as { send?: unknown }).send;
  }
  const payload = sent ? sent.payload : returned === reply || returned === SENT ? undefined : returned;
  const headers = pickHeaders(reply);
  if (payload === undefined || payload === null) return { response: { status: reply.statusCode, headers, body: '', json: false }, payload };
  if (typeof payload === 'string') return { response: { status: reply.statusCode, headers, body: payload, json: false }, payload };
  if (Buffer.isBuffer(payload)) return { response: { status: reply.statusCode, headers, body: payload.toString('utf8'), json: false }, payload: payload.toString('utf8') };
  return { response: { status: reply.statusCode, headers, body: JSON.stringify(payload), json: true }, payload };
}

/**
 * The neutral value of a REST success: the resource in the envelope's `data`
 * (API field names), else the whole payload. Taken from the payload the
 * handler sent (JSON-compatible: `response.body` is its JSON text), not
 * parsed back from the text.
 */
function neutralValue({ response, payload }: Captured): Json {
  if (!response.json) return response.body === '' ? null : response.body;
  const sent = payload as Json;
  return sent !== null && typeof sent === 'object' && !Array.isArray(sent) && 'data' in sent ? (sent.data ?? null) : sent;
}

/** The registry code of a refusal a handler sent itself (not thrown): the problem's code, else the generic one for its status. */
function sentErrorCode(response: StoredResponse): ErrorCode {
  if (response.json) {
    const code = (JSON.parse(response.body) as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && Object.hasOwn(ERROR_CODES, code)) return code as ErrorCode;
  }
  return response.status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
}

/** The key's fingerprint before operations (method, URL with query, body): records written then are still recognised. */
function legacyFingerprint(request: FastifyRequest): string {
  return createHash('sha256').update(`${request.method.toUpperCase()} ${request.url}\n${canonicalJson(request.body)}`).digest('base64url');
}

/**
 * REST's side of `runIdempotent`: settles a captured response (or a thrown
 * error, rendered as the error handler would) and renders outcomes other
 * transports recorded.
 */
function restRenderer(request: FastifyRequest, options: IdempotencyOptions): IdempotentRenderer<Captured, StoredResponse> {
  const problem = (appError: AppError): StoredResponse => {
    const headers: Record<string, string> = { ...problemHeaders(appError), 'content-type': PROBLEM_CONTENT_TYPE, 'x-request-id': request.id };
    return { status: appError.status, headers, body: JSON.stringify(toProblem(appError, request, options.publicUrl)), json: true };
  };
  return {
    transport: TRANSPORT,
    settle(outcome): Settled<StoredResponse> {
      if (!outcome.ok) {
        const appError = toAppError(outcome.error, options.bodyLimit);
        return {
          outcome: { ok: false, error: { code: appError.code, message: appError.message, ...(appError.errors && { errors: appError.errors }) } },
          rendering: problem(appError),
        };
      }
      const { response } = outcome.value;
      if (response.status >= 400) {
        const body = response.json ? (JSON.parse(response.body) as { detail?: unknown }) : undefined;
        const message = typeof body?.detail === 'string' ? body.detail : '';
        return { outcome: { ok: false, error: { code: sentErrorCode(response), message } }, rendering: response };
      }
      return { outcome: { ok: true, value: neutralValue(outcome.value) }, rendering: response };
    },
    replay(outcome: RecordedOutcome): StoredResponse {
      if (!outcome.ok) return problem(new AppError(outcome.error.code, outcome.error.message, outcome.error.errors ? { errors: outcome.error.errors } : {}));
      // Another transport ran the operation: answer as this route would have, from the resource (Location from its self link).
      const value = outcome.value;
      const self = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value.links as { self?: unknown } | undefined)?.self : undefined;
      const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE };
      if (request.method === 'POST' && typeof self === 'string') headers.location = self;
      return { status: request.method === 'POST' ? 201 : 200, headers, body: JSON.stringify({ data: value }), json: true };
    },
  };
}

/**
 * Idempotency keys for the REST API (PRODUCT.md §6), as a route wrapper:
 * every POST and PATCH handler of an authenticated route is replaced, at
 * registration, by one that runs it through `runIdempotent` (the core holds
 * the key, records, replays, releases). This adapter only checks the header,
 * captures what the handler sends, and sends what the core answers. Which
 * operation a route carries, and whether it requires a key, is the route's
 * `config.idempotency`. Schema validation happens before the handler, so a
 * rejected request never touches the key.
 */
export function registerIdempotency(app: FastifyInstance, options: IdempotencyOptions): void {
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m === 'POST' || m === 'PATCH');
    if (methods.length === 0) return;
    const declared = route.config?.idempotency;
    if (declared === false) return;
    // Versions share their routes (`/v1/orders`, `/v2/orders`): an undeclared route's operation is its unversioned path.
    const operation: Operation = declared?.operation ?? { name: `${methods.join('|')} ${route.url.replace(VERSION_PREFIX, '')}`, idempotencyKey: 'optional' };
    const inputOf = declared?.input ?? ((request: FastifyRequest) => ({ params: request.params, query: request.query, body: request.body }));
    const keyContext = (request: FastifyRequest) => ({ call: `${request.method} ${route.url}`, field: HEADER, noun: 'Idempotency-Key header' });

    // Before body validation: a bad or missing key is the first thing a client hears about.
    const checkKey: preValidationHookHandler = async (request) => {
      const error = keyError(request.method === 'POST' ? operation : { idempotencyKey: 'optional' }, keyOf(request), keyContext(request));
      if (error) throw error;
    };
    const pre = route.preValidation;
    route.preValidation = [checkKey, ...(pre === undefined ? [] : Array.isArray(pre) ? pre : [pre])];

    const handler = route.handler;
    route.handler = async function idempotent(this: FastifyInstance, request, reply) {
      const key = keyOf(request);
      const principal = request.principal;
      if (key === undefined || !principal) return handler.call(this, request, reply);

      const claim: KeyClaim = {
        principal: principal.userId,
        key,
        operation: operation.name,
        fingerprint: operationFingerprint(operation.name, inputOf(request)),
        legacyFingerprint: () => legacyFingerprint(request),
      };
      const before = reply.getHeaders();
      try {
        const result = await runIdempotent(options, claim, () => capture(handler, this, request, reply), restRenderer(request, options));
        if (result.kind === 'done' && result.value.payload !== undefined) return reply.send(result.value.payload);
        // Anything but this run's own success answers without the headers this run of the handler set.
        restoreHeaders(reply, before);
        if (result.kind === 'refused' && result.recorded) request.log.info({ status: result.rendering.status }, 'request rejected (recorded under its idempotency key)');
        return send(reply, result.rendering, result.kind === 'replayed');
      } catch (error) {
        restoreHeaders(reply, before);
        throw error;
      }
    };
  });
}

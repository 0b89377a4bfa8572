import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod, preValidationHookHandler } from 'fastify';
import type { Clock } from '../../domain/shared/clock.ts';
import { AppError } from '../../domain/shared/errors.ts';
import type { Transactor } from '../../domain/shared/transactor.ts';
import { toAppError } from '../../transports/rest/plugins/errors.ts';
import { BEARER_CHALLENGE } from '../auth/index.ts';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../../transports/rest/problem.ts';
import { checkIdempotencyKey, outcomeDisposition, REPLAYED_HEADERS, requestFingerprint, type IdempotencyTimings, type StoredResponse } from './idempotency.core.ts';
import type { IdempotencyStore, KeyClaim } from './idempotency.store.ts';

export interface IdempotencyOptions {
  store: IdempotencyStore;
  transactor: Transactor;
  clock: Clock;
  timings: IdempotencyTimings;
  /** Routes that refuse a POST without a key, as `METHOD /path` (the route's template). */
  required: readonly string[];
  publicUrl: string;
  bodyLimit: number;
}

const HEADER = 'idempotency-key';
const SENT = Symbol('sent');
const VERSION_PREFIX = /^\/v\d+(?=\/)/;

/** Carries a response the handler produced with a 4xx/5xx status out of the transaction, rolling it back. */
class RolledBack extends Error {
  constructor(readonly response: StoredResponse) {
    super('rolled back');
  }
}

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

function send(reply: FastifyReply, response: StoredResponse, replayed: boolean, payload?: unknown): FastifyReply {
  reply.code(response.status).headers(response.headers);
  if (replayed) reply.header('idempotent-replayed', 'true');
  if (payload !== undefined) return reply.send(payload);
  return reply.send(response.json ? (JSON.parse(response.body) as unknown) : response.body === '' ? undefined : response.body);
}

/**
 * Runs a handler with `reply.send` captured: the payload is returned instead
 * of sent, so it can be stored in the same transaction before anything leaves.
 */
async function capture(handler: RouteHandlerMethod, self: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<{ response: StoredResponse; payload: unknown }> {
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
 * Idempotency keys for the REST API (PRODUCT.md §6), as a route wrapper:
 * every POST and PATCH handler of an authenticated route is replaced, at
 * registration, by one that claims the key, runs the handler inside one
 * transaction together with the record of its response, and then sends.
 * Schema validation happens before the handler, so a rejected request never
 * touches the key.
 */
export function registerIdempotency(app: FastifyInstance, options: IdempotencyOptions): void {
  const { store, transactor, clock, timings } = options;
  const required = new Set(options.required);

  // What the error handler would send for an error thrown by a handler, as a stored response.
  const renderThrown = (error: unknown, request: FastifyRequest): StoredResponse => {
    const appError = toAppError(error, options.bodyLimit);
    const headers: Record<string, string> = { ...appError.headers, 'content-type': PROBLEM_CONTENT_TYPE, 'x-request-id': request.id };
    if (appError.status === 401) headers['www-authenticate'] = BEARER_CHALLENGE;
    return { status: appError.status, headers, body: JSON.stringify(toProblem(appError, request, options.publicUrl)), json: true };
  };

  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m === 'POST' || m === 'PATCH');
    if (methods.length === 0) return;
    // Versions share their routes (`/v1/orders`, `/v2/orders`): required-ness is decided on the unversioned path.
    const mustHaveKey = methods.some((m) => m === 'POST' && required.has(`${m} ${route.url.replace(VERSION_PREFIX, '')}`));

    // Before body validation: a bad or missing key is the first thing a client hears about.
    const checkKey: preValidationHookHandler = async (request) => {
      const key = keyOf(request);
      const problem = checkIdempotencyKey(key);
      if (problem === 'missing') {
        if (key === undefined && !(mustHaveKey && request.method === 'POST')) return;
        if (key === undefined) {
          throw new AppError('IDEMPOTENCY_KEY_REQUIRED', `${request.method} ${route.url} requires an Idempotency-Key header (1 to 255 printable ASCII characters, a UUID is a good choice)`);
        }
      }
      if (problem !== null) {
        const why = problem === 'too_long' ? 'is longer than 255 characters' : problem === 'missing' ? 'is empty' : 'contains characters other than printable ASCII';
        throw new AppError('IDEMPOTENCY_KEY_INVALID', `The Idempotency-Key header ${why}`, {
          errors: [{ field: HEADER, code: problem === 'too_long' ? 'too_long' : 'invalid_format', message: 'must be 1 to 255 printable ASCII characters' }],
        });
      }
    };
    const pre = route.preValidation;
    route.preValidation = [checkKey, ...(pre === undefined ? [] : Array.isArray(pre) ? pre : [pre])];

    const handler = route.handler;
    route.handler = async function idempotent(this: FastifyInstance, request, reply) {
      const key = keyOf(request);
      const principal = request.principal;
      if (key === undefined || !principal) return handler.call(this, request, reply);

      const claim: KeyClaim = { principal: principal.userId, key, owner: randomUUID() };
      const outcome = await store.claim(claim, requestFingerprint(request.method, request.url, request.body), clock.now(), timings);
      if (outcome.kind === 'mismatch') {
        throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request (method, path or body); use a new key for a new request');
      }
      if (outcome.kind === 'in_flight') {
        throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed; retry after Retry-After seconds', {
          headers: { 'retry-after': String(outcome.retryAfterSeconds) },
        });
      }
      if (outcome.kind === 'completed') return send(reply, outcome.response, true);

      let response: StoredResponse;
      let payload: unknown;
      try {
        response = await transactor.run(async () => {
          if (!(await store.lock(claim))) {
            throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is being processed by another attempt; retry after Retry-After seconds', {
              headers: { 'retry-after': '1' },
            });
          }
          const captured = await capture(handler, this, request, reply);
          // Anything but success rolls the business change back; the record of a 4xx is written after.
          if (captured.response.status >= 400) throw new RolledBack(captured.response);
          await store.complete(claim, captured.response, clock.now());
          payload = captured.payload;
          return captured.response;
        });
      } catch (error) {
        if (error instanceof AppError && error.code === 'IDEMPOTENCY_KEY_IN_USE') throw error;
        const failed = error instanceof RolledBack ? error.response : renderThrown(error, request);
        if (outcomeDisposition(failed.status) === 'release') {
          await store.release(claim).catch((releaseError: unknown) => request.log.error({ err: releaseError }, 'could not release an idempotency key'));
          if (error instanceof RolledBack) return send(reply, failed, false);
          throw error;
        }
        // The request began executing and was refused: that answer is the key's answer from now on.
        await store.complete(claim, failed, clock.now());
        request.log.info({ status: failed.status }, 'request rejected (recorded under its idempotency key)');
        return send(reply, failed, false);
      }
      return send(reply, response, false, payload);
    };
  });
}

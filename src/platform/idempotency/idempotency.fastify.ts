import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod, preValidationHookHandler } from 'fastify';
import type { Clock } from '../../domain/shared/clock.ts';
import { AppError } from '../../domain/shared/errors.ts';
import { toAppError } from '../../transports/rest/plugins/errors.ts';
import { PROBLEM_CONTENT_TYPE, problemHeaders, toProblem } from '../../transports/rest/problem.ts';
import { checkIdempotencyKey, outcomeDisposition, REPLAYED_HEADERS, requestFingerprint, type IdempotencyTimings, type KeyState, type StoredResponse } from './idempotency.core.ts';
import { KeyInUseError, type IdempotencyStore, type KeyClaim } from './idempotency.store.ts';

export interface IdempotencyOptions {
  store: IdempotencyStore;
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

/** Rolls back a transaction whose record could not be written: a live record got there first. */
class RaceLost extends Error {
  constructor() {
    super('idempotency race lost');
  }
}

/** How a keyed request is answered: its key's record, a busy key, or what it just did. */
type Answer = Exclude<KeyState, { kind: 'free' }> | { kind: 'in_use' } | { kind: 'fresh'; response: StoredResponse; payload?: unknown };

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

function answer(reply: FastifyReply, result: Answer): FastifyReply {
  switch (result.kind) {
    case 'mismatch':
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request (method, path or body); use a new key for a new request');
    case 'in_use':
      throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed; retry after Retry-After seconds', {
        retryAfterSeconds: 1,
      });
    case 'completed':
      return send(reply, result.response, true);
    case 'fresh':
      // A payload is what the handler sent, and the reply still has its status and headers.
      return result.payload === undefined ? send(reply, result.response, false) : reply.send(result.payload);
  }
}

/** The answer when a live record turned up: that record, or — should it be gone already — a busy key to retry. */
function afterRace(state: KeyState): Answer {
  return state.kind === 'free' ? { kind: 'in_use' } : state;
}

/** Puts the reply's headers back as they were before a discarded run of the handler. */
function restoreHeaders(reply: FastifyReply, before: ReturnType<FastifyReply['getHeaders']>): void {
  for (const name of Object.keys(reply.getHeaders())) if (!(name in before)) reply.removeHeader(name);
  reply.headers(before);
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
 * registration, by one that runs in one transaction: take the key, run the
 * handler, store its response, commit. The key is held by that transaction
 * alone, so a crash leaves either nothing or the finished result; a record
 * already there (a retry) rolls the run back and is the answer. So a handler
 * may run more than once for one key: whatever it does outside the database
 * must wait for the commit (`Transactor.afterCommit`, as charges do). Schema
 * validation happens before the handler, so a rejected request never touches
 * the key.
 */
export function registerIdempotency(app: FastifyInstance, options: IdempotencyOptions): void {
  const { store, clock, timings } = options;
  const required = new Set(options.required);

  // What the error handler would send for an error thrown by a handler, as a stored response.
  const renderThrown = (error: unknown, request: FastifyRequest): StoredResponse => {
    const appError = toAppError(error, options.bodyLimit);
    const headers: Record<string, string> = { ...problemHeaders(appError), 'content-type': PROBLEM_CONTENT_TYPE, 'x-request-id': request.id };
    return { status: appError.status, headers, body: JSON.stringify(toProblem(appError, request, options.publicUrl)), json: true };
  };

  // In the transaction that holds the key: only a success commits, together with its record.
  const execute = (claim: KeyClaim, run: () => ReturnType<typeof capture>): Promise<Answer> =>
    store.hold(claim, timings, async () => {
      const captured = await run();
      if (captured.response.status >= 400) throw new RolledBack(captured.response);
      if (!(await store.record(claim, captured.response, clock.now(), timings))) throw new RaceLost();
      return { kind: 'fresh', ...captured };
    });

  // A request that began executing and was refused (4xx): its answer becomes the key's, unless a record is there already.
  const recordRefusal = async (claim: KeyClaim, response: StoredResponse, request: FastifyRequest): Promise<Answer> => {
    try {
      await store.hold(
        claim,
        timings,
        async () => {
          if (!(await store.record(claim, response, clock.now(), timings))) throw new RaceLost();
        },
        { wait: true },
      );
    } catch (error) {
      if (error instanceof RaceLost) return afterRace(await store.read(claim, clock.now()));
      throw error;
    }
    request.log.info({ status: response.status }, 'request rejected (recorded under its idempotency key)');
    return { kind: 'fresh', response };
  };

  // After the transaction rolled back. The record is only looked for now: a retry of a finished request runs the
  // handler again (rolled back, nothing leaves) and then finds the record in its way.
  const recover = async (claim: KeyClaim, error: unknown, request: FastifyRequest): Promise<Answer> => {
    if (error instanceof KeyInUseError) return { kind: 'in_use' };
    if (error instanceof RaceLost) return afterRace(await store.read(claim, clock.now()));
    const failed = error instanceof RolledBack ? error.response : renderThrown(error, request);
    if (outcomeDisposition(failed.status) === 'record') return recordRefusal(claim, failed, request);
    // A 5xx records nothing; but a finished request's record, if any, is still its answer.
    const state = await store.read(claim, clock.now()).catch((): KeyState => ({ kind: 'free' }));
    if (state.kind !== 'free') return state;
    if (error instanceof RolledBack) return { kind: 'fresh', response: failed };
    throw error;
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

      const claim: KeyClaim = { principal: principal.userId, key, fingerprint: requestFingerprint(request.method, request.url, request.body) };
      const before = reply.getHeaders();
      let result: Answer;
      try {
        result = await execute(claim, () => capture(handler, this, request, reply));
      } catch (error) {
        result = await recover(claim, error, request);
      }
      // Anything but this run's own success answers without the headers this run of the handler set.
      if (result.kind !== 'fresh' || result.payload === undefined) restoreHeaders(reply, before);
      return answer(reply, result);
    };
  });
}

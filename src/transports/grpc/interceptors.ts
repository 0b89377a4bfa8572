import { randomUUID } from 'node:crypto';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import type { Logger } from 'pino';
import type { Clock } from '../../domain/shared/clock.ts';
import { AppError, GRPC_STATUS } from '../../domain/shared/errors.ts';
import type { Authenticator } from '../../platform/auth/index.ts';
import { asAppError } from '../../platform/errors/index.ts';
import { rateLimitHeaders, seconds } from '../../platform/rate-limit/rate-limit.headers.ts';
import type { RateLimiting } from '../../infra/redis/rate-limiting.ts';
import type { StatementDeadline } from '../../infra/db/statement-deadline.ts';
import { kCall, kPeer, type CallState } from './context.ts';
import { toConnectError } from './errors.ts';
import type { GrpcMetrics } from './metrics.ts';

/** How a method is called: whether it needs a caller, and whether it counts as a write for rate limiting. */
export interface MethodPolicy {
  auth: 'required' | 'optional' | 'none';
  write?: boolean;
  /** Not rate limited (health and reflection, like REST's ops routes). */
  unlimited?: boolean;
  /** The method's own names for canonical field paths in errors (`limit` → `page_size`). */
  fields?: Readonly<Record<string, string>>;
}

export interface InterceptorDeps {
  authenticator: Authenticator;
  rateLimiting: RateLimiting;
  clock: Clock;
  logger: Logger;
  metrics: GrpcMetrics;
  /** `service/method` → policy; methods not listed need a caller. */
  policies: Readonly<Record<string, MethodPolicy>>;
  /** Aborted when the server shuts down: open server streams end with UNAVAILABLE. */
  shutdown: AbortSignal;
  /** Runs a unary call's work whose deadline is shorter than `maxDeadlineMs` with its database statements bounded by it. */
  statementDeadline: StatementDeadline;
  maxDeadlineMs: number;
}

const TIMEOUT_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/** The caller's deadline in ms from `grpc-timeout` (gRPC, gRPC-Web) or `connect-timeout-ms` (Connect), if any. */
export function requestTimeoutMs(header: Headers): number | undefined {
  const grpc = /^(\d{1,8})([HMSmun])$/.exec(header.get('grpc-timeout') ?? '');
  if (grpc) return Number(grpc[1]) * TIMEOUT_UNITS[grpc[2]!]!;
  const connect = /^\d{1,10}$/.exec(header.get('connect-timeout-ms') ?? '');
  return connect ? Number(connect[0]) : undefined;
}

/** `work`, or DEADLINE_EXCEEDED as soon as the call's signal says its deadline passed (the work is left to its statement timeout). */
function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal, deadlineAt: number): Promise<T> {
  work.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      const reason: unknown = signal.reason;
      // The client gives up at its deadline too: whichever side noticed first, the deadline is what passed.
      const passed = (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) || Date.now() >= deadlineAt - 5;
      if (passed) reject(new AppError('DEADLINE_EXCEEDED', 'The deadline passed before the call finished'));
      else reject(reason instanceof Error ? reason : new ConnectError('cancelled', Code.Canceled));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Canonical gRPC status names by number (google.rpc.Code), as the registry spells them. */
const STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(GRPC_STATUS).map(([name, value]) => [value, name]));
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const DEFAULT_POLICY: MethodPolicy = { auth: 'required' };

const KINDS: Record<string, string> = { unary: 'unary', server_streaming: 'server_stream', client_streaming: 'client_stream', bidi_streaming: 'bidi_stream' };

/** What every call of one method shares: its policy, its log name and its metric series (prom-client hashes labels on every update otherwise). */
interface MethodFacts {
  policy: MethodPolicy;
  rpc: string;
  started: { inc(): void };
  seconds: { observe(value: number): void };
  handled(code: string): { inc(): void };
}

function methodFacts(deps: InterceptorDeps, service: string, method: { name: string; methodKind: string }): MethodFacts {
  const labels = { grpc_type: KINDS[method.methodKind] ?? method.methodKind, grpc_service: service, grpc_method: method.name };
  const handled = new Map<string, { inc(): void }>();
  return {
    policy: deps.policies[`${service}/${method.name}`] ?? DEFAULT_POLICY,
    rpc: `${service}/${method.name}`,
    started: deps.metrics.started.labels(labels),
    seconds: deps.metrics.seconds.labels(labels),
    handled(code) {
      let series = handled.get(code);
      if (!series) handled.set(code, (series = deps.metrics.handled.labels({ ...labels, grpc_code: code })));
      return series;
    },
  };
}

/**
 * Stoa's one gRPC interceptor, run around every method on every protocol (the
 * gRPC port and Connect/gRPC-Web under /rpc): request id (from `x-request-id`
 * or new; echoed in the response metadata and in every log line), the caller
 * from `authorization: Bearer …` or `x-api-key` through the platform
 * authenticator, rate limiting through the same limiter and policies as REST,
 * a log line and metrics per call, and every error as a registry status with details.
 */
export function stoaInterceptor(deps: InterceptorDeps): Interceptor {
  const { limiter, policies, clientIp } = deps.rateLimiting;
  // Keyed by the method's descriptor, one object per method for the life of the process.
  const facts = new Map<object, MethodFacts>();
  return (next) => async (req) => {
    const started = performance.now();
    const started0 = Date.now();
    const given = req.header.get('x-request-id');
    const requestId = given !== null && REQUEST_ID.test(given) ? given : (req.contextValues.get(kPeer).requestId ?? randomUUID());
    const service = req.service.typeName;
    let known = facts.get(req.method);
    if (!known) facts.set(req.method, (known = methodFacts(deps, service, req.method)));
    const { policy } = known;
    const bindings = { request_id: requestId, rpc: known.rpc };
    let child: Logger | undefined;
    // The call's child logger is made only when a handler logs; the interceptor's own line carries the same fields.
    const call: CallState = {
      requestId,
      principal: null,
      get log() {
        return (child ??= deps.logger.child(bindings));
      },
    };
    req.contextValues.set(kCall, call);
    known.started.inc();
    const meta: Record<string, string> = { 'x-request-id': requestId };

    let finished = false;
    const finish = (code: Code | 0, error?: unknown) => {
      if (finished) return;
      finished = true;
      const elapsed = (performance.now() - started) / 1000;
      const codeName = STATUS_NAMES[code] ?? String(code);
      known.handled(codeName).inc();
      known.seconds.observe(elapsed);
      const line = { ...bindings, grpc_code: codeName, duration_ms: Math.round(elapsed * 10_000) / 10, principal: call.principal?.userId };
      if (code === Code.Internal || code === Code.Unknown) deps.logger.error({ ...line, err: error }, 'rpc failed');
      else if (deps.logger.isLevelEnabled('info')) deps.logger.info(line, 'rpc completed');
    };
    const fail = (error: unknown): ConnectError => {
      const failure = asFailure(error, meta, policy);
      finish(failure.code, error instanceof AppError || error instanceof ConnectError ? undefined : error);
      return failure;
    };

    try {
      if (policy.auth !== 'none') {
        call.principal = await deps.authenticator.authenticate({
          authorization: req.header.get('authorization') ?? undefined,
          apiKey: req.header.get('x-api-key') ?? undefined,
        });
        if (call.principal === null && policy.auth === 'required') {
          throw new AppError('UNAUTHENTICATED', 'Authentication required: send "authorization: Bearer <access token or API key>" or "x-api-key" metadata');
        }
      }
      if (limiter && !policy.unlimited) {
        const peer = req.contextValues.get(kPeer);
        const ip = clientIp.resolve(peer.address, peer.forwardedFor);
        const principal = call.principal;
        const checks = policies.checksFor(
          { subject: principal ? (principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`) : `ip:${ip}`, ip, plan: principal?.plan ?? 'free' },
          { write: policy.write === true },
        );
        if (checks.length > 0) {
          const decision = await limiter.decide(checks);
          Object.assign(meta, rateLimitHeaders(decision, deps.clock.now().getTime()));
          if (!decision.allowed) {
            const retry = Math.max(1, seconds(decision.retryAfterMs));
            const first = decision.violated[0]!;
            throw new AppError('RATE_LIMITED', `Rate limit "${first.name}" (${first.limit} requests per ${first.windowMs / 1000} s) exceeded; retry in ${retry} s`, {
              retryAfterSeconds: retry,
              extensions: { retry_after: retry, 'violated-policies': decision.violated.map((p) => p.name) },
            });
          }
        }
      }
      const timeoutMs = req.stream ? undefined : requestTimeoutMs(req.header);
      const res =
        timeoutMs !== undefined && timeoutMs < deps.maxDeadlineMs
          ? await beforeDeadline(
              deps.statementDeadline(timeoutMs, () => next(req)),
              req.signal,
              started0 + timeoutMs,
            )
          : await next(req);
      for (const [name, value] of Object.entries(meta)) res.header.set(name, value);
      if (!res.stream) {
        finish(0);
        return res;
      }
      return { ...res, message: guarded(res.message, deps.shutdown, () => finish(0), fail) };
    } catch (error) {
      throw fail(error);
    }
  };
}

/** Anything thrown in a call, as the status the caller gets (with the request id in its metadata). */
function asFailure(error: unknown, meta: Record<string, string>, policy: MethodPolicy): ConnectError {
  if (error instanceof ConnectError && !(error.cause instanceof AppError)) {
    for (const [name, value] of Object.entries(meta)) error.metadata.set(name, value);
    return error;
  }
  const appError = error instanceof ConnectError ? (error.cause as AppError) : asAppError(error);
  return toConnectError(appError, meta, (field) => policy.fields?.[field] ?? field);
}

/**
 * A server stream as the caller reads it: errors become statuses, the
 * server's shutdown ends it with UNAVAILABLE (clients reconnect elsewhere),
 * and its end — however it ends, the client cancelling included — closes the
 * handler's generator, which frees what it holds.
 */
async function* guarded<T>(source: AsyncIterable<T>, shutdown: AbortSignal, done: () => void, fail: (error: unknown) => ConnectError): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let onShutdown: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    onShutdown = () => reject(new ConnectError('The server is shutting down; reconnect', Code.Unavailable));
    if (shutdown.aborted) onShutdown();
    else shutdown.addEventListener('abort', onShutdown, { once: true });
  });
  stopped.catch(() => {});
  try {
    for (;;) {
      const step = await Promise.race([iterator.next(), stopped]);
      if (step.done) break;
      yield step.value;
    }
    done();
  } catch (error) {
    throw fail(error);
  } finally {
    shutdown.removeEventListener('abort', onShutdown!);
    // Not awaited: a handler waiting for its next item settles once its signal (aborted with the call) wakes it.
    void iterator.return?.()?.catch(() => {});
    // A client that cancelled never reaches done(): count it as CANCELLED.
    fail(new ConnectError('cancelled by the client', Code.Canceled));
  }
}

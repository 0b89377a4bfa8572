import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { AppError } from '../../../domain/shared/errors.ts';
import type { ClientIpResolver } from '../../../platform/rate-limit/client-ip.ts';
import type { LoadShedder } from '../../../platform/rate-limit/load-shedder.ts';
import { seconds, writeRateLimitHeaders } from '../../../platform/rate-limit/rate-limit.headers.ts';
import type { RateLimitDecision, RateLimiter } from '../../../platform/rate-limit/rate-limit.limiter.ts';
import { createRateLimitMetrics } from '../../../platform/rate-limit/rate-limit.metrics.ts';
import type { PolicySet, RequestClasses } from '../../../platform/rate-limit/rate-limit.policy.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false`: this route is never rate limited. */
    rateLimit?: false;
  }
  interface FastifyRequest {
    rateLimit: RateLimitDecision | null;
  }
}

export interface RateLimitingOptions {
  /** null when rate limiting is off. */
  limiter: RateLimiter | null;
  policies: PolicySet;
  clientIp: ClientIpResolver;
  /** null when load shedding is off. */
  shedder: LoadShedder | null;
  metrics: Registry;
  /** Milliseconds since the epoch, for `X-RateLimit-Reset`. */
  now?: () => number;
  /** Routes never limited nor shed: path prefixes. */
  exempt?: readonly string[];
  /** POST routes that take `{email, password}` (limited per IP and per account); any `…/auth/login` and `…/auth/browser/login` by default. */
  isLoginRoute?: (url: string) => boolean;
}

/** Health, readiness, metrics and the API description are never limited nor shed. */
export const EXEMPT_PREFIXES = ['/healthz', '/readyz', '/metrics', '/docs', '/openapi.json', '/problems/'];
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function appendHook<T>(existing: T | T[] | undefined, hook: T): T[] {
  return existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
}

function accountOf(body: unknown): string | undefined {
  const email = (body as { email?: unknown } | null)?.email;
  if (typeof email !== 'string' || email === '') return undefined;
  // Hashed so no address sits in Redis key names.
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32);
}

function hasSearchParameter(schema: unknown): boolean {
  const properties = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties !== undefined && 'q' in properties;
}

/**
 * The Fastify adapter. Load shedding is one app-wide `onRequest` hook that
 * reads a flag (the shedder samples on a timer). Rate limiting is attached
 * per route at registration — exempt routes get no hook at all — as an
 * `onRequest` hook after authentication (the plan and subject need the
 * principal), or `preValidation` on login routes (the account is in the body),
 * which writes the headers as soon as it has decided (they stay on every
 * answer, errors included). A route-level `onError` counts requests refused
 * before the limiter ran, and routes that can answer 304 get an `onSend` that
 * refunds it.
 */
export function registerRateLimiting(app: FastifyInstance, options: RateLimitingOptions): void {
  const { limiter, policies, clientIp, shedder } = options;
  const now = options.now ?? Date.now;
  const exempt = options.exempt ?? EXEMPT_PREFIXES;
  const isLoginRoute = options.isLoginRoute ?? ((url: string) => url.endsWith('/auth/login') || url.endsWith('/auth/browser/login'));
  const isExempt = (url: string) => exempt.some((prefix) => (prefix.endsWith('/') ? url.startsWith(prefix) : url === prefix || url.startsWith(`${prefix}/`)));
  const observer = createRateLimitMetrics(options.metrics, app.log);

  if (shedder) {
    const exemptRoutes = new Set<string>();
    app.addHook('onRoute', (route) => {
      if (isExempt(route.url)) exemptRoutes.add(route.url);
    });
    app.addHook('onRequest', (request, _reply, done) => {
      const reason = shedder.reason;
      if (reason === null || exemptRoutes.has(request.routeOptions.url ?? '')) return done();
      observer.shed(reason);
      const retry = shedder.retryAfterSeconds;
      done(
        new AppError('OVERLOADED', `The server is overloaded (${reason === 'heap' ? 'memory' : 'event-loop delay'}); retry in ${retry} s`, {
          retryAfterSeconds: retry,
          extensions: { retry_after: retry },
        }),
      );
    });
    app.addHook('onReady', async () => shedder.start());
    app.addHook('onClose', async () => shedder.stop());
  }

  if (!limiter) return;
  limiter.observer = observer;
  app.decorateRequest('rateLimit', null);

  /** A route's classes, fixed at registration: with and without a search term. */
  interface RouteClasses {
    readonly plain: RequestClasses;
    readonly searching: RequestClasses | null;
  }

  function decide(request: FastifyRequest, route: RouteClasses): RateLimitDecision | Promise<RateLimitDecision> | null {
    const principal = request.principal;
    const ip = clientIp.resolve(request.socket.remoteAddress, request.headers['x-forwarded-for']);
    const q = route.searching ? (request.query as { q?: unknown } | undefined)?.q : undefined;
    const classes = typeof q === 'string' && q !== '' ? route.searching! : route.plain;
    const checks = policies.checksFor(
      {
        subject: principal ? (principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`) : `ip:${ip}`,
        ip,
        plan: principal?.plan ?? 'free',
        account: classes.login ? accountOf(request.body) : undefined,
      },
      classes,
    );
    return checks.length === 0 ? null : limiter!.decide(checks);
  }

  /** Keeps the decision, writes its headers, and turns a rejection into the 429 problem. */
  function apply(request: FastifyRequest, reply: FastifyReply, decision: RateLimitDecision): AppError | undefined {
    request.rateLimit = decision;
    writeRateLimitHeaders(reply, decision, now());
    if (decision.allowed) return undefined;
    const retry = Math.max(1, seconds(decision.retryAfterMs));
    const first = decision.violated[0]!;
    const detail =
      decision.degraded === 'closed'
        ? `Rate limit "${first.name}" cannot be checked right now (its store is unavailable and it fails closed); retry in ${retry} s`
        : `Rate limit "${first.name}" (${first.limit} requests per ${first.windowMs / 1000} s) is exhausted; retry in ${retry} s`;
    return new AppError('RATE_LIMITED', detail, {
      retryAfterSeconds: retry,
      extensions: { retry_after: retry, 'violated-policies': decision.violated.map((p) => p.name) },
    });
  }

  function limitHook(classes: RouteClasses) {
    // Callback style: on the memory store the decision is synchronous and the hook costs no promise.
    return function rateLimit(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
      const pending = decide(request, classes);
      if (pending === null) return done();
      if (!(pending instanceof Promise)) return done(apply(request, reply, pending));
      pending.then((decision) => done(apply(request, reply, decision)), done);
    };
  }

  /**
   * Refused before the limiter ran (bad credentials, a malformed body): still
   * counted, so guessing credentials is limited too, and the answer carries the
   * headers like every other. Shed answers (503) and failures are not.
   */
  function refusedEarlyHook(classes: RouteClasses) {
    return function countRefusal(request: FastifyRequest, reply: FastifyReply, error: unknown, done: () => void): void {
      const status = (error as { status?: unknown; statusCode?: unknown } | null) ?? {};
      const code = typeof status.status === 'number' ? status.status : typeof status.statusCode === 'number' ? status.statusCode : 500;
      const pending = request.rateLimit === null && code < 500 ? decide(request, classes) : null;
      if (pending === null) return done();
      if (!(pending instanceof Promise)) return void (apply(request, reply, pending), done());
      pending.then((decision) => void (apply(request, reply, decision), done()), () => done());
    };
  }

  /** A 304 does not consume quota: give the unit back and show the count without it. */
  function notModifiedHook(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void): void {
    const decision = request.rateLimit;
    if (decision !== null && decision.allowed && reply.statusCode === 304) {
      void limiter!.refund(decision);
      writeRateLimitHeaders(reply, decision, now(), decision.cost);
    }
    done(null, payload);
  }

  app.addHook('onRoute', (route) => {
    if (route.config?.rateLimit === false || isExempt(route.url)) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const login = methods.includes('POST') && isLoginRoute(route.url);
    const plain = { login, write: !login && methods.some((m) => WRITE_METHODS.has(m)), search: false };
    const classes: RouteClasses = { plain, searching: hasSearchParameter(route.schema?.querystring) ? { ...plain, search: true } : null };
    // Fastify's hook option types are unions per handler shape; these handlers fit every shape they are put in.
    const hook = limitHook(classes) as never;
    if (login) route.preValidation = appendHook<unknown>(route.preValidation, hook) as never;
    else route.onRequest = appendHook<unknown>(route.onRequest, hook) as never;
    route.onError = appendHook<unknown>(route.onError, refusedEarlyHook(classes)) as never;
    if (mayAnswerNotModified(methods, route.schema?.response)) route.onSend = appendHook<unknown>(route.onSend, notModifiedHook) as never;
  });
}

/**
 * Only a GET or HEAD can answer 304, and Stoa's routes declare every status
 * they answer; a route without a response schema might answer anything.
 */
function mayAnswerNotModified(methods: readonly string[], responses: unknown): boolean {
  if (!methods.includes('GET') && !methods.includes('HEAD')) return false;
  return responses === undefined || responses === null || typeof responses !== 'object' || '304' in responses;
}

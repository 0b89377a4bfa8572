/**
 * The `contract` column of bench/grpc.ts: the bare grpc-js GetUser handler
 * plus only the work issue 16 asks of every call, written straight into the
 * handler with the libraries Stoa uses (grpc-js, pino, prom-client) and none
 * of Stoa's structure — no interceptor chain, no Connect-shaped request, no
 * domain service. Its calls/s against the bare server's is the ceiling for
 * any implementation of the contract on grpc-js, as the pipeline ladder is
 * for REST:
 *
 * - request id: `x-request-id` kept when plain, else a UUID; echoed in the
 *   response metadata and in the log line;
 * - authentication: `x-api-key`, its SHA-256 looked up in an in-process Map
 *   (a credential cache), revoked/expired/owner-status and scope checks;
 *   UNAUTHENTICATED without it;
 * - rate limiting: one fixed-window counter per key (the plan policy) in a
 *   Map, as Stoa's memory store decides on the embedded default, or with a
 *   Redis client one EVALSHA of a script that counts it (INCR + PEXPIRE), as
 *   Stoa's Redis store decides; its `ratelimit`, `ratelimit-policy` and
 *   `x-ratelimit-*` fields in the response metadata, RESOURCE_EXHAUSTED past
 *   the limit;
 * - metrics: started and handled counters and a latency histogram per method
 *   (go-grpc-prometheus's names and labels);
 * - one pino JSON line per call to /dev/null through sonic-boom, asynchronous.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';

export interface ContractKey {
  secret: string;
  id: string;
  userId: string;
  scopes: readonly string[];
}

interface StoredKey {
  id: string;
  userId: string;
  scopes: Set<string>;
  revokedAt: Date | null;
  expiresAt: Date | null;
  ownerStatus: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const LIMIT = 100_000_000;
const WINDOW_MS = 60_000;
const SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

/**
 * Wraps `answer` (the bare handler's work: read the row, build the message)
 * in the contract's work for method `path`.
 */
export function contractHandler(
  path: string,
  key: ContractKey,
  answer: (id: string) => Promise<unknown>,
  redis?: Redis,
): (call: grpc.ServerUnaryCall<{ id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => void {
  const keys = new Map<string, StoredKey>([[createHash('sha256').update(key.secret).digest('hex'), { id: key.id, userId: key.userId, scopes: new Set(key.scopes), revokedAt: null, expiresAt: null, ownerStatus: 'active' }]]);
  const windows = new Map<string, { start: number; count: number }>();
  const prefix = `bench:grpc-contract:${randomUUID().slice(0, 8)}:`;
  let sha: Promise<string> | undefined;
  /** The key's count in its window and the ms until the window ends. */
  const count = async (keyId: string, now: number): Promise<[number, number]> => {
    if (redis) {
      sha ??= redis.script('LOAD', SCRIPT) as Promise<string>;
      return (await redis.evalsha(await sha, 1, `${prefix}${keyId}`, WINDOW_MS)) as [number, number];
    }
    let window = windows.get(keyId);
    if (!window || now - window.start >= WINDOW_MS) windows.set(keyId, (window = { start: now, count: 0 }));
    return [++window.count, window.start + WINDOW_MS - now];
  };
  const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const registry = new Registry();
  const [, service = '', method = ''] = path.split('/');
  const labels = { grpc_type: 'unary', grpc_service: service, grpc_method: method };
  const started = new Counter({ name: 'grpc_server_started_total', help: 'started', labelNames: ['grpc_type', 'grpc_service', 'grpc_method'], registers: [registry] }).labels(labels);
  const handled = new Counter({ name: 'grpc_server_handled_total', help: 'handled', labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'], registers: [registry] });
  const seconds = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'latency',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300],
    registers: [registry],
  }).labels(labels);
  const handledOk = handled.labels({ ...labels, grpc_code: 'OK' });

  return (call, callback) => {
    const t0 = performance.now();
    started.inc();
    const given = call.metadata.get('x-request-id')[0];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    const finish = (code: string, userId: string | undefined) => {
      const elapsed = (performance.now() - t0) / 1000;
      (code === 'OK' ? handledOk : handled.labels({ ...labels, grpc_code: code })).inc();
      seconds.observe(elapsed);
      log.info({ request_id: requestId, rpc: path.slice(1), grpc_code: code, duration_ms: Math.round(elapsed * 10_000) / 10, principal: userId }, 'rpc completed');
    };
    const fail = (code: grpc.status, name: string, details: string, metadata = new grpc.Metadata()) => {
      metadata.set('x-request-id', requestId);
      finish(name, undefined);
      callback({ code, details, metadata });
    };

    const secret = call.metadata.get('x-api-key')[0];
    const stored = typeof secret === 'string' ? keys.get(createHash('sha256').update(secret).digest('hex')) : undefined;
    const now = Date.now();
    if (!stored || stored.revokedAt !== null || (stored.expiresAt !== null && stored.expiresAt.getTime() <= now) || stored.ownerStatus !== 'active') {
      return fail(grpc.status.UNAUTHENTICATED, 'UNAUTHENTICATED', 'Authentication required');
    }
    if (!stored.scopes.has('users:read')) return fail(grpc.status.PERMISSION_DENIED, 'PERMISSION_DENIED', 'Missing scope users:read');

    count(stored.id, now)
      .then(async ([used, ttl]) => {
        const remaining = Math.max(0, LIMIT - used);
        const metadata = new grpc.Metadata();
        metadata.set('x-request-id', requestId);
        metadata.set('ratelimit-policy', `"free";q=${LIMIT};w=60`);
        metadata.set('ratelimit', `"free";r=${remaining};t=${Math.ceil(ttl / 1000)}`);
        metadata.set('x-ratelimit-limit', String(LIMIT));
        metadata.set('x-ratelimit-remaining', String(remaining));
        metadata.set('x-ratelimit-reset', String(Math.ceil((now + ttl) / 1000)));
        if (used > LIMIT) return fail(grpc.status.RESOURCE_EXHAUSTED, 'RESOURCE_EXHAUSTED', 'Rate limit exceeded', metadata);
        const message = await answer(call.request.id);
        if (message === undefined) return fail(grpc.status.NOT_FOUND, 'NOT_FOUND', 'User not found');
        call.sendMetadata(metadata);
        finish('OK', stored.userId);
        callback(null, message);
      })
      .catch((error: Error) => fail(grpc.status.INTERNAL, 'INTERNAL', error.message));
  };
}

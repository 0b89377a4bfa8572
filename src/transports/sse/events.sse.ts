import type { FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import { checkTypePatterns, matchesTypes, presentEvent, type StoredEvent } from '../../domain/events/index.ts';
import { AppError } from '../../domain/shared/errors.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import { credentialExpiry } from '../../platform/auth/tickets.ts';
import type { Realtime } from '../../platform/realtime/index.ts';

export const EVENT_STREAM = 'text/event-stream';

// One serialization per event, however many streams it goes to.
const frames = new WeakMap<StoredEvent, string>();
function frameOf(event: StoredEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) frames.set(event, (frame = `id: ${event.sequence}\nevent: ${event.type}\ndata: ${JSON.stringify(presentEvent(event))}\n\n`));
  return frame;
}
/** What the stream starts with: EventSource waits this long before reconnecting. */
export const SSE_RETRY_MS = 3000;

/** True when the client asked for `text/event-stream` over JSON (EventSource sends exactly that). */
export function wantsEventStream(request: FastifyRequest, produces: readonly string[]): boolean {
  const accept = request.headers.accept;
  if (!accept) return false;
  return new Negotiator({ headers: { accept } }).mediaType([...produces]) === EVENT_STREAM;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface EventStreamQuery {
  type?: string | undefined;
  last_event_id?: string | undefined;
  ticket?: string | undefined;
}

/**
 * Serves `GET /v1/events` as Server-Sent Events: `retry: 3000`, then each
 * visible event as `id`/`event`/`data` (the event as the JSON list shows it),
 * resuming after `Last-Event-ID` (or `?last_event_id=`), filtered by `type=`,
 * with a `: keep-alive` comment every STOA_SSE_HEARTBEAT_MS. Refusals (401,
 * 403, 400, 429) are thrown before the stream starts, so they are problem
 * documents. A client that does not read is dropped once its unsent data
 * passes STOA_STREAM_MAX_BUFFERED_BYTES; on shutdown every stream ends with a
 * final comment.
 */
export class EventStreams {
  readonly #realtime: Realtime;
  readonly #open = new Set<(comment: string) => void>();

  constructor(realtime: Realtime) {
    this.#realtime = realtime;
  }

  get openCount(): number {
    return this.#open.size;
  }

  /** Ends every open stream after a final comment (server shutdown). */
  endAll(comment = 'server shutting down; reconnect with Last-Event-ID'): void {
    for (const end of [...this.#open]) end(comment);
  }

  async serve(request: FastifyRequest, reply: FastifyReply, query: EventStreamQuery): Promise<void> {
    const realtime = this.#realtime;
    let principal: Principal | null = request.principal;
    let expiresAt: Date | null = null;
    if (principal) {
      expiresAt = credentialExpiry(principal, header(request, 'authorization'));
    } else if (query.ticket !== undefined) {
      const grant = await realtime.tickets.redeem(query.ticket);
      if (!grant) throw new AppError('UNAUTHENTICATED', 'The ticket is unknown, used or expired: get a new one from POST /v1/realtime/tickets', { authChallenge: { error: 'invalid_token' } });
      principal = grant.principal;
      expiresAt = grant.credentialExpiresAt;
    } else {
      throw new AppError('UNAUTHENTICATED', 'Authentication required: send "Authorization: Bearer <access token or API key>", "X-API-Key" or ?ticket=');
    }
    const types = query.type === undefined ? undefined : query.type.split(',').map((t) => t.trim());
    checkTypePatterns(types);
    // "The present" is fixed before the answer starts: an event committed once the client has the headers is never missed.
    const after = this.#resumePoint(request, query) ?? (await realtime.feed.head());
    const release = realtime.streams.acquire(principal);

    const raw = reply.raw;
    reply.hijack();
    const headers: Record<string, string | string[] | number> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value as string | string[] | number;
    delete headers['content-length'];
    delete headers['content-encoding'];
    raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      vary: 'Accept, Authorization, X-API-Key',
    });
    raw.write(`retry: ${SSE_RETRY_MS}\n\n`);

    let ended = false;
    const write = (chunk: string) => {
      if (ended) return;
      raw.write(chunk);
      // Never let a client that does not read grow memory: drop it past the bound.
      if (realtime.sendBuffers.exceeded(raw.writableLength)) {
        request.log.info({ buffered: raw.writableLength }, 'event stream dropped: the client does not read');
        finish(null);
        raw.destroy();
      }
    };
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), realtime.config.sseHeartbeatMs);
    let subscription: { close(): void } | null = null;
    let unwatch: () => void = () => {};
    const finish = (comment: string | null) => {
      if (ended) return;
      if (comment !== null) raw.write(`: ${comment}\n\n`);
      ended = true;
      clearInterval(heartbeat);
      subscription?.close();
      unwatch();
      release();
      this.#open.delete(end);
      if (comment !== null) raw.end();
    };
    const end = (comment: string) => finish(comment);
    this.#open.add(end);
    raw.on('close', () => finish(null));
    raw.on('error', () => finish(null));
    unwatch = realtime.watch.add({
      principal,
      expiresAt,
      close: (reason) => finish(reason === 'expired' ? 'the credential expired' : 'the credential was revoked'),
    });
    try {
      const sub = await realtime.hub.subscribe(
        {
          principal,
          accepts: (event) => matchesTypes(types, event.type),
          deliver: (event) => write(frameOf(event)),
        },
        after,
      );
      if (ended) sub.close();
      else subscription = sub;
    } catch (error) {
      request.log.error({ err: error }, 'event stream failed');
      finish('the stream failed; reconnect with Last-Event-ID');
    }
  }

  #resumePoint(request: FastifyRequest, query: EventStreamQuery): number | undefined {
    const fromHeader = header(request, 'last-event-id');
    if (fromHeader !== undefined && fromHeader.trim() !== '') {
      if (!/^\d{1,15}$/.test(fromHeader.trim())) throw new AppError('INVALID_HEADER', 'Last-Event-ID must be the sequence of an event (a non-negative integer)');
      return Number(fromHeader.trim());
    }
    const fromQuery = query.last_event_id;
    if (fromQuery !== undefined) {
      if (!/^\d{1,15}$/.test(fromQuery)) {
        throw new AppError('INVALID_PARAMETER', 'Invalid query parameter last_event_id: must be the sequence of an event', {
          errors: [{ field: 'last_event_id', code: 'invalid_value', message: 'must be a non-negative integer' }],
        });
      }
      return Number(fromQuery);
    }
    return undefined;
  }
}

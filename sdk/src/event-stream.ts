import { StoaError, type Problem } from './errors.ts';
import { buildUrl, type TransportConfig } from './http.ts';
import { backoffDelayMs, parseRetryAfterMs, retryableAnswer, sleep } from './retry.ts';
import { SseParser } from './sse.ts';

export interface EventStreamOptions {
  /** Event types or families to receive (`order.created`, `order.*`); all visible events when absent. */
  types?: string[];
  /**
   * Start after this event sequence (resume from a sequence you stored).
   * When absent the stream starts at the newest event visible now (one
   * list call), so that even a drop before the first event loses nothing.
   */
  after?: number;
  /** Ends the stream (the iterator finishes) when it aborts. */
  signal?: AbortSignal;
  /**
   * Authenticate each connection with a single-use ticket from
   * POST /realtime/tickets (`?ticket=`) instead of the credential header: for
   * environments that strip Authorization on streaming requests.
   */
  useTicket?: boolean;
  /** No byte for this long (the server sends a keep-alive comment every few seconds) → reconnect. Default 45 s. */
  idleTimeoutMs?: number;
  /** Backoff between reconnections: full jitter over [0, min(maxDelayMs, base · 2^n)]; base defaults to the server's `retry:` (else the client's retry base). */
  reconnect?: { baseDelayMs?: number; maxDelayMs?: number };
  /** Called before each reconnection (for logs and tests). */
  onReconnect?: (info: { delayMs: number; lastEventId: number | undefined; reason: unknown }) => void;
}

export interface EventStream<E> extends AsyncIterable<E> {
  /** The sequence of the last event yielded (store it to resume later with `after`). */
  readonly lastEventId: number | undefined;
  /** Stops the stream; a pending iteration finishes. */
  close(): void;
}

interface StreamSetup {
  transport: TransportConfig;
  path: string;
  /** Gets a ticket (POST /realtime/tickets). */
  ticket: () => Promise<string>;
  /** The sequence of the newest event the caller can see now (0 when none): where a live-only stream starts. */
  head: () => Promise<number>;
}

const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

/**
 * The event stream over SSE on fetch: one connection at a time, resumed with
 * `Last-Event-ID` after any drop (network error, server end, idle timeout,
 * retryable refusal), each event yielded once — a sequence at or below the
 * last one yielded is skipped. Refusals that another try cannot fix (401,
 * 403, 400) end the iteration with their StoaError.
 */
export function openEventStream<E extends { sequence: number }>(setup: StreamSetup, options: EventStreamOptions = {}): EventStream<E> {
  const stop = new AbortController();
  const outer = options.signal;
  if (outer) {
    if (outer.aborted) stop.abort();
    else outer.addEventListener('abort', () => stop.abort(), { once: true });
  }
  let lastEventId = options.after;

  async function* run(): AsyncGenerator<E> {
    const { transport } = setup;
    const chosenBase = options.reconnect?.baseDelayMs;
    const cap = options.reconnect?.maxDelayMs ?? transport.retry.maxDelayMs;
    const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    let failures = 0;
    let serverRetry: number | undefined;
    try {
      while (!stop.signal.aborted) {
        let reason: unknown = 'the stream ended';
        let waitMs: number | null = null;
        const attempt = new AbortController();
        const onStop = () => attempt.abort();
        stop.signal.addEventListener('abort', onStop, { once: true });
        let idle: ReturnType<typeof setTimeout> | undefined;
        const armIdle = () => {
          clearTimeout(idle);
          idle = setTimeout(() => attempt.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
        };
        try {
          lastEventId ??= await setup.head();
          const headers = new Headers(transport.headers);
          headers.set('accept', 'text/event-stream');
          headers.set('cache-control', 'no-cache');
          const query: Record<string, unknown> = {};
          if (options.types?.length) query.type = options.types.join(',');
          if (options.useTicket) query.ticket = await setup.ticket();
          else {
            const authorization = await transport.authorization();
            if (authorization) headers.set('authorization', authorization);
          }
          if (lastEventId !== undefined) headers.set('last-event-id', String(lastEventId));
          armIdle();
          const response = await transport.fetch(buildUrl(transport.baseUrl, setup.path, query), { headers, signal: attempt.signal });
          if (!response.ok) {
            const text = await response.text();
            const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'));
            let problem: Problem | null = null;
            try {
              problem = JSON.parse(text) as Problem;
            } catch {
              problem = null;
            }
            const error = new StoaError({ status: response.status, problem, headers: response.headers, requestId: response.headers.get('x-request-id'), attempts: failures + 1, retryAfter: retryAfterMs === null ? null : Math.ceil(retryAfterMs / 1000), body: text });
            if (!retryableAnswer(response.status, problem?.code)) throw error;
            reason = error;
            waitMs = retryAfterMs;
          } else if (response.body) {
            const parser = new SseParser();
            const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
            try {
              for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                armIdle();
                for (const message of parser.push(value)) {
                  const event = JSON.parse(message.data) as E;
                  const sequence = message.id !== undefined && /^\d+$/.test(message.id) ? Number(message.id) : event.sequence;
                  if (lastEventId !== undefined && sequence <= lastEventId) continue;
                  lastEventId = sequence;
                  failures = 0;
                  yield event;
                }
                serverRetry = parser.retry ?? serverRetry;
              }
            } finally {
              reader.cancel().catch(() => {});
            }
          }
        } catch (error) {
          if (stop.signal.aborted) return;
          if (error instanceof StoaError) {
            if (!retryableAnswer(error.status, error.code)) throw error;
            if (error.retryAfter !== null) waitMs = error.retryAfter * 1000;
          }
          reason = error;
        } finally {
          clearTimeout(idle);
          stop.signal.removeEventListener('abort', onStop);
          attempt.abort();
        }
        const delayMs = waitMs ?? backoffDelayMs(failures, { baseDelayMs: chosenBase ?? serverRetry ?? transport.retry.baseDelayMs, maxDelayMs: cap }, transport.random);
        failures += 1;
        options.onReconnect?.({ delayMs, lastEventId, reason });
        try {
          await sleep(delayMs, stop.signal);
        } catch {
          return;
        }
      }
    } finally {
      stop.abort();
    }
  }

  const iterator = run();
  return {
    get lastEventId() {
      return lastEventId;
    },
    close: () => stop.abort(),
    [Symbol.asyncIterator]: () => iterator,
  };
}

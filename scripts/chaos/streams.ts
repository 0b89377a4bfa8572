import http from 'node:http';
import { WebSocket } from 'ws';

/**
 * Event streams by name — SSE on /v1/events, or a WebSocket on /v1/ws subscribed to the events channel —
 * each reopened on any live process whenever it ends (its process killed, its credential expired),
 * resuming after the last event it saw (Last-Event-ID, `after`): the sequences seen, for the
 * at-least-once check.
 */
export class Streams {
  readonly #seen = new Map<string, Set<number>>();
  /** Each stream's open connection, to end at closeAll. */
  readonly #live = new Map<string, { end(): void }>();
  /** Names that have been connected (SSE answered 200, WebSocket subscribed) at least once. */
  readonly #connected = new Set<string>();
  #closed = false;
  #turn = 0;
  constructor(private readonly urls: () => string[]) {}

  sequences(name: string): Set<number> {
    return this.#seen.get(name) ?? new Set();
  }

  /**
   * Keeps stream `name` open: `attach` connects it to a process's base URL and calls `again` when it ends
   * (only the first call counts); it is then reopened on the next live process.
   */
  #keepOpen(name: string, attach: (base: string, again: () => void) => { end(): void }): void {
    this.#seen.set(name, new Set());
    const connect = () => {
      if (this.#closed) return;
      const urls = this.urls();
      const base = urls[this.#turn++ % Math.max(1, urls.length)];
      if (!base) return void setTimeout(connect, 200);
      let done = false;
      const again = () => {
        if (done) return;
        done = true;
        this.#live.delete(name);
        if (!this.#closed) setTimeout(connect, 200);
      };
      this.#live.set(name, attach(base, again));
    };
    connect();
  }

  /** An SSE stream on /v1/events, resumed with Last-Event-ID. */
  open(name: string, auth: string): void {
    let lastId: string | undefined;
    this.#keepOpen(name, (base, again) => {
      const request = http.get(`${base}/v1/events`, { headers: { accept: 'text/event-stream', authorization: auth, ...(lastId ? { 'last-event-id': lastId } : {}) } }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          response.on('end', again);
          return;
        }
        this.#connected.add(name);
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let index: number;
          while ((index = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, index);
            buffer = buffer.slice(index + 2);
            const id = /^id: ?(\d+)$/m.exec(block)?.[1];
            if (id !== undefined && /^data:/m.test(block)) {
              this.#seen.get(name)!.add(Number(id));
              lastId = id;
            }
          }
        });
        response.on('end', again);
        response.on('close', again);
        response.on('error', () => undefined);
      });
      request.on('error', again);
      return { end: () => request.destroy() };
    });
  }

  /** A WebSocket on /v1/ws subscribed to the events channel, resumed with `after`. */
  openWs(name: string, auth: string, types: string[]): void {
    let after: number | undefined;
    this.#keepOpen(name, (base, again) => {
      const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws`, { headers: { authorization: auth } });
      socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', id: 'chaos', channel: 'events', types, ...(after !== undefined ? { after } : {}) })));
      socket.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as { type?: string; event?: { sequence?: number } };
        if (message.type === 'subscribed') this.#connected.add(name);
        if (message.type === 'event' && typeof message.event?.sequence === 'number') {
          this.#seen.get(name)!.add(message.event.sequence);
          after = Math.max(after ?? 0, message.event.sequence);
        }
      });
      socket.on('close', again);
      socket.on('error', again);
      return { end: () => socket.terminate() };
    });
  }

  /** Resolves once every stream has connected, so that none starts after events it should see. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ([...this.#seen.keys()].some((name) => !this.#connected.has(name))) {
      if (Date.now() > until) throw new Error(`streams not connected: ${[...this.#seen.keys()].filter((n) => !this.#connected.has(n)).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  closeAll(): void {
    this.#closed = true;
    for (const live of this.#live.values()) live.end();
  }
}

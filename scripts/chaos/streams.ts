import http from 'node:http';

/**
 * One SSE stream per name on /v1/events, reopened on any live process with Last-Event-ID whenever it
 * ends (its process killed, its credential expired): the sequences it saw, for the at-least-once check.
 */
export class Streams {
  readonly #seen = new Map<string, Set<number>>();
  readonly #requests = new Map<string, http.ClientRequest>();
  #closed = false;
  #turn = 0;
  constructor(private readonly urls: () => string[]) {}

  sequences(name: string): Set<number> {
    return this.#seen.get(name) ?? new Set();
  }

  open(name: string, auth: string): void {
    this.#seen.set(name, new Set());
    let lastId: string | undefined;
    const connect = () => {
      if (this.#closed) return;
      const urls = this.urls();
      const base = urls[this.#turn++ % Math.max(1, urls.length)];
      if (!base) return void setTimeout(connect, 200);
      let done = false;
      const again = () => {
        if (done) return;
        done = true;
        this.#requests.delete(name);
        if (!this.#closed) setTimeout(connect, 200);
      };
      const request = http.get(`${base}/v1/events`, { headers: { accept: 'text/event-stream', authorization: auth, ...(lastId ? { 'last-event-id': lastId } : {}) } }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          response.on('end', again);
          return;
        }
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
      this.#requests.set(name, request);
    };
    connect();
  }

  closeAll(): void {
    this.#closed = true;
    for (const request of this.#requests.values()) request.destroy();
  }
}

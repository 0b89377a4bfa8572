import http from 'node:http';
import { WebSocket } from 'ws';

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

/** Waits until `check` returns something, polling a buffer that fills as frames arrive. */
async function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface SseClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The raw body when the answer is not a stream. */
  body(): Promise<string>;
  frames: SseFrame[];
  ended: boolean;
  /** The data frames as parsed events. */
  events(): Array<{ id: string; event: string; data: Record<string, unknown> & { sequence: number; type: string } }>;
  waitFor<T>(check: (client: SseClient) => T | undefined, timeoutMs?: number, what?: string): Promise<T>;
  waitForEnd(timeoutMs?: number): Promise<void>;
  response: http.IncomingMessage;
  close(): void;
}

/** Opens GET `url` with `Accept: text/event-stream` and parses frames as they come. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      let buffer = '';
      let raw = '';
      const client: SseClient = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        frames: [],
        ended: false,
        response,
        body: () => new Promise((r) => (client.ended ? r(raw) : response.on('end', () => r(raw)))),
        events: () =>
          client.frames
            .filter((f) => f.data !== undefined)
            .map((f) => ({ id: f.id!, event: f.event!, data: JSON.parse(f.data!) as Record<string, unknown> & { sequence: number; type: string } })),
        waitFor: (check, timeoutMs = 5_000, what = 'a frame') => waitFor(() => check(client), timeoutMs, what),
        waitForEnd: (timeoutMs = 5_000) => waitFor(() => (client.ended ? true : undefined), timeoutMs, 'the end of the stream').then(() => {}),
        close: () => request.destroy(),
      };
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        let index: number;
        while ((index = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, index);
          buffer = buffer.slice(index + 2);
          const frame: SseFrame = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) frame.comment = line.slice(1).trim();
            else {
              const colon = line.indexOf(':');
              const field = line.slice(0, colon);
              const value = line.slice(colon + 1).replace(/^ /, '');
              if (field === 'id' || field === 'event' || field === 'data' || field === 'retry') frame[field] = value;
            }
          }
          client.frames.push(frame);
        }
      });
      const end = () => (client.ended = true);
      response.on('end', end);
      response.on('close', end);
      response.on('error', end);
      resolve(client);
    });
    request.on('error', reject);
  });
}

export interface WsClient {
  socket: WebSocket;
  messages: Array<Record<string, unknown> & { type: string }>;
  closed: { code: number; reason: string } | null;
  send(message: unknown): void;
  next(predicate: (m: Record<string, unknown> & { type: string }) => boolean, timeoutMs?: number, what?: string): Promise<Record<string, unknown> & { type: string }>;
  waitForClose(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Connects to a WebSocket URL; rejects with the HTTP status when the upgrade is refused. */
export function openWs(url: string, headers: Record<string, string> = {}, options: { autoPong?: boolean } = {}): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers, autoPong: options.autoPong ?? true });
    const client: WsClient = {
      socket,
      messages: [],
      closed: null,
      send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
      next: (predicate, timeoutMs = 5_000, what = 'a message') => waitFor(() => client.messages.find(predicate), timeoutMs, what),
      waitForClose: (timeoutMs = 5_000) => waitFor(() => client.closed ?? undefined, timeoutMs, 'the close'),
      close: () => socket.close(),
    };
    socket.on('message', (data) => client.messages.push(JSON.parse(String(data))));
    socket.on('close', (code, reason) => (client.closed = { code, reason: reason.toString() }));
    socket.on('open', () => resolve(client));
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body, headers: res.headers })));
    });
    socket.on('error', (error) => reject(error));
  });
}

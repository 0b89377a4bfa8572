import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { presentEvent, type StoredEvent } from '../../domain/events/index.ts';
import type { PostsService } from '../../domain/posts/index.ts';
import { AppError, ERROR_CODES } from '../../domain/shared/errors.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import type { Clock } from '../../domain/shared/clock.ts';
import type { Authenticator } from '../../platform/auth/index.ts';
import { asAppError } from '../../platform/errors/index.ts';
import { RealtimeSession, upgradeCredential, userPostsAuthorization, type ProtocolDeps, type Realtime, type ServerMessage, type StreamCredential } from '../../platform/realtime/index.ts';

/** Close codes of /v1/ws. */
export const WS_CLOSE = { goingAway: 1001, tooBig: 1009, tryAgainLater: 1013, unauthorized: 4401 } as const;

export const WS_PATHS = ['/v1/ws', '/v2/ws'];

export interface WebSocketDeps {
  realtime: Realtime;
  authenticator: Authenticator;
  posts: PostsService;
  clock: Clock;
  publicUrl: string;
  log: FastifyBaseLogger;
}

// The event as GET /v1/events shows it, made once however many subscribers it goes to.
const presented = new WeakMap<StoredEvent, Record<string, unknown>>();
function presentOnce(event: StoredEvent): Record<string, unknown> {
  let shown = presented.get(event);
  if (!shown) presented.set(event, (shown = presentEvent(event)));
  return shown;
}

type EventMessage = Extract<ServerMessage, { type: 'event' }>;

/**
 * A whole unmasked WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, the
 * payload length in 7, 16 or 64 bits) around `payload`.
 */
function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, header);
  return frame;
}

/**
 * The frames of event messages, built once per event being fanned out:
 * subscribers whose subscription id and channel are the same share one
 * frame. Only the current event is kept, so memory does not grow with the
 * ring of recent events.
 * Whole frames written to each socket (`textFrame` builds the same header
 * as ws's `Sender.frame`, public since websockets/ws#1016 but absent from
 * @types/ws): `ws.send` would frame every copy again — a
 * header buffer, cork, writev — and a string would also be measured and
 * encoded per socket; together ~25 % of a send's CPU (bench/README.md, realtime).
 */
class EventFrames {
  #event: Record<string, unknown> | null = null;
  #json = '';
  readonly #frames = new Map<string, Buffer>();
  #lastId = '';
  #lastChannel = '';
  #lastFrame: Buffer | null = null;

  frame(message: EventMessage): Buffer {
    if (message.event !== this.#event) {
      this.#event = message.event;
      this.#json = JSON.stringify(message.event);
      this.#frames.clear();
      this.#lastFrame = null;
    }
    // Most subscribers of one event share the previous one's id and channel: no key to build then.
    if (message.id === this.#lastId && message.channel === this.#lastChannel && this.#lastFrame !== null) return this.#lastFrame;
    const key = `${message.id}\n${message.channel}`;
    let frame = this.#frames.get(key);
    if (!frame) {
      frame = textFrame(Buffer.from(`{"type":"event","id":${JSON.stringify(message.id)},"channel":${JSON.stringify(message.channel)},"event":${this.#json}}`));
      if (this.#frames.size < 1_000) this.#frames.set(key, frame);
    }
    this.#lastId = message.id;
    this.#lastChannel = message.channel;
    this.#lastFrame = frame;
    return frame;
  }
}

interface Peer {
  socket: WebSocket;
  session: RealtimeSession;
  missedPongs: number;
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Refuses an upgrade with a plain HTTP answer (a problem document) before any WebSocket frame. */
function refuse(socket: Duplex, error: AppError, publicUrl: string, instance: string): void {
  const status = error.status;
  const body = JSON.stringify({
    type: `${publicUrl}/problems/${error.code.toLowerCase().replace(/_/g, '-')}`,
    title: ERROR_CODES[error.code].title,
    status,
    detail: error.message,
    instance,
    code: error.code,
  });
  const reason = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request';
  const headers = [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="stoa"'] : []),
    'Connection: close',
  ];
  if (socket.writable) socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
  else socket.destroy();
}

/**
 * The WebSocket adapter of `/v1/ws` over `ws`: authentication at the upgrade
 * (a failure is an HTTP 401/403 before any frame), then each text frame to
 * the protocol machine (platform/realtime/protocol.ts) and each of its
 * messages out as JSON. Pings every STOA_WS_PING_MS (a peer that answered
 * none of the last two is dropped); a peer whose unsent data passes
 * STOA_STREAM_MAX_BUFFERED_BYTES is closed with 1013; a frame over
 * STOA_WS_MAX_MESSAGE_BYTES closes with 1009 (`ws` maxPayload); a revoked or
 * expired credential closes with 4401.
 */
export class WebSocketGateway {
  readonly #deps: WebSocketDeps;
  readonly #wss: WebSocketServer;
  readonly #peers = new Set<Peer>();
  readonly #ping: NodeJS.Timeout;
  readonly #eventFrames = new EventFrames();
  /** What every connection's protocol machine shares (one object, not one per connection). */
  readonly #protocol: ProtocolDeps;

  constructor(deps: WebSocketDeps) {
    this.#deps = deps;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: deps.realtime.config.wsMaxMessageBytes, clientTracking: false, perMessageDeflate: false });
    this.#ping = setInterval(() => this.#heartbeat(), deps.realtime.config.wsPingMs);
    this.#ping.unref();
    const { realtime, posts, clock } = deps;
    this.#protocol = {
      hub: realtime.hub,
      chat: realtime.chat,
      clock,
      messagesPerSecond: realtime.config.wsMessagesPerSecond,
      present: presentOnce,
      ...userPostsAuthorization(posts),
    };
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /** The HTTP server's `upgrade` listener. */
  handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A named function, not a closure: a closure here would keep the request alive as long as the socket.
    socket.on('error', destroySocket);
    const url = new URL(request.url ?? '/', 'http://stoa.invalid');
    if (!WS_PATHS.includes(url.pathname)) {
      refuse(socket, new AppError('ROUTE_NOT_FOUND', `No WebSocket endpoint at ${url.pathname}: use /v1/ws`), this.#deps.publicUrl, url.pathname);
      return;
    }
    this.#authenticate(request, url).then(
      ({ principal, expiresAt }) => {
        if (socket.destroyed) return;
        this.#wss.handleUpgrade(request, socket, head, (ws) => this.#open(ws, socket, principal, expiresAt));
      },
      (error: unknown) => refuse(socket, asAppError(error), this.#deps.publicUrl, url.pathname),
    );
  };

  /** Closes every connection with 1001 (server shutdown). */
  closeAll(): void {
    clearInterval(this.#ping);
    for (const peer of [...this.#peers]) peer.socket.close(WS_CLOSE.goingAway, 'server shutting down');
  }

  async #authenticate(request: IncomingMessage, url: URL): Promise<StreamCredential> {
    const found = await upgradeCredential({ authenticator: this.#deps.authenticator, tickets: this.#deps.realtime.tickets }, request, url);
    if (found) return found;
    throw new AppError('UNAUTHENTICATED', 'Authentication required: send "Authorization: Bearer <access token or API key>", "X-API-Key" or ?ticket=');
  }

  /**
   * `raw` is the upgraded TCP socket `ws` writes its frames to. Event frames
   * are written to it whole, between `ws`'s own writes: `ws` writes each frame
   * in one synchronous call and, without permessage-deflate (off here), never
   * holds one back, so frames never interleave; `bufferedAmount` counts both.
   */
  #open(socket: WebSocket, raw: Duplex, principal: Principal, expiresAt: Date | null): void {
    const { realtime } = this.#deps;
    let closing = false;
    const close = (code: number, reason: string) => {
      if (closing) return;
      closing = true;
      socket.close(code, reason);
      // A peer that does not read may never take the close frame: do not wait for it.
      setTimeout(() => socket.terminate(), 2_000).unref();
    };
    const send = (message: ServerMessage) => {
      if (closing || socket.readyState !== socket.OPEN) return;
      if (message.type === 'event') raw.write(this.#eventFrames.frame(message));
      else socket.send(JSON.stringify(message));
      // ws queues without bound (ws#2009): bound it here.
      if (realtime.sendBuffers.exceeded(socket.bufferedAmount)) {
        this.#deps.log.info({ buffered: socket.bufferedAmount }, 'websocket closed: the peer does not read');
        close(WS_CLOSE.tryAgainLater, 'too much unread data');
      }
    };
    const session = new RealtimeSession(principal, { send }, this.#protocol);
    const peer: Peer = { socket, session, missedPongs: 0 };
    this.#peers.add(peer);
    const unwatch = realtime.watch.add({
      principal,
      expiresAt,
      close: (reason) => close(WS_CLOSE.unauthorized, reason === 'expired' ? 'credential expired' : 'credential revoked'),
    });
    socket.on('pong', () => (peer.missedPongs = 0));
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        send({ type: 'error', code: 'BAD_REQUEST', message: 'Send JSON text frames, not binary ones' });
        return;
      }
      session.receive(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closing = true;
      this.#peers.delete(peer);
      unwatch();
      session.close();
    });
  }

  #heartbeat(): void {
    for (const peer of this.#peers) {
      if (peer.missedPongs >= 2) {
        peer.socket.terminate();
        continue;
      }
      peer.missedPongs += 1;
      try {
        peer.socket.ping();
      } catch {
        peer.socket.terminate();
      }
    }
  }
}

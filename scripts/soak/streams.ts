/**
 * Streams held open through the soak: SSE on /v2/events and WebSocket
 * subscriptions on /v1/ws, read as they arrive; a few are closed and opened
 * again all along, so connection set-up and tear-down are soaked too.
 */
import http from 'node:http';
import { WebSocket } from 'ws';
import type { Actor, Outcome } from './mix.ts';

interface Held {
  kind: 'sse' | 'ws';
  actor: Actor;
  /** Closed by us: whatever happens next is not the server's doing. */
  closing: boolean;
  close(): void;
}

export class StreamPool {
  private readonly held: Held[] = [];
  private readonly outcomes: Outcome[] = [];
  frames = 0;
  opened = 0;

  constructor(private readonly url: string) {}

  /** Outcomes since the last call (opens, and closes the server made). */
  drain(): Outcome[] {
    return this.outcomes.splice(0);
  }

  get size(): number {
    return this.held.length;
  }

  async open(kind: 'sse' | 'ws', actor: Actor): Promise<void> {
    const started = performance.now();
    const record = (status: string, intended: boolean, detail?: string) =>
      this.outcomes.push({ op: kind === 'sse' ? 'SSE /v2/events' : 'WS /v1/ws subscribe', status, ms: performance.now() - started, intended, ...(detail ? { detail } : {}) });
    try {
      const held = kind === 'sse' ? await this.sse(actor, record) : await this.ws(actor, record);
      if (held) {
        this.held.push(held);
        this.opened++;
      }
    } catch (error) {
      record(`error:${(error as Error).message}`, false);
    }
  }

  /** Closes one stream at random and opens one of the same kind for the same actor. */
  async recycle(): Promise<void> {
    const victim = this.held[Math.floor(Math.random() * this.held.length)];
    if (!victim) return;
    this.remove(victim);
    victim.closing = true;
    victim.close();
    await this.open(victim.kind, victim.actor);
  }

  closeAll(): void {
    for (const held of this.held.splice(0)) {
      held.closing = true;
      held.close();
    }
  }

  private remove(held: Held): void {
    const index = this.held.indexOf(held);
    if (index >= 0) this.held.splice(index, 1);
  }

  private sse(actor: Actor, record: (status: string, intended: boolean, detail?: string) => void): Promise<Held | undefined> {
    return new Promise((resolve, reject) => {
      const request = http.get(`${this.url}/v2/events`, { headers: { accept: 'text/event-stream', authorization: actor.auth } }, (response) => {
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          response.resume();
          record(String(status), status === 429 || status === 503);
          resolve(undefined);
          return;
        }
        record('200', true);
        const held: Held = { kind: 'sse', actor, closing: false, close: () => request.destroy() };
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (this.frames += chunk.split('\n\n').length - 1));
        response.on('close', () => {
          if (held.closing) return;
          this.remove(held);
          this.outcomes.push({ op: 'SSE /v2/events', status: 'closed by server', ms: 0, intended: false });
        });
        resolve(held);
      });
      request.on('error', (error) => reject(error));
    });
  }

  private ws(actor: Actor, record: (status: string, intended: boolean, detail?: string) => void): Promise<Held | undefined> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${this.url.replace(/^http/, 'ws')}/v1/ws`, { headers: { authorization: actor.auth } });
      const held: Held = { kind: 'ws', actor, closing: false, close: () => socket.close(1000) };
      socket.on('unexpected-response', (_req, res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        record(String(status), status === 429 || status === 503);
        held.closing = true;
        socket.terminate();
        resolve(undefined);
      });
      socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', id: 'soak', channel: 'events' })));
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; id?: string; code?: string };
        if (message.type === 'subscribed' && message.id === 'soak') {
          record('subscribed', true);
          resolve(held);
        } else if (message.type === 'error') {
          record(`error frame ${message.code}`, message.code === 'RATE_LIMITED' || message.code === 'TOO_MANY_STREAMS', JSON.stringify(message).slice(0, 300));
          held.closing = true;
          socket.close(1000);
          resolve(undefined);
        } else this.frames++;
      });
      socket.on('close', (code, reason) => {
        if (held.closing) return;
        this.remove(held);
        this.outcomes.push({ op: 'WS /v1/ws subscribe', status: `closed ${code}`, ms: 0, intended: false, detail: reason.toString() });
      });
      socket.on('error', (error) => {
        if (!held.closing) reject(error);
      });
    });
  }
}

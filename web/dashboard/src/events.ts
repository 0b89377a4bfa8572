import { html, nothing } from 'lit';
import { EVENT_TYPES } from '../../../src/domain/events/events.types.ts';
import { StoaError, type EventStream } from '@stoa/sdk';
import { describe, formatTime, session } from './api.ts';
import { LightElement } from './base.ts';

interface LiveEvent {
  sequence: string;
  type: string;
  json: string;
  at: string;
  resource: string;
}

/** The fields of an event the list shows (the SSE frame's data, as GET /v2/events presents it). */
interface StreamedEvent {
  sequence: number;
  type: string;
  created_at?: string;
  resource_type?: string;
  resource_id?: string;
}

const KEEP = 200;

/**
 * The caller's events as they happen: `events.stream` of @stoa/sdk over
 * GET /v2/events, each connection with a single-use ticket; the SDK resumes a
 * dropped stream after the last event seen. Filter and pause act on what was
 * received, so the stream always carries every type.
 */
export class StoaEvents extends LightElement {
  static override properties = { events: { state: true }, filter: { state: true }, paused: { state: true }, status: { state: true }, held: { state: true } };
  declare events: LiveEvent[];
  declare filter: string;
  declare paused: boolean;
  declare status: string;
  declare held: number;
  #stream: EventStream<unknown> | null = null;
  #buffer: LiveEvent[] = [];
  #after: number | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** The session's client, with a fetch that tells when a stream connection is open (the SDK yields events, not connection states). */
  readonly #api = session.api.withOptions({
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (response.ok && response.headers.get('content-type')?.startsWith('text/event-stream')) this.status = 'live';
      return response;
    },
  });

  constructor() {
    super();
    this.events = [];
    this.filter = '';
    this.paused = false;
    this.status = 'connecting';
    this.held = 0;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#follow();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#retry);
    this.#stream?.close();
    this.#stream = null;
  }

  /**
   * Follows the stream until the element goes away. The SDK reconnects on its
   * own after drops; a refusal it cannot fix ends its loop: a 401 (the access
   * token expired) renews the session once and goes on after the last event
   * seen, anything else is shown and retried a little later.
   */
  async #follow(renewed = false): Promise<void> {
    if (!this.isConnected || this.#stream) return;
    this.status = 'connecting';
    const stream = this.#api.events.stream({ useTicket: true, after: this.#after, onReconnect: () => (this.status = 'reconnecting') });
    this.#stream = stream;
    try {
      for await (const event of stream) this.#receive(event as StreamedEvent);
    } catch (error) {
      if (this.#stream !== stream) return;
      this.#stream = null;
      this.#after = stream.lastEventId ?? this.#after;
      if (!renewed && error instanceof StoaError && error.status === 401 && (await session.resume().catch(() => false))) return this.#follow(true);
      this.status = `disconnected: ${describe(error)}`;
      this.#retry = setTimeout(() => void this.#follow(), 5_000);
    }
  }

  #receive(data: StreamedEvent): void {
    this.#after = data.sequence;
    const event: LiveEvent = {
      sequence: String(data.sequence),
      type: data.type,
      at: data.created_at ?? new Date().toISOString(),
      resource: [data.resource_type, data.resource_id].filter(Boolean).join(' '),
      json: JSON.stringify(data, null, 2),
    };
    if (this.paused) {
      this.#buffer.push(event);
      this.held = this.#buffer.length;
      return;
    }
    this.events = [event, ...this.events].slice(0, KEEP);
  }

  #togglePause(): void {
    this.paused = !this.paused;
    if (!this.paused) {
      this.events = [...this.#buffer.reverse(), ...this.events].slice(0, KEEP);
      this.#buffer = [];
      this.held = 0;
    }
  }

  override render() {
    const shown = this.filter ? this.events.filter((e) => e.type === this.filter) : this.events;
    return html`
      <h2>Live events</h2>
      <div class="row toolbar">
        <span class="badge ${this.status === 'live' ? 'succeeded' : 'pending'}" role="status" data-testid="stream-status">${this.status}</span>
        <label for="event-filter">Type</label>
        <select id="event-filter" @change=${(e: Event) => (this.filter = (e.target as HTMLSelectElement).value)}>
          <option value="">all types</option>
          ${EVENT_TYPES.map((t) => html`<option value=${t}>${t}</option>`)}
        </select>
        <button type="button" aria-pressed=${this.paused ? 'true' : 'false'} @click=${this.#togglePause}>${this.paused ? `Resume${this.held ? ` (${this.held} held)` : ''}` : 'Pause'}</button>
        <button type="button" @click=${() => (this.events = [])}>Clear</button>
      </div>
      <ol class="events" aria-label="Events, newest first" aria-live=${this.paused ? 'off' : 'polite'}>
        ${shown.length === 0 ? html`<li class="muted">Waiting for events… Anything you do over the API appears here.</li>` : nothing}
        ${shown.map(
          (e) => html`<li data-type=${e.type}>
            <details>
              <summary><code>${e.type}</code> <span class="muted">#${e.sequence} · ${e.resource} · ${formatTime(e.at)}</span></summary>
              <pre>${e.json}</pre>
            </details>
          </li>`,
        )}
      </ol>`;
  }
}

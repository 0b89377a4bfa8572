import { html, nothing } from 'lit';
import { EVENT_TYPES } from '../../../src/domain/events/events.types.ts';
import { describe, formatTime, session } from './api.ts';
import { LightElement } from './base.ts';

interface LiveEvent {
  sequence: string;
  type: string;
  json: string;
  at: string;
  resource: string;
}

const KEEP = 200;

/** The caller's events as they happen: SSE on GET /v2/events with a ticket; filter, pause, expand. */
export class StoaEvents extends LightElement {
  static override properties = { events: { state: true }, filter: { state: true }, paused: { state: true }, status: { state: true }, held: { state: true } };
  declare events: LiveEvent[];
  declare filter: string;
  declare paused: boolean;
  declare status: string;
  declare held: number;
  #source: EventSource | null = null;
  #buffer: LiveEvent[] = [];
  #lastId: string | null = null;
  #retry: ReturnType<typeof setTimeout> | undefined;

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
    void this.#connect();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#retry);
    this.#source?.close();
    this.#source = null;
  }

  /** A ticket per connection (EventSource cannot send headers); a dropped stream resumes after the last event seen. */
  async #connect(): Promise<void> {
    if (!this.isConnected) return;
    this.status = 'connecting';
    let ticket: string;
    try {
      ticket = (await session.request<{ data: { ticket: string } }>('POST', '/realtime/tickets')).data.ticket;
    } catch (error) {
      this.status = `disconnected: ${describe(error)}`;
      this.#retry = setTimeout(() => void this.#connect(), 5_000);
      return;
    }
    const params = new URLSearchParams({ ticket });
    if (this.#lastId) params.set('last_event_id', this.#lastId);
    const source = new EventSource(`/v2/events?${params}`);
    this.#source = source;
    source.addEventListener('open', () => (this.status = 'live'));
    source.addEventListener('error', () => {
      // The ticket was used up: a reconnect needs a new one.
      source.close();
      if (this.#source !== source) return;
      this.status = 'reconnecting';
      this.#retry = setTimeout(() => void this.#connect(), 1_000);
    });
    for (const type of EVENT_TYPES) source.addEventListener(type, (message) => this.#receive(message as MessageEvent<string>));
  }

  #receive(message: MessageEvent<string>): void {
    this.#lastId = message.lastEventId || this.#lastId;
    let data: { type?: string; created_at?: string; occurred_at?: string; resource_id?: string; resource_type?: string } = {};
    try {
      data = JSON.parse(message.data) as typeof data;
    } catch {
      // Shown raw below.
    }
    const event: LiveEvent = {
      sequence: message.lastEventId,
      type: message.type,
      at: data.created_at ?? data.occurred_at ?? new Date().toISOString(),
      resource: [data.resource_type, data.resource_id].filter(Boolean).join(' '),
      json: (() => {
        try {
          return JSON.stringify(JSON.parse(message.data), null, 2);
        } catch {
          return message.data;
        }
      })(),
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

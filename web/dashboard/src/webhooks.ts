import { html, nothing } from 'lit';
import { EVENT_TYPES } from '../../../src/domain/events/events.types.ts';
import { describe, formatTime, session } from './api.ts';
import { copyText, LightElement } from './base.ts';

interface Endpoint {
  id: string;
  url: string;
  event_types: string[];
  description: string | null;
  status: 'enabled' | 'disabled';
  created_at: string;
}

interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_latency_ms: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
}

const TYPE_CHOICES = ['*', ...new Set(EVENT_TYPES.map((t) => `${t.split('.')[0]}.*`)), ...EVENT_TYPES];
const POLL_MS = 2_000;

/** Webhook endpoints: register, edit, enable/disable, rotate, test; each endpoint's deliveries, refreshed live, with retry. */
export class StoaWebhooks extends LightElement {
  static override properties = {
    endpoints: { state: true },
    error: { state: true },
    notice: { state: true },
    secret: { state: true },
    editing: { state: true },
    selected: { state: true },
    deliveries: { state: true },
  };
  declare endpoints: Endpoint[] | null;
  declare error: string;
  declare notice: string;
  declare secret: { url: string; value: string } | null;
  declare editing: Endpoint | null;
  declare selected: Endpoint | null;
  declare deliveries: Delivery[] | null;
  #poll: ReturnType<typeof setInterval> | undefined;

  constructor() {
    super();
    this.endpoints = null;
    this.error = '';
    this.notice = '';
    this.secret = null;
    this.editing = null;
    this.selected = null;
    this.deliveries = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
    this.#poll = setInterval(() => void this.#refreshDeliveries(), POLL_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.#poll);
  }

  async #try(work: () => Promise<unknown>): Promise<void> {
    this.error = '';
    try {
      await work();
    } catch (error) {
      this.error = describe(error);
    }
  }

  async #load(): Promise<void> {
    await this.#try(async () => {
      this.endpoints = (await session.call((api) => api.webhookEndpoints.list({ limit: 100 }))).data as Endpoint[];
      if (this.selected) this.selected = this.endpoints.find((e) => e.id === this.selected!.id) ?? null;
    });
  }

  async #refreshDeliveries(): Promise<void> {
    const selected = this.selected;
    if (!selected || document.hidden) return;
    try {
      this.deliveries = (await session.call((api) => api.webhookEndpoints.deliveries(selected.id, { limit: 50 }))).data as Delivery[];
    } catch (error) {
      this.error = describe(error);
    }
  }

  #formBody(form: HTMLFormElement) {
    const data = new FormData(form);
    const description = String(data.get('description') ?? '').trim();
    return { url: String(data.get('url')).trim(), event_types: data.getAll('event_types').map(String), description: description || null };
  }

  async #register(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const body = this.#formBody(form);
    await this.#try(async () => {
      const created = (await session.call((api) => api.webhookEndpoints.create({ ...body, description: body.description ?? undefined }))).data as Endpoint & { secret: string };
      this.secret = { url: created.url, value: created.secret };
      form.reset();
      await this.#load();
    });
  }

  async #saveEdit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const endpoint = this.editing;
    if (!endpoint) return;
    await this.#try(async () => {
      const patch = this.#formBody(event.target as HTMLFormElement);
      await session.call((api) => api.webhookEndpoints.update(endpoint.id, patch));
      this.editing = null;
      await this.#load();
    });
  }

  async #toggle(endpoint: Endpoint): Promise<void> {
    await this.#try(async () => {
      await session.call((api) => api.webhookEndpoints.update(endpoint.id, { status: endpoint.status === 'enabled' ? 'disabled' : 'enabled' }));
      await this.#load();
    });
  }

  async #rotate(endpoint: Endpoint): Promise<void> {
    await this.#try(async () => {
      const rotated = (await session.call((api) => api.webhookEndpoints.rotateSecret(endpoint.id))).data;
      this.secret = { url: endpoint.url, value: rotated.secret };
    });
  }

  async #test(endpoint: Endpoint): Promise<void> {
    await this.#try(async () => {
      await session.call((api) => api.webhookEndpoints.test(endpoint.id));
      this.notice = `Test event queued for ${endpoint.url}.`;
      await this.#show(endpoint);
    });
  }

  async #show(endpoint: Endpoint): Promise<void> {
    this.selected = endpoint;
    this.deliveries = null;
    await this.#refreshDeliveries();
  }

  async #retry(delivery: Delivery): Promise<void> {
    await this.#try(async () => {
      await session.call((api) => api.webhookDeliveries.retry(delivery.id));
      this.notice = `Retry of ${delivery.event_type} queued.`;
      await this.#refreshDeliveries();
    });
  }

  #typeChecks(name: string, chosen: readonly string[]) {
    return html`<fieldset>
      <legend>Event types</legend>
      <div class="checks">${TYPE_CHOICES.map((t) => html`<label class="check"><input type="checkbox" name=${name} value=${t} .checked=${chosen.includes(t)}> ${t === '*' ? '* (every event)' : t}</label>`)}</div>
    </fieldset>`;
  }

  #endpointForm(id: string, endpoint: Endpoint | null, submit: (e: SubmitEvent) => void) {
    return html`<form class="card" @submit=${submit} aria-labelledby="${id}-title">
      <h3 id="${id}-title">${endpoint ? `Edit ${endpoint.url}` : 'Register an endpoint'}</h3>
      <label for="${id}-url">URL</label>
      <input id="${id}-url" name="url" type="url" required placeholder="https://example.com/webhooks" .value=${endpoint?.url ?? ''}>
      <label for="${id}-description">Description (optional)</label>
      <input id="${id}-description" name="description" maxlength="500" .value=${endpoint?.description ?? ''}>
      ${this.#typeChecks('event_types', endpoint?.event_types ?? [])}
      <div class="row">
        <button type="submit" class="primary">${endpoint ? 'Save' : 'Register endpoint'}</button>
        ${endpoint ? html`<button type="button" @click=${() => (this.editing = null)}>Cancel</button>` : nothing}
      </div>
    </form>`;
  }

  override render() {
    return html`
      <h2>Webhooks</h2>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.notice ? html`<p class="notice" role="status">${this.notice}</p>` : nothing}
      ${this.secret
        ? html`<div class="card secret" role="status">
            <p><strong>Copy the signing secret for ${this.secret.url} now.</strong> It is shown only this once.</p>
            <label for="webhook-secret">Signing secret</label>
            <div class="row">
              <input id="webhook-secret" readonly .value=${this.secret.value} data-testid="webhook-secret">
              <button type="button" @click=${() => void copyText(this.secret?.value ?? '')}>Copy</button>
              <button type="button" @click=${() => (this.secret = null)}>Done</button>
            </div>
          </div>`
        : nothing}
      <div class="table-wrap">
        <table aria-label="Webhook endpoints">
          <thead><tr><th scope="col">URL</th><th scope="col">Event types</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            ${this.endpoints === null
              ? html`<tr><td colspan="4">Loading…</td></tr>`
              : this.endpoints.length === 0
                ? html`<tr><td colspan="4" class="muted">No endpoints yet.</td></tr>`
                : this.endpoints.map(
                    (e) => html`<tr data-endpoint=${e.id} aria-current=${this.selected?.id === e.id ? 'true' : 'false'}>
                      <td><code>${e.url}</code>${e.description ? html`<br><span class="muted">${e.description}</span>` : nothing}</td>
                      <td>${e.event_types.join(', ')}</td>
                      <td><span class="badge ${e.status}">${e.status}</span></td>
                      <td class="actions">
                        <button type="button" @click=${() => this.#show(e)}>Deliveries</button>
                        <button type="button" @click=${() => this.#test(e)}>Send test</button>
                        <button type="button" @click=${() => (this.editing = e)}>Edit</button>
                        <button type="button" @click=${() => this.#toggle(e)}>${e.status === 'enabled' ? 'Disable' : 'Enable'}</button>
                        <button type="button" @click=${() => this.#rotate(e)}>Rotate secret</button>
                      </td>
                    </tr>`,
                  )}
          </tbody>
        </table>
      </div>
      ${this.selected ? this.#deliveries(this.selected) : nothing}
      ${this.editing ? this.#endpointForm('edit-endpoint', this.editing, (e) => void this.#saveEdit(e)) : this.#endpointForm('new-endpoint', null, (e) => void this.#register(e))}`;
  }

  #deliveries(endpoint: Endpoint) {
    return html`<section class="card" aria-labelledby="deliveries-title">
      <h3 id="deliveries-title">Deliveries to ${endpoint.url}</h3>
      <p class="muted">Refreshed every ${POLL_MS / 1000} seconds.</p>
      <div class="table-wrap">
        <table aria-label="Deliveries" aria-live="polite">
          <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last code</th><th scope="col">Latency</th><th scope="col">Next attempt</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            ${this.deliveries === null
              ? html`<tr><td colspan="8">Loading…</td></tr>`
              : this.deliveries.length === 0
                ? html`<tr><td colspan="8" class="muted">No deliveries yet.</td></tr>`
                : this.deliveries.map(
                    (d) => html`<tr data-delivery=${d.id} data-status=${d.status}>
                      <td>${d.event_type}<br><code class="muted">${d.event_id}</code></td>
                      <td><span class="badge ${d.status}">${d.status}</span>${d.last_error ? html`<br><span class="muted">${d.last_error}</span>` : nothing}</td>
                      <td>${d.attempts}</td>
                      <td>${d.last_status_code ?? '—'}</td>
                      <td>${d.last_latency_ms === null ? '—' : `${d.last_latency_ms} ms`}</td>
                      <td>${formatTime(d.next_attempt_at)}</td>
                      <td>${formatTime(d.created_at)}</td>
                      <td><button type="button" @click=${() => this.#retry(d)}>Retry<span class="sr-only"> ${d.event_type}</span></button></td>
                    </tr>`,
                  )}
          </tbody>
        </table>
      </div>
    </section>`;
  }
}

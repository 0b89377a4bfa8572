import { html, nothing } from 'lit';
import { API_VERSIONS } from '../../../src/domain/shared/api-versions.ts';
import { SCOPES } from '../../../src/domain/shared/principal.ts';
import { describe, formatTime, session } from './api.ts';
import { copyText, LightElement } from './base.ts';

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  api_version: string | null;
  last_used_at: string | null;
  expires_at: string | null;
  created_at: string;
}

type NewKey = Parameters<typeof session.api.apiKeys.create>[0];

/** API keys: list, create (the secret shown once), revoke with a confirmation. */
export class StoaKeys extends LightElement {
  static override properties = { keys: { state: true }, error: { state: true }, secret: { state: true }, copied: { state: true }, revoking: { state: true } };
  declare keys: ApiKey[] | null;
  declare error: string;
  declare secret: { name: string; value: string } | null;
  declare copied: boolean;
  declare revoking: ApiKey | null;

  constructor() {
    super();
    this.keys = null;
    this.error = '';
    this.secret = null;
    this.copied = false;
    this.revoking = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  async #load(): Promise<void> {
    try {
      this.keys = (await session.call((api) => api.apiKeys.list({ limit: 100 }))).data as ApiKey[];
    } catch (error) {
      this.error = describe(error);
    }
  }

  async #create(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const expires = String(data.get('expires_at') ?? '');
    const version = String(data.get('api_version') ?? '');
    const body = {
      name: String(data.get('name')),
      scopes: data.getAll('scopes').map(String),
      ...(expires ? { expires_at: new Date(expires).toISOString() } : {}),
      ...(version ? { api_version: version } : {}),
    } as NewKey; // the boxes offer exactly SCOPES and API_VERSIONS; the server checks them anyway
    this.error = '';
    try {
      const created = (await session.call((api) => api.apiKeys.create(body))).data as ApiKey & { secret: string };
      this.secret = { name: created.name, value: created.secret };
      this.copied = false;
      form.reset();
      await this.#load();
      await this.updateComplete;
      this.querySelector<HTMLElement>('#new-secret')?.focus();
    } catch (error) {
      this.error = describe(error);
    }
  }

  #askRevoke(key: ApiKey): void {
    this.revoking = key;
    void this.updateComplete.then(() => this.querySelector<HTMLDialogElement>('#revoke-dialog')?.showModal());
  }

  async #revoke(event: SubmitEvent): Promise<void> {
    const dialog = event.target as HTMLFormElement;
    const confirmed = (event.submitter as HTMLButtonElement | null)?.value === 'revoke';
    const key = this.revoking;
    this.revoking = null;
    dialog.closest('dialog')?.close();
    event.preventDefault();
    if (!confirmed || !key) return;
    try {
      await session.call((api) => api.apiKeys.revoke(key.id));
      await this.#load();
    } catch (error) {
      this.error = describe(error);
    }
  }

  async #copy(): Promise<void> {
    if (this.secret) this.copied = await copyText(this.secret.value);
  }

  override render() {
    return html`
      <h2>API keys</h2>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.secret
        ? html`<div class="card secret" role="status" aria-live="polite">
            <p><strong>Copy the secret of “${this.secret.name}” now.</strong> It is shown only this once: Stoa keeps only its hash.</p>
            <label for="new-secret">Secret</label>
            <div class="row">
              <input id="new-secret" readonly .value=${this.secret.value} data-testid="new-secret" @focus=${(e: FocusEvent) => (e.target as HTMLInputElement).select()}>
              <button type="button" @click=${this.#copy}>${this.copied ? 'Copied' : 'Copy'}</button>
              <button type="button" @click=${() => (this.secret = null)}>Done</button>
            </div>
          </div>`
        : nothing}
      <div class="table-wrap">
        <table aria-label="API keys">
          <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Scopes</th><th scope="col">Version</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            ${this.keys === null
              ? html`<tr><td colspan="7">Loading…</td></tr>`
              : this.keys.length === 0
                ? html`<tr><td colspan="7" class="muted">No API keys yet.</td></tr>`
                : this.keys.map(
                    (k) => html`<tr data-key=${k.id}>
                      <td>${k.name}</td>
                      <td><code>${k.prefix}…</code></td>
                      <td>${k.scopes.join(', ')}</td>
                      <td>${k.api_version ? `v${k.api_version}` : 'latest'}</td>
                      <td>${k.last_used_at ? formatTime(k.last_used_at) : 'never'}</td>
                      <td>${k.expires_at ? formatTime(k.expires_at) : 'never'}</td>
                      <td><button type="button" class="danger" @click=${() => this.#askRevoke(k)}>Revoke<span class="sr-only"> ${k.name}</span></button></td>
                    </tr>`,
                  )}
          </tbody>
        </table>
      </div>
      <form class="card" @submit=${this.#create} aria-labelledby="create-key-title">
        <h3 id="create-key-title">Create a key</h3>
        <label for="key-name">Name</label>
        <input id="key-name" name="name" required maxlength="100" placeholder="billing backend">
        <fieldset>
          <legend>Scopes</legend>
          <div class="checks">${SCOPES.map((s) => html`<label class="check"><input type="checkbox" name="scopes" value=${s}> ${s}</label>`)}</div>
        </fieldset>
        <div class="row">
          <div>
            <label for="key-expires">Expires (optional)</label>
            <input id="key-expires" name="expires_at" type="datetime-local">
          </div>
          <div>
            <label for="key-version">Pin to API version</label>
            <select id="key-version" name="api_version"><option value="">latest (not pinned)</option>${API_VERSIONS.map((v) => html`<option value=${v}>v${v}</option>`)}</select>
          </div>
        </div>
        <button type="submit" class="primary">Create key</button>
      </form>
      <dialog id="revoke-dialog" aria-labelledby="revoke-title">
        <form method="dialog" @submit=${this.#revoke}>
          <h3 id="revoke-title">Revoke “${this.revoking?.name ?? ''}”?</h3>
          <p>Requests with this key will fail at once, on every server. This cannot be undone.</p>
          <div class="row end">
            <button type="submit" value="cancel">Cancel</button>
            <button type="submit" value="revoke" class="danger">Revoke key</button>
          </div>
        </form>
      </dialog>`;
  }
}

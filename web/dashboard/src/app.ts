import { html, nothing } from 'lit';
import { LightElement } from './base.ts';
import { describe, session } from './api.ts';

const TABS = [
  { id: 'keys', label: 'API keys' },
  { id: 'webhooks', label: 'Webhooks' },
  { id: 'events', label: 'Live events' },
  { id: 'usage', label: 'Usage' },
] as const;
type Tab = (typeof TABS)[number]['id'];

interface Me {
  id: string;
  email: string;
  role: 'user' | 'admin';
}

/** The page: sign-in, then tabs over the four panels. */
export class StoaDashboard extends LightElement {
  static override properties = { state: { state: true }, tab: { state: true }, me: { state: true }, error: { state: true } };
  declare state: 'loading' | 'signed-out' | 'signed-in';
  declare tab: Tab;
  declare me: Me | null;
  declare error: string;

  constructor() {
    super();
    this.state = 'loading';
    this.tab = (TABS.find((t) => `#${t.id}` === location.hash)?.id ?? 'keys') as Tab;
    this.me = null;
    this.error = '';
    session.addEventListener('change', () => void this.#sync());
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void session.resume().then(() => this.#sync());
  }

  async #sync(): Promise<void> {
    if (!session.signedIn) {
      this.state = 'signed-out';
      this.me = null;
      return;
    }
    try {
      this.me = (await session.call((api) => api.users.me())).data as Me;
      this.state = 'signed-in';
    } catch (error) {
      this.error = describe(error);
      this.state = 'signed-out';
    }
  }

  async #signIn(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    this.error = '';
    try {
      await session.signIn(String(data.get('email')), String(data.get('password')));
      form.reset();
    } catch (error) {
      this.error = describe(error);
    }
  }

  async #signOut(): Promise<void> {
    await session.signOut();
  }

  #select(tab: Tab): void {
    this.tab = tab;
    history.replaceState(null, '', `#${tab}`);
  }

  #tabKeys(event: KeyboardEvent): void {
    const index = TABS.findIndex((t) => t.id === this.tab);
    const next = event.key === 'ArrowRight' ? index + 1 : event.key === 'ArrowLeft' ? index - 1 : event.key === 'Home' ? 0 : event.key === 'End' ? TABS.length - 1 : null;
    if (next === null) return;
    event.preventDefault();
    const tab = TABS[(next + TABS.length) % TABS.length]!;
    this.#select(tab.id);
    void this.updateComplete.then(() => this.querySelector<HTMLElement>(`#tab-${tab.id}`)?.focus());
  }

  override render() {
    if (this.state === 'loading') return html`<main id="main" class="centered" aria-busy="true"><p>Loading…</p></main>`;
    if (this.state === 'signed-out') {
      return html`<main id="main" class="centered">
        <form class="card sign-in" @submit=${this.#signIn} aria-labelledby="sign-in-title">
          <h1 id="sign-in-title">Stoa dashboard</h1>
          <p class="muted">Sign in with your Stoa account.</p>
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="username" required>
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required>
          ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
          <button type="submit" class="primary">Sign in</button>
        </form>
      </main>`;
    }
    return html`
      <header class="topbar">
        <span class="brand">Stoa</span>
        <span class="who" data-testid="who">${this.me?.email}${this.me?.role === 'admin' ? html` <span class="badge">admin</span>` : nothing}</span>
        <button type="button" @click=${this.#signOut}>Sign out</button>
      </header>
      <nav class="tabs" role="tablist" aria-label="Dashboard sections" @keydown=${this.#tabKeys}>
        ${TABS.map(
          (t) => html`<button type="button" role="tab" id="tab-${t.id}" aria-controls="panel-${t.id}" aria-selected=${t.id === this.tab ? 'true' : 'false'} tabindex=${t.id === this.tab ? 0 : -1} @click=${() => this.#select(t.id)}>${t.label}</button>`,
        )}
      </nav>
      <main id="main">
        <section role="tabpanel" id="panel-${this.tab}" aria-labelledby="tab-${this.tab}">${this.#panel()}</section>
      </main>`;
  }

  #panel() {
    const admin = this.me?.role === 'admin';
    switch (this.tab) {
      case 'keys':
        return html`<stoa-keys></stoa-keys>`;
      case 'webhooks':
        return html`<stoa-webhooks></stoa-webhooks>`;
      case 'events':
        return html`<stoa-events></stoa-events>`;
      case 'usage':
        return html`<stoa-usage .admin=${admin}></stoa-usage>`;
    }
  }
}

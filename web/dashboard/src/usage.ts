import { html, nothing } from 'lit';
import uPlot from 'uplot';
import { describe, session } from './api.ts';
import { LightElement } from './base.ts';

interface Series {
  key: string;
  total: number;
  counts: number[];
}
interface Usage {
  buckets: string[];
  series: Series[];
}

const RANGES = { hour: { label: 'Last hour', ms: 3_600_000 }, day: { label: 'Last day', ms: 86_400_000 } } as const;
type Range = keyof typeof RANGES;
const CLASS_COLOURS: Record<string, string> = { '1xx': '#6b7280', '2xx': '#15803d', '3xx': '#0369a1', '4xx': '#b45309', '429': '#7c3aed', '5xx': '#b91c1c' };
const PALETTE = ['#1d4ed8', '#c2410c', '#047857', '#7c3aed', '#be123c', '#4d7c0f'];

/** Requests per minute by status class, and API versions and clients, over the last hour or day. */
export class StoaUsage extends LightElement {
  static override properties = { admin: { type: Boolean }, range: { state: true }, everyone: { state: true }, error: { state: true }, classes: { state: true }, versions: { state: true }, clients: { state: true } };
  declare admin: boolean;
  declare range: Range;
  declare everyone: boolean;
  declare error: string;
  declare classes: Usage | null;
  declare versions: Usage | null;
  declare clients: Usage | null;
  declare rejections: Usage | null;
  #charts: uPlot[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #onResize = () => this.#draw();

  constructor() {
    super();
    this.admin = false;
    this.range = 'hour';
    this.everyone = false;
    this.error = '';
    this.classes = null;
    this.versions = null;
    this.clients = null;
    this.rejections = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
    this.#timer = setInterval(() => void this.#load(), 15_000);
    addEventListener('resize', this.#onResize);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.#timer);
    removeEventListener('resize', this.#onResize);
    for (const chart of this.#charts) chart.destroy();
    this.#charts = [];
  }

  async #load(): Promise<void> {
    const to = new Date(Math.ceil((Date.now() + 1) / 60_000) * 60_000);
    const from = new Date(to.getTime() - RANGES[this.range].ms);
    const base = { granularity: 'minute', from: from.toISOString(), to: to.toISOString(), ...(this.everyone ? { user_id: 'all' } : {}) } as const;
    try {
      const [classes, versions, clients, rejections] = await Promise.all(
        (['status_class', 'api_version', 'api_key,api_version', 'rate_limit_policy'] as const).map((group) =>
          session.call((api) => api.request('GET', '/v2/usage', { query: { ...base, group_by: group } })).then((r) => r.data.data as Usage),
        ),
      );
      this.classes = classes!;
      this.versions = versions!;
      this.clients = clients!;
      this.rejections = rejections!;
      this.error = '';
      await this.updateComplete;
      this.#draw();
    } catch (error) {
      this.error = describe(error);
    }
  }

  #draw(): void {
    for (const chart of this.#charts) chart.destroy();
    this.#charts = [];
    const plot = (target: HTMLElement | null, usage: Usage | null, colour: (key: string, i: number) => string, title: string, label = (key: string) => key) => {
      if (!target || !usage) return;
      const shown = usage.series.filter((s) => s.total > 0 || CLASS_COLOURS[s.key] === undefined || ['2xx', '4xx', '429', '5xx'].includes(s.key));
      const xs = usage.buckets.map((b) => Date.parse(b) / 1000);
      const width = Math.max(280, target.clientWidth || 600);
      const chart = new uPlot(
        {
          title,
          width,
          height: 240,
          scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          axes: [{}, { label: 'requests / minute', size: 60 }],
          series: [{}, ...shown.map((s, i) => ({ label: label(s.key), stroke: colour(s.key, i), width: 2, points: { show: false } }))],
          legend: { live: false },
        },
        [xs, ...shown.map((s) => s.counts)],
        target,
      );
      this.#charts.push(chart);
    };
    plot(this.querySelector('#chart-classes'), this.classes, (key) => CLASS_COLOURS[key] ?? '#111827', 'Requests per minute by status class');
    plot(this.querySelector('#chart-versions'), this.versions, (_key, i) => PALETTE[i % PALETTE.length]!, 'Requests per minute by API version', (key) => `v${key}`);
    plot(this.querySelector('#chart-rejections'), this.rejections, (_key, i) => PALETTE[i % PALETTE.length]!, 'Rate-limit rejections (429) per minute by policy');
  }

  #setRange(range: Range): void {
    this.range = range;
    void this.#load();
  }

  override render() {
    const total = (usage: Usage | null) => usage?.series.reduce((n, s) => n + s.total, 0) ?? 0;
    return html`
      <h2>Usage</h2>
      <div class="row toolbar">
        <div role="radiogroup" aria-label="Time range" class="segmented">
          ${(Object.keys(RANGES) as Range[]).map(
            (r) => html`<button type="button" role="radio" aria-checked=${this.range === r ? 'true' : 'false'} @click=${() => this.#setRange(r)}>${RANGES[r].label}</button>`,
          )}
        </div>
        ${this.admin
          ? html`<label class="check"><input type="checkbox" .checked=${this.everyone} @change=${(e: Event) => {
              this.everyone = (e.target as HTMLInputElement).checked;
              void this.#load();
            }}> All callers (admin)</label>`
          : nothing}
        <button type="button" @click=${() => void this.#load()}>Refresh</button>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <p class="muted" data-testid="usage-total">${total(this.classes)} requests in this range${this.classes ? html` · ${this.classes.series.filter((s) => s.total > 0).map((s) => `${s.key}: ${s.total}`).join(', ')}` : nothing}</p>
      <figure class="card chart"><div id="chart-classes" role="img" aria-label="Requests per minute by status class"></div></figure>
      <figure class="card chart"><div id="chart-versions" role="img" aria-label="Requests per minute by API version"></div></figure>
      <figure class="card chart">
        <div id="chart-rejections" role="img" aria-label="Rate-limit rejections per minute by policy"></div>
        <figcaption class="muted" data-testid="rejections">${(this.rejections?.series ?? []).length === 0 ? 'No rate-limit rejections in this range.' : this.rejections!.series.map((s) => `${s.key}: ${s.total}`).join(', ')}</figcaption>
      </figure>
      <section class="card" aria-labelledby="clients-title">
        <h3 id="clients-title">Clients and API versions</h3>
        <div class="table-wrap">
          <table aria-labelledby="clients-title">
            <thead><tr><th scope="col">Client (API key or session)</th><th scope="col">API version</th><th scope="col">Requests</th></tr></thead>
            <tbody>
              ${(this.clients?.series ?? []).length === 0
                ? html`<tr><td colspan="3" class="muted">No requests in this range.</td></tr>`
                : this.clients!.series.map((s) => {
                    const cut = s.key.lastIndexOf('/');
                    return html`<tr data-client=${s.key}><td><code>${s.key.slice(0, cut)}</code></td><td>v${s.key.slice(cut + 1)}</td><td>${s.total}</td></tr>`;
                  })}
            </tbody>
          </table>
        </div>
        <p class="muted">By version: ${(this.versions?.series ?? []).map((s) => `v${s.key}: ${s.total}`).join(', ') || 'none'}</p>
      </section>`;
  }
}

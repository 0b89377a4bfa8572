import { randomUUID } from 'node:crypto';

/** A fault window: what the clients sent during it and what they got back. */
export class Phase {
  sent = 0;
  readonly counts: Record<string, number> = {};
  /** `status code` → how many, for the notes under the table. */
  readonly codes: Record<string, number> = {};
  readonly notes: string[] = [];
  readonly violations: string[] = [];
  recoveryMs: number | undefined | null = null;
  constructor(
    readonly name: string,
    readonly start: number,
  ) {}
  note(line: string): void {
    this.notes.push(line);
  }
  violation(line: string): void {
    this.violations.push(line);
  }
  /** `at` undefined means it never recovered within its wait: an invariant broken. */
  recovery(at: number | undefined, from: number): void {
    this.recoveryMs = at === undefined ? undefined : at - from;
    if (at === undefined) this.violation('did not recover in time');
  }
}

/** One idempotency key, sent again until it gets a final answer. */
export interface KeyRecord {
  kind: 'order' | 'charge';
  key: string;
  phase: string;
  /** The resource ids acknowledged for this key (more than one = applied twice). */
  ids: Set<string>;
  settled: boolean;
  units: number;
  /** The process the key is being sent to right now. */
  at: string | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number | 'net' | 'timeout';
  retryAfter: string | null;
  body: { data?: Record<string, unknown>; code?: string } | undefined;
}

/** The clients' side of the run: every request, counted in the phase it was sent in; every key until its final answer. */
export class Ledger {
  readonly phases: Phase[] = [];
  readonly keys: KeyRecord[] = [];
  readonly jobs: string[] = [];
  #turn = 0;
  constructor(
    private readonly timeoutMs: number,
    private readonly urls: () => string[],
  ) {}

  begin(name: string): Phase {
    const phase = new Phase(name, Date.now());
    this.phases.push(phase);
    process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${name}\n`);
    return phase;
  }

  get current(): Phase {
    return this.phases.at(-1)!;
  }

  phaseAt(time: number): string {
    return [...this.phases].reverse().find((p) => p.start <= time)?.name ?? this.phases[0]!.name;
  }

  #next(): string | undefined {
    const urls = this.urls();
    return urls.length === 0 ? undefined : urls[this.#turn++ % urls.length];
  }

  async #send(url: string, method: string, path: string, headers: Record<string, string>, body?: unknown, expectRefusal = false): Promise<Answer> {
    const phase = this.current;
    phase.sent++;
    let answer: Answer;
    try {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      answer = { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json().catch(() => undefined)) as Answer['body'] };
    } catch (error) {
      answer = { status: (error as Error).name === 'TimeoutError' ? 'timeout' : 'net', retryAfter: null, body: undefined };
    }
    const s = answer.status;
    if (s === 'timeout' || s === 'net' || s >= 300) phase.counts[String(s)] = (phase.counts[String(s)] ?? 0) + 1;
    if (typeof s === 'number' && s >= 400) {
      const code = `${s} ${answer.body?.code ?? '?'}`;
      phase.codes[code] = (phase.codes[code] ?? 0) + 1;
    }
    if (s === 'timeout') phase.violation(`${method} ${path} hung past the ${this.timeoutMs} ms request timeout`);
    else if (typeof s === 'number' && s >= 500 && s !== 503) phase.violation(`${method} ${path} answered ${s} ${answer.body?.code ?? ''}`);
    else if (s === 503 && !answer.retryAfter) phase.violation(`${method} ${path} answered 503 without Retry-After`);
    else if (s === 429 && !expectRefusal) phase.violation(`${method} ${path} answered 429 (its policies fail open)`);
    return answer;
  }

  /** Sends a keyed create until it has a final answer, on the next live process each time (as a client behind a balancer). */
  async keyed(kind: 'order' | 'charge', auth: string, path: string, body: Record<string, unknown>, firstUrl?: string): Promise<Record<string, unknown> | undefined> {
    const units = kind === 'order' ? (body.items as Array<{ quantity: number }>).reduce((n, i) => n + i.quantity, 0) : 0;
    const record: KeyRecord = { kind, key: randomUUID(), phase: this.current.name, ids: new Set(), settled: false, units, at: undefined };
    this.keys.push(record);
    const until = Date.now() + 180_000;
    let url = firstUrl ?? this.#next();
    while (Date.now() < until) {
      if (!url) {
        await sleep(200);
        url = this.#next();
        continue;
      }
      record.at = url;
      const answer = await this.#send(url, 'POST', path, { authorization: auth, 'idempotency-key': record.key }, body);
      record.at = undefined;
      if (answer.status === 201 && answer.body?.data) {
        record.ids.add(String(answer.body.data.id));
        record.settled = true;
        return answer.body.data;
      }
      const retryable = typeof answer.status !== 'number' || answer.status >= 500 || answer.status === 429 || (answer.status === 409 && answer.body?.code === 'IDEMPOTENCY_KEY_IN_USE');
      if (!retryable) {
        this.current.violation(`${kind} refused with ${answer.status} ${answer.body?.code ?? ''}`);
        record.settled = true;
        return undefined;
      }
      await sleep(Math.min(5_000, answer.retryAfter ? Number(answer.retryAfter) * 1000 : 250));
      url = this.#next();
    }
    return undefined;
  }

  inFlight(kind: 'order' | 'charge', url: string): number {
    return this.pendingKeys(kind, url).length;
  }

  pendingKeys(kind: 'order' | 'charge', url: string): KeyRecord[] {
    return this.keys.filter((k) => k.kind === kind && k.at === url && !k.settled);
  }

  async read(auth: string, path: string): Promise<void> {
    const url = this.#next();
    if (url) await this.#send(url, 'GET', path, { authorization: auth });
  }

  /** A setup or job request: retried until 2xx (setup runs before any fault). */
  async setup(method: string, path: string, auth: string | undefined, body: unknown): Promise<Record<string, unknown>> {
    for (let i = 0; i < 50; i++) {
      const url = this.#next();
      if (url) {
        const answer = await this.#send(url, method, path, auth ? { authorization: auth } : {}, body);
        if (typeof answer.status === 'number' && answer.status < 300 && answer.body?.data) return answer.body.data;
        if (typeof answer.status === 'number' && answer.status < 500 && answer.status !== 429) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      await sleep(500);
    }
    throw new Error(`${method} ${path} never succeeded`);
  }

  async login(email: string, password: string): Promise<string> {
    const data = await this.setup('POST', '/v1/auth/login', undefined, { email, password });
    return `Bearer ${String(data.access_token)}`;
  }

  /** One login, whatever it answers (the fail-closed probe). */
  async loginAttempt(email: string, password: string): Promise<{ status: Answer['status']; retryAfter: string | null }> {
    const url = this.#next();
    if (!url) return { status: 'net', retryAfter: null };
    const answer = await this.#send(url, 'POST', '/v1/auth/login', {}, { email, password }, true);
    return { status: answer.status, retryAfter: answer.retryAfter };
  }

  async settled(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.keys.some((k) => !k.settled) && Date.now() < until) await sleep(200);
  }

  table(verdict: { lost: Map<string, number>; doubled: Map<string, number> }): string {
    const rows = this.phases.map((p) => [
      p.name,
      String(p.sent),
      Object.entries(p.counts).sort().map(([s, n]) => `${s}×${n}`).join(' ') || '—',
      String(verdict.lost.get(p.name) ?? 0),
      String(verdict.doubled.get(p.name) ?? 0),
      p.recoveryMs === null ? '—' : p.recoveryMs === undefined ? 'NONE' : `${(p.recoveryMs / 1000).toFixed(1)} s`,
    ]);
    const head = ['fault', 'requests', 'errors by status', 'lost', 'doubled', 'recovery'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
  }
}

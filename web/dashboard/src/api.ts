/** The dashboard's way to the public API: an access token in memory, renewed from the HttpOnly refresh cookie. */

const API = '/v2';

export interface Problem {
  status: number;
  code: string;
  title?: string;
  detail?: string;
  errors?: Array<{ field: string; code: string; message: string }>;
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.problem = problem;
  }
}

/**
 * A hint, not a credential: "this browser signed in to the dashboard". With it
 * absent the page does not ask to renew a session it does not have (which
 * would only log a 401 in the console).
 */
const HINT = 'stoa_dashboard_session';
const hasHint = () => document.cookie.split('; ').some((c) => c.startsWith(`${HINT}=`));
const setHint = (on: boolean) => {
  document.cookie = `${HINT}=${on ? '1' : ''}; path=/dashboard; SameSite=Strict${on ? '' : '; max-age=0'}${location.protocol === 'https:' ? '; secure' : ''}`;
};

interface AccessToken {
  access_token: string;
  expires_in: number;
}

async function problemOf(res: Response): Promise<ApiError> {
  try {
    return new ApiError((await res.json()) as Problem);
  } catch {
    return new ApiError({ status: res.status, code: 'HTTP_ERROR', detail: `HTTP ${res.status}` });
  }
}

/**
 * The signed-in person. Tokens never touch localStorage: the access token is
 * a field of this object, the refresh token an HttpOnly cookie the page cannot
 * read. A reload calls `resume`, which trades the cookie for a new token.
 */
export class Session extends EventTarget {
  #token: string | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #renewing: Promise<boolean> | null = null;

  get signedIn(): boolean {
    return this.#token !== null;
  }

  async signIn(email: string, password: string): Promise<void> {
    const res = await fetch(`${API}/auth/browser/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    if (!res.ok) throw await problemOf(res);
    this.#accept(((await res.json()) as { data: AccessToken }).data);
  }

  /** Signs in again from the cookie; false when there is no valid cookie. */
  resume(): Promise<boolean> {
    if (!hasHint()) return Promise.resolve(false);
    this.#renewing ??= (async () => {
      try {
        const res = await fetch(`${API}/auth/browser/refresh`, { method: 'POST' });
        if (!res.ok) {
          this.#drop();
          return false;
        }
        this.#accept(((await res.json()) as { data: AccessToken }).data);
        return true;
      } finally {
        this.#renewing = null;
      }
    })();
    return this.#renewing;
  }

  async signOut(): Promise<void> {
    await fetch(`${API}/auth/browser/logout`, { method: 'POST' });
    this.#drop();
  }

  /** Calls the API as the person; a 401 renews the token once and tries again. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const send = () =>
      fetch(`${API}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.#token ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    let res = await send();
    if (res.status === 401 && (await this.resume())) res = await send();
    if (res.status === 401) this.#drop();
    if (!res.ok) throw await problemOf(res);
    if (res.status === 204 || res.status === 202 && res.headers.get('content-length') === '0') return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  #accept(token: AccessToken): void {
    const wasSignedIn = this.signedIn;
    setHint(true);
    this.#token = token.access_token;
    clearTimeout(this.#timer);
    // Renew a minute before expiry (or at 80 % of short lifetimes).
    const inMs = Math.max(5_000, Math.min(token.expires_in * 800, (token.expires_in - 60) * 1000));
    this.#timer = setTimeout(() => void this.resume(), inMs);
    if (!wasSignedIn) this.dispatchEvent(new Event('change'));
  }

  #drop(): void {
    const wasSignedIn = this.signedIn;
    setHint(false);
    this.#token = null;
    clearTimeout(this.#timer);
    if (wasSignedIn) this.dispatchEvent(new Event('change'));
  }
}

export const session = new Session();

/** A problem as one line for the person. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.problem.errors?.map((e) => `${e.field} ${e.message}`).join('; ');
    return fields ? `${error.message} (${fields})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

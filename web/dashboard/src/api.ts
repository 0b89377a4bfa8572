/**
 * The dashboard's way to the public API: @stoa/sdk, with the access token in
 * memory and renewed from the HttpOnly refresh cookie.
 */
import { createStoa, StoaError, type Stoa } from '@stoa/sdk';

/**
 * The browser-session routes carry no bearer token (the cookie is the
 * credential) and are never retried: a refresh repeated after a lost answer
 * would present a token already rotated, which revokes the whole sign-in.
 */
const cookieClient = createStoa({ baseUrl: location.origin, apiVersion: '2', maxRetries: 0 });
const ONCE = { idempotencyKey: false } as const;

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

/**
 * The signed-in person. Tokens never touch localStorage: the access token is
 * a field of this object, the refresh token an HttpOnly cookie the page cannot
 * read. A reload calls `resume`, which trades the cookie for a new token.
 */
export class Session extends EventTarget {
  #token: string | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #renewing: Promise<boolean> | null = null;

  /** The API as the person: the SDK asks for the current token before each attempt, so a renewed one is used at once. */
  readonly api: Stoa<'2'> = createStoa({ baseUrl: location.origin, apiVersion: '2', accessToken: () => this.#token ?? undefined });

  get signedIn(): boolean {
    return this.#token !== null;
  }

  async signIn(email: string, password: string): Promise<void> {
    const { data } = await cookieClient.request('POST', '/v2/auth/browser/login', { body: { email, password }, ...ONCE });
    this.#accept(data.data);
  }

  /** Signs in again from the cookie; false when there is no valid cookie. */
  resume(): Promise<boolean> {
    if (!hasHint()) return Promise.resolve(false);
    this.#renewing ??= (async () => {
      try {
        const { data } = await cookieClient.request('POST', '/v2/auth/browser/refresh', ONCE);
        this.#accept(data.data);
        return true;
      } catch (error) {
        if (!(error instanceof StoaError)) throw error;
        this.#drop();
        return false;
      } finally {
        this.#renewing = null;
      }
    })();
    return this.#renewing;
  }

  async signOut(): Promise<void> {
    try {
      await cookieClient.request('POST', '/v2/auth/browser/logout', ONCE);
    } finally {
      this.#drop();
    }
  }

  /** Runs SDK calls as the person; a 401 renews the token once and runs them again. */
  async call<T>(operation: (api: Stoa<'2'>) => PromiseLike<T>): Promise<T> {
    try {
      return await operation(this.api);
    } catch (error) {
      if (!(error instanceof StoaError) || error.status !== 401) throw error;
      if (!(await this.resume())) {
        this.#drop();
        throw error;
      }
      try {
        return await operation(this.api);
      } catch (again) {
        if (again instanceof StoaError && again.status === 401) this.#drop();
        throw again;
      }
    }
  }

  #accept(token: AccessToken): void {
    const wasSignedIn = this.signedIn;
    setHint(true);
    this.#token = token.access_token;
    clearTimeout(this.#timer);
    // Renew a minute before expiry (or at 80 % of short lifetimes).
    const inMs = Math.max(5_000, Math.min(token.expires_in * 800, (token.expires_in - 60) * 1000));
    this.#timer = setTimeout(() => void this.resume().catch(() => undefined), inMs);
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

/** A problem as one line for the person: what went wrong, the failing fields, and the registry code to look up. */
export function describe(error: unknown): string {
  if (error instanceof StoaError) {
    const fields = error.fields.map((e) => `${e.field} ${e.message}`).join('; ');
    const what = error.detail || error.title;
    return `${what}${fields ? ` (${fields})` : ''} · ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

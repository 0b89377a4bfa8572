import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../domain/shared/clock.ts';
import type { Principal, Scope } from '../../domain/shared/principal.ts';

/** How long a real-time ticket may wait to be used. */
export const TICKET_TTL_SECONDS = 60;

const TICKET_PREFIX = 'rtk_';
const TICKET_SHAPE = /^rtk_[A-Za-z0-9_-]{43}$/;

/** What a ticket stands for: the principal (scopes included) and when its credential expires. */
export interface TicketGrant {
  principal: Principal;
  /** An access token's expiry; null for an API key. */
  credentialExpiresAt: Date | null;
}

/** Where tickets live (by SHA-256 only), shared by every process. */
export interface TicketStore {
  insert(hash: string, grant: SerializedGrant, expiresAt: Date, now: Date): Promise<void>;
  /** Deletes the ticket and returns its grant when it exists and has not expired; null otherwise. */
  take(hash: string, now: Date): Promise<SerializedGrant | null>;
}

export interface SerializedGrant {
  principal: Record<string, unknown>;
  credentialExpiresAt: Date | null;
}

/** Is the credential behind a principal still good? One query for many (the revocation watch). */
export interface CredentialStatus {
  /** Of these, the API keys revoked or expired and the users no longer active (or gone). */
  check(apiKeyIds: readonly string[], userIds: readonly string[], now: Date): Promise<{ revokedKeys: Set<string>; inactiveUsers: Set<string> }>;
}

export function hashTicket(ticket: string): string {
  return createHash('sha256').update(ticket).digest('hex');
}

function serialize(principal: Principal): Record<string, unknown> {
  return { ...principal, scopes: principal.scopes === null ? null : [...principal.scopes] };
}

function deserialize(raw: Record<string, unknown>): Principal {
  const scopes = raw.scopes as Scope[] | null;
  return { ...(raw as unknown as Principal), scopes: scopes === null ? null : new Set(scopes) };
}

/**
 * Single-use real-time tickets: a browser trades its credential for one
 * (POST /v1/realtime/tickets) and presents it as `?ticket=` on EventSource or
 * WebSocket. Stored as SHA-256 only; redeeming deletes it; after 60 seconds
 * it is refused. A redeemed ticket is checked against the credential's
 * current state: a revoked key or suspended account gets nothing.
 */
export class RealtimeTickets {
  readonly #store: TicketStore;
  readonly #status: CredentialStatus;
  readonly #clock: Clock;

  constructor(deps: { store: TicketStore; status: CredentialStatus; clock: Clock }) {
    this.#store = deps.store;
    this.#status = deps.status;
    this.#clock = deps.clock;
  }

  async issue(grant: TicketGrant): Promise<{ ticket: string; expiresAt: Date }> {
    const now = this.#clock.now();
    const ticket = TICKET_PREFIX + randomBytes(32).toString('base64url');
    let expiresAt = new Date(now.getTime() + TICKET_TTL_SECONDS * 1000);
    if (grant.credentialExpiresAt && grant.credentialExpiresAt < expiresAt) expiresAt = grant.credentialExpiresAt;
    await this.#store.insert(hashTicket(ticket), { principal: serialize(grant.principal), credentialExpiresAt: grant.credentialExpiresAt }, expiresAt, now);
    return { ticket, expiresAt };
  }

  /** The grant of a good, unused, unexpired ticket (now used up); null otherwise. */
  async redeem(ticket: string): Promise<TicketGrant | null> {
    if (!TICKET_SHAPE.test(ticket)) return null;
    const now = this.#clock.now();
    const stored = await this.#store.take(hashTicket(ticket), now);
    if (!stored) return null;
    const principal = deserialize(stored.principal);
    const { revokedKeys, inactiveUsers } = await this.#status.check(principal.apiKeyId ? [principal.apiKeyId] : [], [principal.userId], now);
    if (inactiveUsers.size > 0 || revokedKeys.size > 0) return null;
    return { principal, credentialExpiresAt: stored.credentialExpiresAt };
  }
}

/**
 * When a credential presented as `Authorization` stops being valid for a
 * long-lived stream (or a ticket standing for it): an access token's expiry;
 * null for API keys, which end only by revocation.
 */
export function credentialExpiry(principal: Principal, authorization: string | undefined): Date | null {
  if (principal.via !== 'session' || !authorization) return null;
  const token = authorization.replace(/^Bearer +/i, '').trim();
  return token ? accessTokenExpiry(token) : null;
}

/** The `exp` of a JWT already verified by the authenticator; null when it has none. */
function accessTokenExpiry(token: string): Date | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null;
  } catch {
    return null;
  }
}

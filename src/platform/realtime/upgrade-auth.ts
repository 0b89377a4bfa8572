import type { IncomingMessage } from 'node:http';
import { AppError } from '../../domain/shared/errors.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import type { Authenticator } from '../auth/index.ts';
import { credentialExpiry, type RealtimeTickets } from '../auth/tickets.ts';

/** Who opened a long-lived connection, and when its credential stops being good (null: only revocation ends it). */
export interface StreamCredential {
  principal: Principal;
  expiresAt: Date | null;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The credential of a WebSocket upgrade (`/v1/ws`, `/graphql`), in the order
 * every stream uses (SSE too): the request's headers (`Authorization`,
 * `X-API-Key`) first, then `?ticket=`. A presented header that is not good
 * throws (401/403) without trying the ticket, and a ticket that is unknown,
 * used or expired throws 401; null when the upgrade carried neither.
 */
export async function upgradeCredential(deps: { authenticator: Authenticator; tickets: RealtimeTickets }, request: IncomingMessage, url: URL): Promise<StreamCredential | null> {
  const authorization = first(request.headers.authorization);
  const principal = await deps.authenticator.authenticate({ authorization, apiKey: first(request.headers['x-api-key']) });
  if (principal) return { principal, expiresAt: credentialExpiry(principal, authorization) };
  const ticket = url.searchParams.get('ticket');
  if (ticket === null) return null;
  const grant = await deps.tickets.redeem(ticket);
  if (!grant) throw new AppError('UNAUTHENTICATED', 'The ticket is unknown, used or expired: get a new one from POST /v1/realtime/tickets');
  return { principal: grant.principal, expiresAt: grant.credentialExpiresAt };
}

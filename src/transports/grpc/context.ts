import { createContextKey, type HandlerContext } from '@connectrpc/connect';
import type { Logger } from 'pino';
import { AppError } from '../../domain/shared/errors.ts';
import type { Principal } from '../../domain/shared/principal.ts';

/** What the interceptors learn about a call, for the handlers: one value per call. */
export interface CallState {
  requestId: string;
  /** Null for a call without credentials (methods that need none). */
  principal: Principal | null;
  /** The pino child logger of this call: it carries `request_id` and the method. */
  log: Logger;
}

/** The peer address, set by whichever listener took the call (the gRPC port or /rpc on the HTTP port). */
export const kPeer = createContextKey<Peer>({ address: undefined, forwardedFor: undefined });

export interface Peer {
  address: string | undefined;
  forwardedFor: string | undefined;
  /** The request id the HTTP listener already gave the request (/rpc), so its logs and the call's agree. */
  requestId?: string | undefined;
}
export const kCall = createContextKey<CallState | undefined>(undefined);

export function callOf(ctx: HandlerContext): CallState {
  const call = ctx.values.get(kCall);
  if (!call) throw new Error('gRPC call state missing: the interceptors did not run');
  return call;
}

/** The caller of a method that requires one (the interceptor has refused calls without credentials). */
export function principalOf(ctx: HandlerContext): Principal {
  const principal = callOf(ctx).principal;
  if (!principal) throw new AppError('UNAUTHENTICATED', 'Authentication required: send "authorization: Bearer <access token or API key>" or "x-api-key" metadata');
  return principal;
}

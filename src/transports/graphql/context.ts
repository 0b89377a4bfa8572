import type { Container } from '../../container.ts';
import { AppError } from '../../domain/shared/errors.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import type { Loaders } from './loaders.ts';

/** What the GraphQL transport calls: the services and cores of the container. */
export type GraphqlDeps = Pick<
  Container,
  'users' | 'posts' | 'follows' | 'products' | 'orders' | 'charges' | 'apiKeys' | 'events' | 'pagination' | 'idempotency' | 'realtime' | 'webhooks'
>;

/** One request's context: who calls, the services, this request's loaders, the Idempotency-Key header. */
export interface GraphqlContext {
  principal: Principal | null;
  deps: GraphqlDeps;
  loaders: Loaders;
  /** The `Idempotency-Key` header, if sent (createOrder and createCharge also take an argument). */
  idempotencyKeyHeader: string | undefined;
}

/** The caller, or UNAUTHENTICATED: every field but the catalogue and sign-up needs one, as on REST. */
export function actorOf(context: GraphqlContext): Principal {
  if (!context.principal) throw new AppError('UNAUTHENTICATED', 'Authentication required: send "Authorization: Bearer <access token or API key>" or "X-API-Key"');
  return context.principal;
}

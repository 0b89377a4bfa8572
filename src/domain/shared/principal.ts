import { AppError } from './errors.ts';

export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PLANS = ['free', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

/** Every scope an API key may carry. A signed-in person (JWT) holds them all. */
export const SCOPES = [
  'users:read',
  'users:write',
  'posts:read',
  'posts:write',
  'orders:read',
  'orders:write',
  'charges:read',
  'charges:write',
  'webhooks:read',
  'webhooks:write',
  'products:write',
] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the same model for every transport. */
export interface Principal {
  readonly userId: string;
  readonly role: Role;
  readonly plan: Plan;
  /** `session` for a JWT access token, `api_key` for an API key. */
  readonly via: 'session' | 'api_key';
  readonly apiKeyId: string | null;
  /** `null` means every scope (a signed-in person). */
  readonly scopes: ReadonlySet<Scope> | null;
  /** The API version an API key is pinned to, if any. */
  readonly apiVersion: string | null;
}

export function isAdmin(principal: Principal): boolean {
  return principal.role === 'admin';
}

/** Throws 403 INSUFFICIENT_SCOPE when an API key lacks `scope`. */
export function requireScope(principal: Principal, scope: Scope): void {
  if (principal.scopes !== null && !principal.scopes.has(scope)) {
    throw new AppError('INSUFFICIENT_SCOPE', `This API key lacks the "${scope}" scope required by this operation`, {
      extensions: { required_scope: scope },
    });
  }
}

/** True when the caller may act on resources owned by `ownerId`. */
export function canActFor(principal: Principal, ownerId: string): boolean {
  return principal.userId === ownerId || isAdmin(principal);
}

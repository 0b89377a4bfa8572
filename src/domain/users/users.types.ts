import type { SortFields, SortTerm } from '../shared/page.ts';
import type { Plan, Role } from '../shared/principal.ts';

export const USER_STATUSES = ['active', 'inactive', 'suspended'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: UserStatus;
  plan: Plan;
  emailVerifiedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** What anyone signed in may see of another user. */
export interface PublicProfile {
  id: string;
  name: string;
  createdAt: Date;
  /** Not shown; it drives Last-Modified. */
  updatedAt: Date;
  version: number;
}

/** What anyone signed in may see of `user`. */
export function publicProfile(user: User): PublicProfile {
  return { id: user.id, name: user.name, createdAt: user.createdAt, updatedAt: user.updatedAt, version: user.version };
}

/**
 * A user in the API's field names, as its owner and administrators read it
 * (the full record) or as anyone else does (the public profile). Every
 * transport and every event shows a user this way; REST adds links.
 */
export function presentUser(user: User | PublicProfile) {
  if (!('email' in user)) return { id: user.id, display_name: user.name, created_at: user.createdAt.toISOString() };
  return {
    id: user.id,
    email: user.email,
    display_name: user.name,
    role: user.role,
    status: user.status,
    plan: user.plan,
    email_verified_at: user.emailVerifiedAt?.toISOString() ?? null,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

export interface NewUser {
  email: string;
  name: string;
  password: string;
}

export const NAME_MAX = 100;
export const EMAIL_MAX = 254;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export const USER_SORTS: SortFields<User | PublicProfile> = { created_at: (u) => u.createdAt, display_name: (u) => u.name };
export const USER_DEFAULT_SORT: readonly SortTerm[] = [{ field: 'created_at', descending: false }];

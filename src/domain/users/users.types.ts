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
  version: number;
}

export interface NewUser {
  email: string;
  name: string;
  password: string;
}

/** Fields a user may change on itself; role, status and plan only an admin may change. */
export interface UserChanges {
  email?: string;
  name?: string;
  password?: string;
  role?: Role;
  status?: UserStatus;
  plan?: Plan;
}

export const NAME_MAX = 100;
export const EMAIL_MAX = 254;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

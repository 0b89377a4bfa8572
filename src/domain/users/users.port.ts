import type { Page, PageRequest } from '../shared/page.ts';
import type { Plan, Role } from '../shared/principal.ts';
import type { User, UserStatus } from './users.types.ts';

export interface UserRecord extends User {
  passwordHash: string;
}

export interface InsertUser {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  role: Role;
  plan: Plan;
  now: Date;
}

export interface UserFilter {
  status?: readonly UserStatus[] | undefined;
  role?: readonly Role[] | undefined;
  plan?: readonly Plan[] | undefined;
}

export interface UpdateUser {
  email?: string;
  name?: string;
  passwordHash?: string;
  role?: Role;
  status?: UserStatus;
  plan?: Plan;
  emailVerifiedAt?: Date;
}

/** What the users service needs from storage. Deleted users are invisible to every method. */
export interface UserRepository {
  /** Returns `email_taken` when a live user already has this email (case-insensitively). */
  insert(user: InsertUser): Promise<User | 'email_taken'>;
  findById(id: string): Promise<User | undefined>;
  findByIds(ids: readonly string[]): Promise<User[]>;
  list(filter: UserFilter, page: PageRequest): Promise<Page<User>>;
  findByEmail(email: string): Promise<UserRecord | undefined>;
  /**
   * Applies `changes` and bumps the version. With `expectedVersion`, updates only
   * when the stored version matches. Returns `email_taken` on a duplicate email,
   * `version_mismatch` when the precondition fails, undefined when there is no such user.
   */
  update(id: string, changes: UpdateUser, now: Date, expectedVersion?: number): Promise<User | 'email_taken' | 'version_mismatch' | undefined>;
  /** Soft-deletes the user; false when there was no such (live) user or the version did not match. */
  softDelete(id: string, now: Date, expectedVersion?: number): Promise<boolean>;
}

/** Hashes and checks passwords (scrypt or Argon2id behind it). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
  /** Spends the same time as a failed verify, for unknown accounts. */
  verifyDummy(password: string): Promise<false>;
}

/** Lets the users service end a user's sessions and keys (on delete or password change). */
export interface CredentialRevoker {
  revokeAllForUser(userId: string, now: Date): Promise<void>;
}

/** An outstanding email verification: the token is known only by its SHA-256. */
export interface EmailVerification {
  id: string;
  userId: string;
  /** The address it verifies; once the user's email changes, the token no longer applies. */
  email: string;
  tokenHash: string;
  expiresAt: Date;
  createdAt: Date;
}

/** Outstanding email verifications, at most one per user. */
export interface EmailVerificationRepository {
  /** Stores the verification, replacing the user's earlier one. */
  replace(verification: EmailVerification): Promise<void>;
  /** Deletes and returns the user's verification with this token hash: a token is taken once. */
  take(userId: string, tokenHash: string): Promise<EmailVerification | undefined>;
}

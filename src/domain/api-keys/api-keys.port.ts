import type { Page, PageRequest } from '../shared/page.ts';
import type { Plan, Role } from '../shared/principal.ts';
import type { UserStatus } from '../users/users.types.ts';
import type { ApiKey } from './api-keys.types.ts';

export interface InsertApiKey extends Omit<ApiKey, 'lastUsedAt' | 'revokedAt'> {
  secretHash: string;
}

/** An API key found by its secret's hash, with what authentication needs of its owner. */
export interface ApiKeyWithOwner extends ApiKey {
  secretHash: string;
  owner: { role: Role; plan: Plan; status: UserStatus };
}

export interface ApiKeyRepository {
  insert(key: InsertApiKey): Promise<ApiKey>;
  /** Live keys (not revoked) of a user. */
  listByUser(userId: string, page: PageRequest): Promise<Page<ApiKey>>;
  findById(id: string): Promise<ApiKey | undefined>;
  /** The key with this secret hash whose owner is not deleted, revoked or not. */
  findBySecretHash(secretHash: string): Promise<ApiKeyWithOwner | undefined>;
  /** Renames or (un)pins a live key; undefined when there is no such live key. */
  update(id: string, changes: { name?: string; apiVersion?: string | null }): Promise<ApiKey | undefined>;
  /** False when there is no such live key. */
  revoke(id: string, now: Date): Promise<boolean>;
  revokeAllForUser(userId: string, now: Date): Promise<void>;
  /** Records use, at most once per `granularityMs` per key (no write per request). */
  touch(id: string, now: Date, granularityMs: number): Promise<void>;
}

/** Makes and checks the secret's format; platform/auth implements it. */
export interface ApiKeyMinter {
  mint(): { secret: string; prefix: string; secretHash: string };
}

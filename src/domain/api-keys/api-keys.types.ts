import type { SortFields, SortTerm } from '../shared/page.ts';
import type { Scope } from '../shared/principal.ts';

export interface ApiKey {
  id: string;
  userId: string;
  name: string;
  /** The public start of the secret, safe to show in lists and logs. */
  prefix: string;
  scopes: Scope[];
  apiVersion: string | null;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

/** The one time the secret exists outside the caller's hands. */
export interface CreatedApiKey {
  key: ApiKey;
  secret: string;
}

export const API_KEY_NAME_MAX = 100;

export const API_KEY_SORTS: SortFields<ApiKey> = { created_at: (k) => k.createdAt, name: (k) => k.name };
export const API_KEY_DEFAULT_SORT: readonly SortTerm[] = [{ field: 'created_at', descending: false }];

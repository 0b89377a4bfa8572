import type { Selectable } from 'kysely';
import type { ApiKey, ApiKeyRepository } from '../../../domain/api-keys/index.ts';
import type { Scope } from '../../../domain/shared/principal.ts';
import type { Db } from '../database.ts';
import type { ApiKeysTable } from '../schema.ts';
import { paginate, type SortColumn } from '../keyset.ts';

const SORTS: Record<string, SortColumn> = { created_at: { column: 'api_keys.created_at', type: 'timestamptz' }, name: { column: 'api_keys.name', type: 'text' } };

const COLUMNS = ['id', 'user_id', 'name', 'prefix', 'scopes', 'api_version', 'last_used_at', 'expires_at', 'revoked_at', 'created_at'] as const;

function toApiKey(row: Pick<Selectable<ApiKeysTable>, (typeof COLUMNS)[number]>): ApiKey {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes as Scope[],
    apiVersion: row.api_version,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
  };
}

export function createApiKeyRepository(db: Db): ApiKeyRepository {
  return {
    async insert(key) {
      const row = await db
        .insertInto('api_keys')
        .values({
          id: key.id,
          user_id: key.userId,
          name: key.name,
          prefix: key.prefix,
          secret_hash: key.secretHash,
          scopes: key.scopes,
          api_version: key.apiVersion,
          expires_at: key.expiresAt,
          created_at: key.createdAt,
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      return toApiKey(row);
    },

    async listByUser(userId, page) {
      const query = db.selectFrom('api_keys').select(COLUMNS).where('user_id', '=', userId).where('revoked_at', 'is', null);
      return paginate(query, page, SORTS, 'api_keys.id', toApiKey);
    },

    async findById(id) {
      const row = await db.selectFrom('api_keys').select(COLUMNS).where('id', '=', id).executeTakeFirst();
      return row && toApiKey(row);
    },

    async findBySecretHash(secretHash) {
      const row = await db
        .selectFrom('api_keys as k')
        .innerJoin('users as u', 'u.id', 'k.user_id')
        .select(COLUMNS.map((c) => `k.${c}` as const))
        .select(['k.secret_hash', 'u.role', 'u.plan', 'u.status'])
        .where('k.secret_hash', '=', secretHash)
        .where('u.deleted_at', 'is', null)
        .executeTakeFirst();
      if (!row) return undefined;
      return { ...toApiKey(row), secretHash: row.secret_hash, owner: { role: row.role, plan: row.plan, status: row.status } };
    },

    async update(id, changes) {
      const row = await db
        .updateTable('api_keys')
        .set({ ...(changes.name !== undefined && { name: changes.name }), ...(changes.apiVersion !== undefined && { api_version: changes.apiVersion }) })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returning(COLUMNS)
        .executeTakeFirst();
      return row && toApiKey(row);
    },

    async revoke(id, now) {
      const result = await db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async revokeAllForUser(userId, now) {
      await db.updateTable('api_keys').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
    },

    async touch(id, now, granularityMs) {
      await db
        .updateTable('api_keys')
        .set({ last_used_at: now })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(now.getTime() - granularityMs))]))
        .execute();
    },
  };
}

import { sql } from 'kysely';
import type { CredentialStatus, TicketStore } from '../../platform/auth/tickets.ts';
import type { Connection } from './transactions.ts';

/** Real-time tickets in `realtime_tickets` (migration 0009); expired rows go when the next ticket is issued. */
export function createTicketStore(connection: Connection): TicketStore {
  return {
    async insert(hash, grant, expiresAt, now) {
      const db = connection();
      await db.deleteFrom('realtime_tickets').where('expires_at', '<', new Date(now.getTime() - 60_000)).execute();
      await db
        .insertInto('realtime_tickets')
        .values({
          ticket_hash: hash,
          user_id: String(grant.principal.userId),
          principal: JSON.stringify(grant.principal),
          credential_expires_at: grant.credentialExpiresAt,
          expires_at: expiresAt,
          created_at: now,
        })
        .execute();
    },
    async take(hash, now) {
      const row = await connection().deleteFrom('realtime_tickets').where('ticket_hash', '=', hash).returningAll().executeTakeFirst();
      if (!row || row.expires_at.getTime() <= now.getTime()) return null;
      return { principal: row.principal, credentialExpiresAt: row.credential_expires_at };
    },
  };
}

/** Which of these credentials went bad: one query for all the connections of a process. */
export function createCredentialStatus(connection: Connection): CredentialStatus {
  return {
    async check(apiKeyIds, userIds, now) {
      const revokedKeys = new Set<string>();
      const inactiveUsers = new Set<string>();
      const db = connection();
      if (apiKeyIds.length > 0) {
        const rows = await db
          .selectFrom('api_keys')
          .select(['id', 'revoked_at', 'expires_at'])
          .where(sql<boolean>`id = ANY(${sql.val([...apiKeyIds])}::text[])`)
          .execute();
        const found = new Map(rows.map((r) => [r.id, r]));
        for (const id of apiKeyIds) {
          const row = found.get(id);
          if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at.getTime() <= now.getTime())) revokedKeys.add(id);
        }
      }
      if (userIds.length > 0) {
        const rows = await db
          .selectFrom('users')
          .select(['id', 'status', 'deleted_at'])
          .where(sql<boolean>`id = ANY(${sql.val([...userIds])}::text[])`)
          .execute();
        const found = new Map(rows.map((r) => [r.id, r.deleted_at === null ? r.status : 'deleted']));
        for (const id of userIds) if (found.get(id) !== 'active') inactiveUsers.add(id);
      }
      return { revokedKeys, inactiveUsers };
    },
  };
}

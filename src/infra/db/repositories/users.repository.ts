import { sql, type Selectable } from 'kysely';
import type { EmailVerification, EmailVerificationRepository, User, UserRecord, UserRepository } from '../../../domain/users/index.ts';
import { compiledOnce } from '../compiled.ts';
import type { Connection } from '../transactions.ts';
import type { UsersTable } from '../schema.ts';
import { isUniqueViolation } from './pg-errors.ts';
import { paginate, type SortColumn } from '../keyset.ts';

const SORTS: Record<string, SortColumn> = {
  created_at: { column: 'users.created_at', type: 'timestamptz' },
  display_name: { column: 'users.name', type: 'text' },
};

const EMAIL_CONSTRAINT = 'users_email_live_key';
const COLUMNS = ['id', 'email', 'name', 'role', 'status', 'plan', 'email_verified_at', 'created_at', 'updated_at', 'version'] as const;

type Row = Pick<Selectable<UsersTable>, (typeof COLUMNS)[number]>;

/** A users row (any query selecting its columns) as the domain's User. */
export function toUser(row: Row): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    plan: row.plan,
    emailVerifiedAt: row.email_verified_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

export function createUserRepository(connection: Connection): UserRepository {
  const byId = compiledOnce(connection, 1, (db, id: string) => db.selectFrom('users').select(COLUMNS).where('id', '=', id).where('deleted_at', 'is', null));
  return {
    async insert(user) {
      try {
        const row = await connection()
          .insertInto('users')
          .values({
            id: user.id,
            email: user.email,
            name: user.name,
            password_hash: user.passwordHash,
            role: user.role,
            plan: user.plan,
            created_at: user.now,
            updated_at: user.now,
          })
          .returning(COLUMNS)
          .executeTakeFirstOrThrow();
        return toUser(row);
      } catch (error) {
        if (isUniqueViolation(error, EMAIL_CONSTRAINT)) return 'email_taken';
        throw error;
      }
    },

    async findById(id) {
      const [row] = await byId(id);
      return row && toUser(row);
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await connection().selectFrom('users').select(COLUMNS).where('id', 'in', [...ids]).where('deleted_at', 'is', null).execute();
      return rows.map(toUser);
    },

    async list(filter, page) {
      let query = connection().selectFrom('users').select(COLUMNS).where('deleted_at', 'is', null);
      if (filter.status) query = query.where('status', 'in', [...filter.status]);
      if (filter.role) query = query.where('role', 'in', [...filter.role]);
      if (filter.plan) query = query.where('plan', 'in', [...filter.plan]);
      return paginate(query, page, SORTS, 'users.id', toUser);
    },

    async findByEmail(email): Promise<UserRecord | undefined> {
      const row = await connection()
        .selectFrom('users')
        .select([...COLUMNS, 'password_hash'])
        .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return row && { ...toUser(row), passwordHash: row.password_hash };
    },

    async update(id, changes, now, expectedVersion) {
      try {
        let query = connection()
          .updateTable('users')
          .set((eb) => ({
            // A new address is unverified; the same one in another case stays verified.
            ...(changes.email !== undefined && {
              email: changes.email,
              email_verified_at: sql<Date | null>`CASE WHEN lower(email) = lower(${changes.email}) THEN email_verified_at END`,
            }),
            ...(changes.emailVerifiedAt !== undefined && { email_verified_at: changes.emailVerifiedAt }),
            ...(changes.name !== undefined && { name: changes.name }),
            ...(changes.passwordHash !== undefined && { password_hash: changes.passwordHash }),
            ...(changes.role !== undefined && { role: changes.role }),
            ...(changes.status !== undefined && { status: changes.status }),
            ...(changes.plan !== undefined && { plan: changes.plan }),
            updated_at: now,
            version: eb('version', '+', 1),
          }))
          .where('id', '=', id)
          .where('deleted_at', 'is', null);
        if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
        const row = await query.returning(COLUMNS).executeTakeFirst();
        if (row) return toUser(row);
        if (expectedVersion === undefined) return undefined;
        const exists = await connection().selectFrom('users').select('id').where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
        return exists ? 'version_mismatch' : undefined;
      } catch (error) {
        if (isUniqueViolation(error, EMAIL_CONSTRAINT)) return 'email_taken';
        throw error;
      }
    },

    async softDelete(id, now, expectedVersion) {
      let query = connection()
        .updateTable('users')
        .set((eb) => ({ deleted_at: now, updated_at: now, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where('deleted_at', 'is', null);
      if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
      const result = await query.executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}

export function createEmailVerificationRepository(connection: Connection): EmailVerificationRepository {
  const toVerification = (row: { id: string; user_id: string; email: string; token_hash: string; expires_at: Date; created_at: Date }): EmailVerification => ({
    id: row.id,
    userId: row.user_id,
    email: row.email,
    tokenHash: row.token_hash,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
  });
  return {
    async replace(v) {
      const values = { id: v.id, email: v.email, token_hash: v.tokenHash, expires_at: v.expiresAt, created_at: v.createdAt };
      await connection()
        .insertInto('email_verifications')
        .values({ ...values, user_id: v.userId })
        .onConflict((oc) => oc.column('user_id').doUpdateSet(values))
        .execute();
    },

    async take(userId, tokenHash) {
      const row = await connection().deleteFrom('email_verifications').where('user_id', '=', userId).where('token_hash', '=', tokenHash).returningAll().executeTakeFirst();
      return row && toVerification(row);
    },
  };
}

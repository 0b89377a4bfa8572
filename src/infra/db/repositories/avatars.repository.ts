import type { AvatarRepository, AvatarType } from '../../../domain/users/index.ts';
import type { Connection } from '../transactions.ts';

export function createAvatarRepository(connection: Connection): AvatarRepository {
  return {
    async put(avatar) {
      const row = { content_type: avatar.contentType, bytes: avatar.bytes, sha256: avatar.sha256, updated_at: avatar.updatedAt };
      await connection()
        .insertInto('user_avatars')
        .values({ user_id: avatar.userId, ...row })
        .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
        .execute();
    },
    async get(userId) {
      const row = await connection().selectFrom('user_avatars').selectAll().where('user_id', '=', userId).executeTakeFirst();
      if (!row) return undefined;
      return { userId: row.user_id, contentType: row.content_type as AvatarType, bytes: row.bytes, sha256: row.sha256, updatedAt: row.updated_at };
    },
  };
}

import { sql } from 'kysely';
import type { FollowRepository } from '../../../domain/follows/index.ts';
import { toUser } from './users.repository.ts';
import { paginate, type SortColumn } from '../keyset.ts';
import type { Connection } from '../transactions.ts';

const SORTS: Record<string, SortColumn> = { followed_at: { column: 'follows.created_at', type: 'timestamptz' } };

export function createFollowRepository(connection: Connection): FollowRepository {
  return {
    async insert(followerId, followingId, now) {
      const result = await connection()
        .insertInto('follows')
        .values({ follower_id: followerId, following_id: followingId, created_at: now })
        .onConflict((oc) => oc.columns(['follower_id', 'following_id']).doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async delete(followerId, followingId) {
      const result = await connection().deleteFrom('follows').where('follower_id', '=', followerId).where('following_id', '=', followingId).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async list(userId, side, page) {
      const [mine, theirs] = side === 'followers' ? (['following_id', 'follower_id'] as const) : (['follower_id', 'following_id'] as const);
      const query = connection()
        .selectFrom('follows')
        .innerJoin('users', 'users.id', `follows.${theirs}`)
        .select([
          'users.id',
          'users.email',
          'users.name',
          'users.role',
          'users.status',
          'users.plan',
          'users.email_verified_at',
          'users.created_at',
          'users.updated_at',
          'users.version',
          'follows.created_at as followed_at',
        ])
        .where(`follows.${mine}`, '=', userId)
        .where('users.deleted_at', 'is', null);
      return paginate(query, page, SORTS, `follows.${theirs}`, (row) => ({ id: row.id, followedAt: row.followed_at, user: toUser(row) }));
    },

    async counts(userId) {
      const row = await connection()
        .selectNoFrom([
          sql<number>`(SELECT count(*)::int FROM follows WHERE following_id = ${userId})`.as('followers'),
          sql<number>`(SELECT count(*)::int FROM follows WHERE follower_id = ${userId})`.as('following'),
        ])
        .executeTakeFirstOrThrow();
      return row;
    },
  };
}

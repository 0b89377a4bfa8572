import { sql, type Selectable } from 'kysely';
import type { Comment, CommentRepository, Post, PostRepository } from '../../../domain/posts/index.ts';
import { paginate, type SortColumn } from '../keyset.ts';
import type { CommentsTable, PostsTable } from '../schema.ts';
import type { Connection } from '../transactions.ts';

const POST_COLUMNS = ['posts.id', 'posts.author_id', 'posts.title', 'posts.content', 'posts.likes', 'posts.created_at', 'posts.updated_at', 'posts.version'] as const;
const POST_SORTS: Record<string, SortColumn> = {
  created_at: { column: 'posts.created_at', type: 'timestamptz' },
  updated_at: { column: 'posts.updated_at', type: 'timestamptz' },
  title: { column: 'posts.title', type: 'text' },
  likes: { column: 'posts.likes', type: 'integer' },
};
const COMMENT_SORTS: Record<string, SortColumn> = { created_at: { column: 'comments.created_at', type: 'timestamptz' } };

type PostRow = Omit<Selectable<PostsTable>, never>;

function toPost(row: PostRow): Post {
  return {
    id: row.id,
    authorId: row.author_id,
    title: row.title,
    content: row.content,
    likes: row.likes,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

function toComment(row: Selectable<CommentsTable>): Comment {
  return { id: row.id, postId: row.post_id, authorId: row.author_id, content: row.content, createdAt: row.created_at, updatedAt: row.updated_at, version: row.version };
}

/** Whether a missing row was never there, or is there with another version. */
async function missOrMismatch(connection: Connection, table: 'posts' | 'comments', id: string, expectedVersion: number | undefined) {
  if (expectedVersion === undefined) return undefined;
  const row = await connection().selectFrom(table).select('id').where('id', '=', id).executeTakeFirst();
  return row ? ('version_mismatch' as const) : undefined;
}

export function createPostRepository(connection: Connection): PostRepository {
  return {
    async insert(post) {
      const row = await connection()
        .insertInto('posts')
        .values({ id: post.id, author_id: post.authorId, title: post.title, content: post.content, created_at: post.createdAt, updated_at: post.updatedAt })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toPost(row);
    },

    async findById(id) {
      const row = await connection().selectFrom('posts').select(POST_COLUMNS).where('id', '=', id).executeTakeFirst();
      return row && toPost(row);
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await connection().selectFrom('posts').select(POST_COLUMNS).where('id', 'in', [...ids]).execute();
      return rows.map(toPost);
    },

    async update(id, changes, now, expectedVersion) {
      let query = connection()
        .updateTable('posts')
        .set((eb) => ({
          ...(changes.title !== undefined && { title: changes.title }),
          ...(changes.content !== undefined && { content: changes.content }),
          updated_at: now,
          version: eb('version', '+', 1),
        }))
        .where('id', '=', id);
      if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
      const row = await query.returning(POST_COLUMNS).executeTakeFirst();
      return row ? toPost(row) : missOrMismatch(connection, 'posts', id, expectedVersion);
    },

    async delete(id, expectedVersion) {
      let query = connection().deleteFrom('posts').where('id', '=', id);
      if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
      const result = await query.executeTakeFirst();
      if (result.numDeletedRows > 0n) return true;
      return (await missOrMismatch(connection, 'posts', id, expectedVersion)) ?? false;
    },

    async list(filter, page) {
      let query = connection().selectFrom('posts').select(POST_COLUMNS);
      if (filter.authorId !== undefined) query = query.where('posts.author_id', '=', filter.authorId);
      if (filter.followedBy !== undefined) {
        const followedBy = filter.followedBy;
        query = query.where('posts.author_id', 'in', (eb) => eb.selectFrom('follows').select('following_id').where('follower_id', '=', followedBy));
      }
      if (filter.createdAfter) query = query.where('posts.created_at', '>', filter.createdAfter);
      if (filter.createdBefore) query = query.where('posts.created_at', '<', filter.createdBefore);
      if (filter.q !== undefined) query = query.where(sql<boolean>`posts.search @@ websearch_to_tsquery('english', ${filter.q})`);
      return paginate(query, page, POST_SORTS, 'posts.id', toPost);
    },

    async commentCounts(postIds) {
      const counts = new Map<string, number>(postIds.map((id) => [id, 0]));
      if (postIds.length === 0) return counts;
      const rows = await connection()
        .selectFrom('comments')
        .select(['post_id', sql<number>`count(*)::int`.as('n')])
        .where('post_id', 'in', [...postIds])
        .groupBy('post_id')
        .execute();
      for (const row of rows) counts.set(row.post_id, row.n);
      return counts;
    },
  };
}

export function createCommentRepository(connection: Connection): CommentRepository {
  return {
    async insert(comment) {
      const row = await connection()
        .insertInto('comments')
        .values({ id: comment.id, post_id: comment.postId, author_id: comment.authorId, content: comment.content, created_at: comment.createdAt, updated_at: comment.updatedAt })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toComment(row);
    },

    async findById(id) {
      const row = await connection().selectFrom('comments').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toComment(row);
    },

    async update(id, content, now, expectedVersion) {
      let query = connection()
        .updateTable('comments')
        .set((eb) => ({ content, updated_at: now, version: eb('version', '+', 1) }))
        .where('id', '=', id);
      if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
      const row = await query.returningAll().executeTakeFirst();
      return row ? toComment(row) : missOrMismatch(connection, 'comments', id, expectedVersion);
    },

    async delete(id, expectedVersion) {
      let query = connection().deleteFrom('comments').where('id', '=', id);
      if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
      const result = await query.executeTakeFirst();
      if (result.numDeletedRows > 0n) return true;
      return (await missOrMismatch(connection, 'comments', id, expectedVersion)) ?? false;
    },

    async listForPost(postId, page) {
      const query = connection().selectFrom('comments').selectAll().where('comments.post_id', '=', postId);
      return paginate(query, page, COMMENT_SORTS, 'comments.id', toComment);
    },
  };
}

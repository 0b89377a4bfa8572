import type { SortFields, SortTerm } from '../shared/page.ts';

export interface Post {
  id: string;
  authorId: string;
  title: string;
  content: string;
  likes: number;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface Comment {
  id: string;
  postId: string;
  authorId: string;
  content: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface PostFilter {
  authorId?: string | undefined;
  /** Only posts by the people this user follows (the feed). */
  followedBy?: string | undefined;
  createdAfter?: Date | undefined;
  createdBefore?: Date | undefined;
  /** Full-text search over title and content. */
  q?: string | undefined;
}

export const TITLE_MAX = 200;
export const CONTENT_MAX = 20_000;
export const COMMENT_MAX = 5_000;

export const POST_SORTS: SortFields<Post> = {
  created_at: (p) => p.createdAt,
  updated_at: (p) => p.updatedAt,
  title: (p) => p.title,
  likes: (p) => p.likes,
};
export const POST_DEFAULT_SORT: readonly SortTerm[] = [{ field: 'created_at', descending: true }];

export const COMMENT_SORTS: SortFields<Comment> = { created_at: (c) => c.createdAt };
export const COMMENT_DEFAULT_SORT: readonly SortTerm[] = [{ field: 'created_at', descending: false }];

/** The event payload for a post: the API's field names. */
export function postSnapshot(post: Post): Record<string, unknown> {
  return { id: post.id, author_id: post.authorId, title: post.title, content: post.content, created_at: post.createdAt.toISOString() };
}

export function commentSnapshot(comment: Comment): Record<string, unknown> {
  return { id: comment.id, post_id: comment.postId, author_id: comment.authorId, content: comment.content, created_at: comment.createdAt.toISOString() };
}

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

/** A post in the API's field names: what every transport and event shows (REST adds links). */
export function presentPost(post: Post) {
  return {
    id: post.id,
    author_id: post.authorId,
    title: post.title,
    content: post.content,
    likes: post.likes,
    created_at: post.createdAt.toISOString(),
    updated_at: post.updatedAt.toISOString(),
  };
}

/** A comment in the API's field names: what every transport and event shows (REST adds links). */
export function presentComment(comment: Comment) {
  return {
    id: comment.id,
    post_id: comment.postId,
    author_id: comment.authorId,
    content: comment.content,
    created_at: comment.createdAt.toISOString(),
    updated_at: comment.updatedAt.toISOString(),
  };
}

import type { Page, PageRequest } from '../shared/page.ts';
import type { Comment, Post, PostFilter } from './posts.types.ts';

export interface PostChanges {
  title?: string;
  content?: string;
}

export interface PostRepository {
  insert(post: Post): Promise<Post>;
  findById(id: string): Promise<Post | undefined>;
  findByIds(ids: readonly string[]): Promise<Post[]>;
  /** Applies changes and bumps the version; `version_mismatch` when expectedVersion is given and stale. */
  update(id: string, changes: PostChanges, now: Date, expectedVersion?: number): Promise<Post | 'version_mismatch' | undefined>;
  delete(id: string, expectedVersion?: number): Promise<boolean | 'version_mismatch'>;
  list(filter: PostFilter, page: PageRequest): Promise<Page<Post>>;
  /** Comment counts per post id (batch). */
  commentCounts(postIds: readonly string[]): Promise<Map<string, number>>;
}

export interface CommentRepository {
  insert(comment: Comment): Promise<Comment>;
  findById(id: string): Promise<Comment | undefined>;
  update(id: string, content: string, now: Date, expectedVersion?: number): Promise<Comment | 'version_mismatch' | undefined>;
  delete(id: string, expectedVersion?: number): Promise<boolean | 'version_mismatch'>;
  listForPost(postId: string, page: PageRequest): Promise<Page<Comment>>;
}

import type { Page, PageRequest } from '../shared/page.ts';
import type { User } from '../users/index.ts';

export interface FollowRow {
  user: User;
  followedAt: Date;
}

export interface FollowRepository {
  /** Creates the follow; false when it already existed. */
  insert(followerId: string, followingId: string, now: Date): Promise<boolean>;
  delete(followerId: string, followingId: string): Promise<boolean>;
  /** Users following `userId` (`followers`) or followed by it (`following`). */
  list(userId: string, side: 'followers' | 'following', page: PageRequest): Promise<Page<FollowRow & { id: string }>>;
  counts(userId: string): Promise<{ followers: number; following: number }>;
}

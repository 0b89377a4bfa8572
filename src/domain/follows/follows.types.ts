import type { SortFields, SortTerm } from '../shared/page.ts';
import type { PublicProfile, User } from '../users/index.ts';

/** One row of a followers or following list: the other user and when the follow began. */
export interface FollowEntry {
  /** The other user's id (the list's tie-breaker). */
  id: string;
  user: User | PublicProfile;
  followedAt: Date;
}

export const FOLLOW_SORTS: SortFields<FollowEntry> = { followed_at: (f) => f.followedAt };
export const FOLLOW_DEFAULT_SORT: readonly SortTerm[] = [{ field: 'followed_at', descending: true }];

import type { EventLog } from '../events/index.ts';
import type { Clock } from '../shared/clock.ts';
import { notFound, validationError } from '../shared/errors.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import { canActFor, requireScope, type Principal } from '../shared/principal.ts';
import type { Transactor } from '../shared/transactor.ts';
import { publicProfile, type UserRepository } from '../users/index.ts';
import type { FollowRepository } from './follows.port.ts';
import type { FollowEntry } from './follows.types.ts';

export interface FollowsServiceDeps {
  follows: FollowRepository;
  users: UserRepository;
  events: EventLog;
  transactor: Transactor;
  clock: Clock;
}

/** The social graph: the caller follows and unfollows; anyone signed in reads followers and following. */
export class FollowsService {
  readonly #deps: FollowsServiceDeps;

  constructor(deps: FollowsServiceDeps) {
    this.#deps = deps;
  }

  /** Idempotent: following someone already followed changes nothing. */
  async follow(actor: Principal, userId: string): Promise<void> {
    requireScope(actor, 'users:write');
    if (userId === actor.userId) throw validationError([{ field: 'id', code: 'cannot_follow_self', message: 'a user cannot follow itself' }], 'You cannot follow yourself');
    await this.#existing(userId);
    const now = this.#deps.clock.now();
    await this.#deps.transactor.run(async () => {
      if (!(await this.#deps.follows.insert(actor.userId, userId, now))) return;
      await this.#deps.events.append(
        {
          type: 'follow.created',
          resourceType: 'follow',
          resourceId: `${actor.userId}:${userId}`,
          data: { follower_id: actor.userId, following_id: userId, created_at: now.toISOString() },
          audience: [actor.userId, userId],
        },
        now,
      );
    });
  }

  /** Idempotent: unfollowing someone not followed changes nothing. */
  async unfollow(actor: Principal, userId: string): Promise<void> {
    requireScope(actor, 'users:write');
    if (userId !== actor.userId) await this.#existing(userId);
    await this.#deps.follows.delete(actor.userId, userId);
  }

  async list(actor: Principal, userId: string, side: 'followers' | 'following', page: PageRequest): Promise<Page<FollowEntry>> {
    requireScope(actor, 'users:read');
    await this.#existing(userId);
    const result = await this.#deps.follows.list(userId, side, page);
    return {
      ...result,
      items: result.items.map((row) => ({
        id: row.id,
        followedAt: row.followedAt,
        user: canActFor(actor, row.user.id) ? row.user : publicProfile(row.user),
      })),
    };
  }

  async counts(actor: Principal, userId: string): Promise<{ followers: number; following: number }> {
    requireScope(actor, 'users:read');
    await this.#existing(userId);
    return this.#deps.follows.counts(userId);
  }

  async #existing(userId: string): Promise<void> {
    if (!(await this.#deps.users.findById(userId))) throw notFound('User');
  }
}

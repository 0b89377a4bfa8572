import { checkTypePatterns, familyOf, matchesTypes, type StoredEvent } from '../../domain/events/index.ts';
import { validationError } from '../../domain/shared/errors.ts';
import { requireScope, type Principal } from '../../domain/shared/principal.ts';
import type { PostsService } from '../../domain/posts/index.ts';
import { CHAT_ROOM } from './chat.ts';

/** A channel a subscriber asked for, once authorized. */
export type Channel =
  | { kind: 'events' | 'orders' | 'posts'; name: string; accepts(event: StoredEvent): boolean }
  | { kind: 'chat'; name: string; room: string };

export interface ChannelDeps {
  /** Throws what REST's `GET /users/{id}/posts` would (404 for an unknown user, 403 for a missing scope). */
  authorizeUserPosts(actor: Principal, userId: string): Promise<void>;
}

/**
 * Resolves and authorizes a channel name: `events` (everything the caller may
 * see), `orders` (the caller's orders; administrators: all), `posts:<user id>`
 * (that user's posts and the comments on them), `chat:<room>`. Refusals carry
 * the code REST gives for the same read.
 */
export async function resolveChannel(actor: Principal, name: string, types: readonly string[] | undefined, deps: ChannelDeps): Promise<Channel> {
  checkTypePatterns(types, 'types');
  const typed = (event: StoredEvent) => matchesTypes(types, event.type);
  if (name === 'events') return { kind: 'events', name, accepts: typed };
  if (name === 'orders') {
    requireScope(actor, 'orders:read');
    return { kind: 'orders', name, accepts: (event) => familyOf(event.type) === 'order' && typed(event) };
  }
  if (name.startsWith('posts:')) {
    const userId = name.slice('posts:'.length);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(userId)) throw validationError([{ field: 'channel', code: 'invalid_value', message: 'posts:<user id> needs a user id' }]);
    await deps.authorizeUserPosts(actor, userId);
    return {
      kind: 'posts',
      name,
      accepts: (event) => {
        const family = familyOf(event.type);
        // A comment event's audience names the post's author besides everyone (posts.service.ts).
        if (family === 'post') return event.data.author_id === userId && typed(event);
        if (family === 'comment') return event.audience.includes(userId) && typed(event);
        return false;
      },
    };
  }
  if (name.startsWith('chat:')) {
    const room = name.slice('chat:'.length);
    if (!CHAT_ROOM.test(room)) throw validationError([{ field: 'channel', code: 'invalid_value', message: 'a chat room name is 1 to 64 characters from a-z, 0-9 and -' }]);
    return { kind: 'chat', name, room };
  }
  throw validationError([{ field: 'channel', code: 'invalid_value', message: 'must be events, orders, posts:<user id> or chat:<room>' }]);
}

/**
 * The read check of `posts:<user id>` for every push transport (WebSocket
 * channels, GraphQL subscriptions): what REST's `GET /users/{id}/posts` checks,
 * asking the service for one row rather than repeating its rule.
 */
export function userPostsAuthorization(posts: Pick<PostsService, 'listByAuthor'>): ChannelDeps {
  return {
    async authorizeUserPosts(actor, userId) {
      await posts.listByAuthor(actor, userId, {}, { mode: 'cursor', sort: [{ field: 'created_at', descending: true }], limit: 1 });
    },
  };
}

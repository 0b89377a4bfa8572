import type { UsersService } from '../../domain/users/index.ts';
import type { Relation } from './lists.ts';
import { presentUser } from './routes/users.routes.ts';

type Json = Record<string, unknown>;

/**
 * Embeds the user named by `key` (`author_id`, `user_id`) as `as` with one
 * query per page: the public profile, or the full record for the caller itself.
 */
export function userRelation(users: UsersService, key: string, as: string): Relation {
  return {
    async attach(parents, actor) {
      const ids = [...new Set(parents.map((p) => p[key]).filter((id): id is string => typeof id === 'string'))];
      const byId = new Map((await users.getMany(actor, ids)).map((u) => [u.id, presentUser(u)]));
      const attached: Json[] = [];
      for (const parent of parents) {
        const user = byId.get(parent[key] as string) ?? null;
        parent[as] = user;
        if (user) attached.push(user);
      }
      return attached;
    },
  };
}

/** The public-profile fields an embedded user may be narrowed to with `fields=author.name`. */
export const EMBEDDED_USER_FIELDS = ['id', 'name', 'email', 'role', 'status', 'plan', 'created_at', 'updated_at', 'links'] as const;

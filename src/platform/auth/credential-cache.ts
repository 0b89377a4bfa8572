import type { ApiKeyRepository, ApiKeyWithOwner } from '../../domain/api-keys/index.ts';
import type { Clock } from '../../domain/shared/clock.ts';
import type { User, UserRepository } from '../../domain/users/index.ts';

/**
 * Carries "forget these" between the processes of a deployment. `publish` resolves once every process that was
 * listening has applied the message (or after the bus's timeout, which it reports). `healthy` is false while a
 * process may be missing messages (its connection is down): its cache then answers nothing.
 */
export interface InvalidationBus {
  publish(tags: readonly string[]): Promise<void>;
  subscribe(handler: (tags: readonly string[]) => void): void;
  readonly healthy: boolean;
  close(): Promise<void>;
}

/** One process, nobody else to tell: the embedded database can only be opened by one process. */
export function createLocalInvalidationBus(): InvalidationBus {
  const handlers: Array<(tags: readonly string[]) => void> = [];
  return {
    healthy: true,
    async publish(tags) {
      for (const handler of handlers) handler(tags);
    },
    subscribe(handler) {
      handlers.push(handler);
    },
    async close() {},
  };
}

export interface CredentialCacheOptions {
  users: UserRepository;
  apiKeys: ApiKeyRepository;
  bus: InvalidationBus;
  clock: Clock;
  maxEntries?: number;
  /** A backstop: an entry is read again after this long even if no invalidation came. */
  ttlMs?: number;
  /** After an invalidation, how long its subject is read from the database and not cached (covers the commit). */
  quietMs?: number;
}

interface Entry<T> {
  value: T;
  storedAt: number;
}

export interface CredentialCache {
  /** The repositories to give the services: their writes that change what a credential stands for invalidate it everywhere. */
  users: UserRepository;
  apiKeys: ApiKeyRepository;
  /** The authenticator's reads, answered from memory while nothing invalidated them. */
  lookups: { users: Pick<UserRepository, 'findById'>; apiKeys: Pick<ApiKeyRepository, 'findBySecretHash' | 'touch'> };
}

const userTag = (id: string) => `user:${id}`;
const keyTag = (id: string) => `key:${id}`;

/**
 * A bounded in-process cache of what authentication reads on every request: the API key (by secret hash, with
 * its owner) and the user behind an access token. Revocation stays immediate: every write that changes what a
 * credential stands for (revoking or editing a key, suspending, editing or deleting a user) publishes an
 * invalidation and waits until every process has applied it, so once the write's request returns, no process
 * admits the old state. Because that happens before the transaction commits, an invalidated subject is then
 * read from the database and not cached for `quietMs`, and a read that began before an invalidation is never
 * stored. With an unhealthy bus nothing is served from memory.
 */
export function createCredentialCache(options: CredentialCacheOptions): CredentialCache {
  const { users, apiKeys, bus, clock } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = options.ttlMs ?? 30_000;
  const quietMs = options.quietMs ?? 5_000;
  const keysByHash = new Map<string, Entry<ApiKeyWithOwner>>();
  const usersById = new Map<string, Entry<User>>();
  /** tag → the time of its latest invalidation. */
  const invalidatedAt = new Map<string, number>();

  const now = () => clock.now().getTime();

  bus.subscribe((tags) => {
    const at = now();
    for (const tag of tags) {
      invalidatedAt.set(tag, at);
      if (tag.startsWith('user:')) usersById.delete(tag.slice(5));
    }
    for (const [hash, entry] of keysByHash) {
      if (tags.includes(keyTag(entry.value.id)) || tags.includes(userTag(entry.value.userId))) keysByHash.delete(hash);
    }
    if (invalidatedAt.size > maxEntries) {
      for (const [tag, time] of invalidatedAt) if (at - time > quietMs) invalidatedAt.delete(tag);
    }
  });

  /** May a value read since `readStart`, about these tags, be kept? */
  const storable = (readStart: number, tags: readonly string[]) => {
    if (!bus.healthy) return false;
    for (const tag of tags) {
      const last = invalidatedAt.get(tag);
      if (last !== undefined && (last >= readStart || now() - last < quietMs)) return false;
    }
    return true;
  };

  const fresh = <T>(entry: Entry<T> | undefined): entry is Entry<T> => entry !== undefined && bus.healthy && now() - entry.storedAt < ttlMs;

  function store<T>(map: Map<string, Entry<T>>, key: string, value: T, readStart: number): void {
    map.delete(key);
    if (map.size >= maxEntries) map.delete(map.keys().next().value as string);
    map.set(key, { value, storedAt: readStart });
  }

  const lookups: CredentialCache['lookups'] = {
    users: {
      async findById(id) {
        const cached = usersById.get(id);
        if (fresh(cached)) return cached.value;
        const readStart = now();
        const user = await users.findById(id);
        if (user && storable(readStart, [userTag(id)])) store(usersById, id, user, readStart);
        else usersById.delete(id);
        return user;
      },
    },
    apiKeys: {
      async findBySecretHash(secretHash) {
        const cached = keysByHash.get(secretHash);
        if (fresh(cached)) return cached.value;
        const readStart = now();
        const key = await apiKeys.findBySecretHash(secretHash);
        if (key && storable(readStart, [keyTag(key.id), userTag(key.userId)])) store(keysByHash, secretHash, key, readStart);
        else keysByHash.delete(secretHash);
        return key;
      },
      async touch(id, at, granularityMs) {
        // The cached copy learns its new last use, or every request after a minute would write it again.
        for (const entry of keysByHash.values()) if (entry.value.id === id) entry.value = { ...entry.value, lastUsedAt: at };
        await apiKeys.touch(id, at, granularityMs);
      },
    },
  };

  return {
    lookups,
    users: {
      ...users,
      async update(id, changes, at, expectedVersion) {
        const result = await users.update(id, changes, at, expectedVersion);
        if (typeof result === 'object') await bus.publish([userTag(id)]);
        return result;
      },
      async softDelete(id, at, expectedVersion) {
        const deleted = await users.softDelete(id, at, expectedVersion);
        if (deleted) await bus.publish([userTag(id)]);
        return deleted;
      },
    },
    apiKeys: {
      ...apiKeys,
      async update(id, changes) {
        const key = await apiKeys.update(id, changes);
        if (key) await bus.publish([keyTag(id)]);
        return key;
      },
      async revoke(id, at) {
        const revoked = await apiKeys.revoke(id, at);
        if (revoked) await bus.publish([keyTag(id)]);
        return revoked;
      },
      async revokeAllForUser(userId, at) {
        await apiKeys.revokeAllForUser(userId, at);
        await bus.publish([userTag(userId)]);
      },
    },
  };
}

import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyRepository } from '../../domain/api-keys/index.ts';
import type { Clock } from '../../domain/shared/clock.ts';
import { AppError } from '../../domain/shared/errors.ts';
import type { Principal, Scope } from '../../domain/shared/principal.ts';
import type { UserRepository } from '../../domain/users/index.ts';
import type { AccessTokens } from './access-tokens.ts';
import { apiKeyDigest, isWellFormedApiKey, looksLikeApiKey } from './api-key-format.ts';

export interface Credentials {
  /** The raw `Authorization` header. */
  authorization?: string | undefined;
  /** The raw `X-API-Key` header. */
  apiKey?: string | undefined;
}

export interface AuthenticatorDeps {
  users: Pick<UserRepository, 'findById'>;
  apiKeys: Pick<ApiKeyRepository, 'findBySecretHash' | 'touch'>;
  accessTokens: AccessTokens;
  clock: Clock;
}

// last_used_at is written at most once a minute per key.
const LAST_USED_GRANULARITY_MS = 60_000;

function invalidKey(detail: string): AppError {
  return new AppError('INVALID_API_KEY', detail, {
    authChallenge: { error: 'invalid_token', description: 'invalid API key' },
  });
}

/**
 * Turns request credentials into a Principal: a JWT access token (a person,
 * every scope) or an API key (its scopes). Used by every transport.
 */
export interface Authenticator {
  /** `null` when no credential was presented; throws 401/403 when one was presented and is not good. */
  authenticate(credentials: Credentials): Promise<Principal | null>;
}

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  async function fromApiKey(secret: string): Promise<Principal> {
    // The checksum refuses typos and forgeries without touching the database.
    if (!isWellFormedApiKey(secret)) throw invalidKey('The API key is malformed');
    const digest = apiKeyDigest(secret);
    const key = await deps.apiKeys.findBySecretHash(digest.toString('hex'));
    // One 32-byte buffer per request (two of the hex text made Node carve a new buffer pool every 64 requests).
    const stored = key ? Buffer.from(key.secretHash, 'hex') : undefined;
    if (!key || stored?.length !== digest.length || !timingSafeEqual(stored, digest)) throw invalidKey('The API key is not recognised');
    const now = deps.clock.now();
    if (key.revokedAt !== null) throw invalidKey('The API key has been revoked');
    if (key.expiresAt !== null && key.expiresAt.getTime() <= now.getTime()) throw invalidKey('The API key has expired');
    if (key.owner.status !== 'active') throw new AppError('ACCOUNT_SUSPENDED', `The account owning this API key is ${key.owner.status}`, { authChallenge: { error: 'invalid_token', description: 'account suspended' } });
    if (key.lastUsedAt === null || now.getTime() - key.lastUsedAt.getTime() >= LAST_USED_GRANULARITY_MS) {
      // Best effort and off the request path: a failed touch must not fail the request.
      deps.apiKeys.touch(key.id, now, LAST_USED_GRANULARITY_MS).catch(() => {});
    }
    return {
      userId: key.userId,
      role: key.owner.role,
      plan: key.owner.plan,
      via: 'api_key',
      apiKeyId: key.id,
      scopes: new Set<Scope>(key.scopes),
      apiVersion: key.apiVersion,
    };
  }

  async function fromAccessToken(token: string): Promise<Principal> {
    const userId = await deps.accessTokens.verify(token);
    const user = await deps.users.findById(userId);
    if (!user) {
      throw new AppError('INVALID_TOKEN', 'The account behind this access token no longer exists', {
        authChallenge: { error: 'invalid_token' },
      });
    }
    if (user.status !== 'active') {
      throw new AppError('ACCOUNT_SUSPENDED', `This account is ${user.status}`, { authChallenge: { error: 'invalid_token', description: 'account suspended' } });
    }
    return { userId: user.id, role: user.role, plan: user.plan, via: 'session', apiKeyId: null, scopes: null, apiVersion: null };
  }

  return {
    async authenticate({ authorization, apiKey }) {
      if (authorization !== undefined) {
        const match = /^Bearer +([^\s]+) *$/i.exec(authorization);
        if (!match) {
          throw new AppError('UNAUTHENTICATED', 'Use "Authorization: Bearer <access token or API key>"', {
            authChallenge: { error: 'invalid_request' },
          });
        }
        const credential = match[1]!;
        return looksLikeApiKey(credential) ? fromApiKey(credential) : fromAccessToken(credential);
      }
      if (apiKey !== undefined) return fromApiKey(apiKey.trim());
      return null;
    },
  };
}

import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../domain/shared/clock.ts';
import { AppError } from '../../domain/shared/errors.ts';
import { newId } from '../../domain/shared/ids.ts';
import type { PasswordHasher, UserRepository } from '../../domain/users/index.ts';
import type { AccessTokens } from './access-tokens.ts';

export interface RefreshTokenRecord {
  id: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
  rotatedAt: Date | null;
  revokedAt: Date | null;
}

export interface RefreshTokenRepository {
  insert(token: { id: string; userId: string; familyId: string; tokenHash: string; createdAt: Date; expiresAt: Date }): Promise<void>;
  findByHash(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks the token rotated, only if it is still current; false when another request got there first. */
  markRotated(id: string, now: Date): Promise<boolean>;
  revokeFamily(familyId: string, now: Date): Promise<void>;
  revokeAllForUser(userId: string, now: Date): Promise<void>;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export interface SessionsServiceDeps {
  users: UserRepository;
  passwords: PasswordHasher;
  refreshTokens: RefreshTokenRepository;
  accessTokens: AccessTokens;
  clock: Clock;
  refreshTtlSeconds: number;
}

const REFRESH_PREFIX = 'rt_';
const REFRESH_SHAPE = /^rt_[A-Za-z0-9_-]{43}$/;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function invalidRefresh(): AppError {
  return new AppError('INVALID_REFRESH_TOKEN', 'The refresh token is invalid, expired or revoked; sign in again');
}

/**
 * Login, refresh-token rotation with reuse detection, and logout.
 * Refresh tokens are opaque, stored only as SHA-256, and belong to a family
 * (one sign-in). Presenting a token that was already rotated is treated as
 * theft: the whole family, its newest token included, is revoked.
 */
export class SessionsService {
  readonly #deps: SessionsServiceDeps;

  constructor(deps: SessionsServiceDeps) {
    this.#deps = deps;
  }

  async login(email: string, password: string): Promise<TokenPair> {
    const user = typeof email === 'string' ? await this.#deps.users.findByEmail(email.trim()) : undefined;
    // Unknown email and wrong password cost the same and answer the same.
    const ok = user ? await this.#deps.passwords.verify(password, user.passwordHash) : await this.#deps.passwords.verifyDummy(password);
    if (!user || !ok) throw new AppError('INVALID_CREDENTIALS', 'The email or password is incorrect');
    if (user.status !== 'active') throw new AppError('ACCOUNT_SUSPENDED', `This account is ${user.status}`);
    return this.#issue(user.id, newId('rtk'));
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const record = await this.#find(refreshToken);
    const now = this.#deps.clock.now();
    if (!record || record.revokedAt !== null || record.expiresAt.getTime() <= now.getTime()) throw invalidRefresh();
    if (record.rotatedAt !== null || !(await this.#deps.refreshTokens.markRotated(record.id, now))) {
      await this.#deps.refreshTokens.revokeFamily(record.familyId, now);
      throw invalidRefresh();
    }
    const user = await this.#deps.users.findById(record.userId);
    if (!user || user.status !== 'active') throw invalidRefresh();
    return this.#issue(user.id, record.familyId);
  }

  /** Ends the sign-in the token belongs to. Unknown tokens are ignored (revocation is idempotent). */
  async logout(refreshToken: string): Promise<void> {
    const record = await this.#find(refreshToken);
    if (record) await this.#deps.refreshTokens.revokeFamily(record.familyId, this.#deps.clock.now());
  }

  async #find(token: string): Promise<RefreshTokenRecord | undefined> {
    if (typeof token !== 'string' || !REFRESH_SHAPE.test(token)) return undefined;
    return this.#deps.refreshTokens.findByHash(hashToken(token));
  }

  async #issue(userId: string, familyId: string): Promise<TokenPair> {
    const now = this.#deps.clock.now();
    const refreshToken = REFRESH_PREFIX + randomBytes(32).toString('base64url');
    await this.#deps.refreshTokens.insert({
      id: newId('rtk', now.getTime()),
      userId,
      familyId,
      tokenHash: hashToken(refreshToken),
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.#deps.refreshTtlSeconds * 1000),
    });
    return {
      accessToken: await this.#deps.accessTokens.sign(userId),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.#deps.accessTokens.ttlSeconds,
    };
  }
}

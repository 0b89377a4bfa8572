import { createHash, randomBytes } from 'node:crypto';
import type { EventLog } from '../events/index.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, notFound, validationError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { requireScope, type Principal } from '../shared/principal.ts';
import type { Transactor } from '../shared/transactor.ts';
import type { EmailVerificationRepository, UserRepository } from './users.port.ts';
import type { User } from './users.types.ts';

/** How long a verification token may be used. */
export const VERIFICATION_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

const TOKEN_PREFIX = 'vrf_';
const TOKEN_SHAPE = /^vrf_[A-Za-z0-9_-]{43}$/;

export interface EmailVerificationServiceDeps {
  users: Pick<UserRepository, 'findById' | 'update'>;
  verifications: EmailVerificationRepository;
  events: EventLog;
  transactor: Transactor;
  clock: Clock;
  ttlMs?: number;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function invalidToken(): AppError {
  return validationError([{ field: 'token', code: 'invalid_value', message: 'is wrong, expired or already used; request a new one' }], 'The verification token is wrong, expired or already used');
}

/**
 * Email verification without sending mail: a request issues a single-use,
 * expiring token and delivers it in a `user.verification_requested` event that
 * only the user itself can read (an operator's mailer subscribes to those
 * events); presenting the token sets `email_verified_at`. Only the token's
 * SHA-256 is stored beside the user.
 */
export class EmailVerificationService {
  readonly #deps: EmailVerificationServiceDeps;
  readonly #ttlMs: number;

  constructor(deps: EmailVerificationServiceDeps) {
    this.#deps = deps;
    this.#ttlMs = deps.ttlMs ?? VERIFICATION_TOKEN_TTL_MS;
  }

  /** Issues a new token (the previous one stops working) and records it in the user's event. */
  async request(actor: Principal, userId: string): Promise<{ expiresAt: Date }> {
    requireScope(actor, 'users:write');
    const user = await this.#own(actor, userId);
    if (user.emailVerifiedAt) throw new AppError('CONFLICT', 'This email address is already verified');
    const now = this.#deps.clock.now();
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const verification = { id: newId('evr', now.getTime()), userId, email: user.email, tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + this.#ttlMs), createdAt: now };
    await this.#deps.transactor.run(async () => {
      await this.#deps.verifications.replace(verification);
      await this.#deps.events.append(
        {
          type: 'user.verification_requested',
          resourceType: 'email_verification',
          resourceId: verification.id,
          data: { id: verification.id, user_id: userId, email: user.email, token, expires_at: verification.expiresAt.toISOString(), created_at: now.toISOString() },
          // The token is a secret: the user alone reads this event (confidential: not even administrators).
          audience: [userId],
        },
        now,
      );
    });
    return { expiresAt: verification.expiresAt };
  }

  /** Uses the token: once, before it expires, for the address it was issued for. */
  async verify(actor: Principal, userId: string, token: string): Promise<User> {
    requireScope(actor, 'users:write');
    await this.#own(actor, userId);
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) throw invalidToken();
    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      const taken = await this.#deps.verifications.take(userId, hashToken(token));
      const user = await this.#deps.users.findById(userId);
      if (!user) throw notFound('User');
      // Throwing rolls the take back; an expired or stale token stays unusable either way.
      if (!taken || taken.expiresAt.getTime() <= now.getTime() || taken.email.toLowerCase() !== user.email.toLowerCase()) throw invalidToken();
      const updated = await this.#deps.users.update(userId, { emailVerifiedAt: now }, now);
      if (!updated || typeof updated === 'string') throw notFound('User');
      return updated;
    });
  }

  async #own(actor: Principal, userId: string): Promise<User> {
    const user = await this.#deps.users.findById(userId);
    // Existence is no secret (profiles are readable): an unknown id is 404, someone else's account 403.
    if (!user) throw notFound('User');
    if (actor.userId !== userId) throw new AppError('FORBIDDEN', 'Only the user itself may verify its email address');
    return user;
  }
}

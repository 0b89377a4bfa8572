import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, calculateJwkThumbprint, type JWK, type CryptoKey } from 'jose';
import { AppError } from '../../domain/shared/errors.ts';
import type { Clock } from '../../domain/shared/clock.ts';

const ALGORITHM = 'EdDSA';
const CLOCK_SKEW_SECONDS = 30;

export interface AccessTokenOptions {
  /** Private Ed25519 JWKs; the first signs, every one verifies (rotation without downtime). */
  keys: JWK[];
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clock: Clock;
}

export interface AccessTokens {
  readonly ttlSeconds: number;
  sign(userId: string): Promise<string>;
  /** Returns the user id, or throws 401 INVALID_TOKEN. */
  verify(token: string): Promise<string>;
  /** The public keys, for `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] };
}

/** Generates a new private Ed25519 JWK with its thumbprint as `kid`. */
export async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: ALGORITHM, use: 'sig' };
}

/** Short-lived JWT access tokens, algorithm pinned to EdDSA. */
export async function createAccessTokens(options: AccessTokenOptions): Promise<AccessTokens> {
  if (options.keys.length === 0) throw new Error('at least one signing key is needed');
  const publicKeys: JWK[] = [];
  for (const key of options.keys) {
    const kid = key.kid ?? (await calculateJwkThumbprint(key));
    const { d: _private, ...rest } = key;
    publicKeys.push({ ...rest, kid, alg: ALGORITHM, use: 'sig' });
  }
  const signingJwk = options.keys[0]!;
  const signingKid = publicKeys[0]!.kid!;
  const signingKey = (await importJWK(signingJwk, ALGORITHM)) as CryptoKey;
  const keySet = createLocalJWKSet({ keys: publicKeys });

  return {
    ttlSeconds: options.ttlSeconds,
    async sign(userId) {
      const now = Math.floor(options.clock.now().getTime() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg: ALGORITHM, kid: signingKid, typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + options.ttlSeconds)
        .sign(signingKey);
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keySet, {
          algorithms: [ALGORITHM],
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: CLOCK_SKEW_SECONDS,
          requiredClaims: ['sub', 'iat', 'exp'],
          currentDate: options.clock.now(),
        });
        if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('no subject');
        return payload.sub;
      } catch (cause) {
        const expired = (cause as { code?: string }).code === 'ERR_JWT_EXPIRED';
        throw new AppError('INVALID_TOKEN', expired ? 'The access token has expired' : 'The access token is invalid', {
          cause,
          authChallenge: { error: 'invalid_token', description: expired ? 'token expired' : 'token invalid' },
        });
      }
    },
    jwks: () => ({ keys: publicKeys }),
  };
}

import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  calculateJwkThumbprint,
  type JWK,
  type CryptoKey,
} from 'jose';
import { AppError } from '../../domain/shared/errors.ts';
import type { Clock } from '../../domain/shared/clock.ts';

const ALGORITHM = 'EdDSA';
const CLOCK_SKEW_SECONDS = 30;
/** Verified tokens remembered (an Ed25519 verification is most of an authenticated request's own CPU). */
const VERIFIED_CACHE_ENTRIES = 10_000;

/**
 * Where signing keys come from when they can change while the process runs
 * (keys shared through the database and rotated by `stoa keys rotate-signing`).
 */
export interface SigningKeySource {
  /** Private Ed25519 JWKs, each with its `kid`; the first signs, every one verifies. A new array whenever the set changes. */
  current(): readonly JWK[];
  /**
   * Asked when a token names a `kid` that `current()` lacks (another process may
   * have rotated). The source bounds how often this reaches its store.
   */
  refresh(kid: string): Promise<void>;
}

export interface AccessTokenOptions {
  /** Private Ed25519 JWKs (the first signs, every one verifies: rotation without downtime), or a source of them. */
  keys: JWK[] | SigningKeySource;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clock: Clock;
  /** How many verified tokens to remember (by exact text, until they expire); 0 verifies every time. */
  verifiedCacheEntries?: number;
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

interface KeyState {
  source: readonly JWK[];
  kids: ReadonlySet<string>;
  signingKid: string;
  signingKey: CryptoKey;
  keySet: ReturnType<typeof createLocalJWKSet>;
}

function publicKeysOf(keys: readonly JWK[]): JWK[] {
  return keys.map(({ d: _private, ...rest }) => ({ ...rest, alg: ALGORITHM, use: 'sig' }));
}

async function withKid(key: JWK): Promise<JWK> {
  return key.kid ? key : { ...key, kid: await calculateJwkThumbprint(key) };
}

/** Short-lived JWT access tokens, algorithm pinned to EdDSA. */
export async function createAccessTokens(options: AccessTokenOptions): Promise<AccessTokens> {
  const source: SigningKeySource = Array.isArray(options.keys) ? staticSource(await Promise.all(options.keys.map(withKid))) : options.keys;
  if (source.current().length === 0) throw new Error('at least one signing key is needed');

  let state: Promise<KeyState> | undefined;
  let stateSource: readonly JWK[] | undefined;
  let published: { source: readonly JWK[]; jwks: { keys: JWK[] } } | undefined;
  /**
   * Tokens that verified, by their exact text: the subject and expiry, and the key set that verified them (a
   * changed set verifies again, so a withdrawn key takes its tokens with it). A token is stateless until it
   * expires, so remembering the signature check changes no answer; revocation is the caller's user check.
   */
  const verified = new Map<string, { sub: string; exp: number; source: readonly JWK[] }>();
  const maxVerified = options.verifiedCacheEntries ?? VERIFIED_CACHE_ENTRIES;
  /** jose's expiry rule: valid while now (whole seconds) − skew < exp. */
  const unexpired = (exp: number) => Math.floor(options.clock.now().getTime() / 1000) - CLOCK_SKEW_SECONDS < exp;

  /** The imported keys for the source's current set, rebuilt when the set changes. */
  function keyState(): Promise<KeyState> {
    const keys = source.current();
    if (state && stateSource === keys) return state;
    stateSource = keys;
    const next = (async (): Promise<KeyState> => {
      if (keys.length === 0) throw new Error('at least one signing key is needed');
      const publicKeys = publicKeysOf(keys);
      return {
        source: keys,
        kids: new Set(publicKeys.map((k) => k.kid!)),
        signingKid: publicKeys[0]!.kid!,
        signingKey: (await importJWK(keys[0]!, ALGORITHM)) as CryptoKey,
        keySet: createLocalJWKSet({ keys: publicKeys }),
      };
    })();
    state = next;
    // A failed import is not kept: the next call tries again.
    next.catch(() => {
      if (state === next) state = undefined;
    });
    return next;
  }
  await keyState();

  /** The kid a token names, or undefined when its header cannot be read (verification rejects it anyway). */
  function kidOf(token: string): string | undefined {
    try {
      return decodeProtectedHeader(token).kid;
    } catch {
      return undefined;
    }
  }

  return {
    ttlSeconds: options.ttlSeconds,
    async sign(userId) {
      const { signingKid, signingKey } = await keyState();
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
      const known = verified.get(token);
      if (known !== undefined) {
        if (known.source === source.current() && unexpired(known.exp)) return known.sub;
        verified.delete(token);
      }
      try {
        let keys = await keyState();
        const kid = kidOf(token);
        if (kid !== undefined && !keys.kids.has(kid)) {
          // Perhaps another process rotated and signs with a key this one has not loaded yet.
          await source.refresh(kid);
          keys = await keyState();
        }
        const { payload } = await jwtVerify(token, keys.keySet, {
          algorithms: [ALGORITHM],
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: CLOCK_SKEW_SECONDS,
          requiredClaims: ['sub', 'iat', 'exp'],
          currentDate: options.clock.now(),
        });
        if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('no subject');
        // A token with a start time (nbf) is not remembered: its answer depends on the time at both ends.
        if (maxVerified > 0 && payload.nbf === undefined && typeof payload.exp === 'number') {
          if (verified.size >= maxVerified) verified.delete(verified.keys().next().value as string);
          verified.set(token, { sub: payload.sub, exp: payload.exp, source: keys.source });
        }
        return payload.sub;
      } catch (cause) {
        const expired = (cause as { code?: string }).code === 'ERR_JWT_EXPIRED';
        throw new AppError('INVALID_TOKEN', expired ? 'The access token has expired' : 'The access token is invalid', {
          cause,
          authChallenge: { error: 'invalid_token', description: expired ? 'token expired' : 'token invalid' },
        });
      }
    },
    jwks() {
      const keys = source.current();
      if (published?.source !== keys) published = { source: keys, jwks: { keys: publicKeysOf(keys) } };
      return published.jwks;
    },
  };
}

function staticSource(keys: readonly JWK[]): SigningKeySource {
  return { current: () => keys, refresh: async () => {} };
}

/** How long past its expiry a token is still accepted (clocks of different machines disagree a little). */
export const ACCESS_TOKEN_CLOCK_SKEW_SECONDS = CLOCK_SKEW_SECONDS;

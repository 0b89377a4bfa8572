import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Clock } from '../../domain/shared/clock.ts';
import { generateSigningKey, type SigningKeySource } from '../../platform/auth/access-tokens.ts';
import type { Database } from '../db/schema.ts';

/** Where versions before the signing_keys table kept a generated key; adopted into the table once. */
const LEGACY_FILE = 'jwt-signing-keys.json';
// Arbitrary constant (next to migrate.ts's 4_202_611): held while the first key is made or a rotation runs.
const SIGNING_KEYS_LOCK_ID = 4_202_612;
const ALGORITHM = 'EdDSA';
/** Marks a private key encrypted with STOA_JWT_KEYS_ENCRYPTION_KEY (AES-256-GCM, the kid as associated data). */
const SEALED = 'sealed:v1:';
/** Unknown kids reload the key set at most this often, so forged kids cannot hammer the database. */
const DEFAULT_MIN_RELOAD_GAP_MS = 1_000;

export interface SigningKeys {
  /** The keys access tokens sign and verify with; the first signs. */
  readonly source: SigningKeySource;
  /** Keys the pagination-cursor MAC: the same on every process of a deployment and across rotations. */
  readonly cursorSecret: string;
  /** `configured`: STOA_JWT_KEYS, fixed for the life of the process; `database`: the signing_keys table. */
  readonly origin: 'configured' | 'database';
  /** Stops the periodic reload. */
  close(): void;
}

export interface SigningKeysOptions {
  /** STOA_JWT_KEYS: when set, it wins and the database is not consulted. */
  configured: string | undefined;
  /** STOA_DATA_DIR: a key file left there by an earlier version is adopted when the table is still empty. */
  dataDir: string;
  db: Kysely<Database>;
  clock: Clock;
  /** How often the key set is reloaded from the database (rotations by other processes). */
  reloadIntervalMs: number;
  /** A key found in the legacy file besides the first keeps verifying this long. */
  previousKeyGraceSeconds: number;
  /** 32 bytes (STOA_JWT_KEYS_ENCRYPTION_KEY): private keys are stored encrypted with it, and existing plain ones are encrypted at start. */
  encryptionKey?: Buffer | undefined;
  minReloadGapMs?: number;
}

/**
 * The JWT signing keys. From `STOA_JWT_KEYS` when given; otherwise from the
 * `signing_keys` table, where the process that starts first creates the key
 * (under an advisory lock, so concurrent first starts agree) and every process
 * reloads the set every `reloadIntervalMs` and whenever a token names a kid it
 * does not know (at most once a second). Private keys never leave this module
 * except towards the token signer.
 */
export async function openSigningKeys(options: SigningKeysOptions): Promise<SigningKeys> {
  if (options.configured) {
    // A key without a kid is named by its thumbprint, as generated keys are.
    const keys = await Promise.all((JSON.parse(options.configured) as JWK[]).map(async (k) => (k.kid ? k : { ...k, kid: await calculateJwkThumbprint(k) })));
    return { source: { current: () => keys, refresh: async () => {} }, cursorSecret: String(keys[0]?.d ?? ''), origin: 'configured', close() {} };
  }

  const { db, clock, encryptionKey } = options;
  await ensureSigningKey(db, {
    now: clock.now(),
    legacyKeys: readLegacyKeys(options.dataDir),
    previousKeyGraceSeconds: options.previousKeyGraceSeconds,
    encryptionKey,
  });
  if (encryptionKey) await sealPlainKeys(db, encryptionKey);
  let keys = await usableKeys(db, clock.now(), encryptionKey);
  if (keys.length === 0) throw new Error('no usable JWT signing key in the signing_keys table');
  const cursorSecret = await genesisSecret(db, encryptionKey);

  const minGap = options.minReloadGapMs ?? DEFAULT_MIN_RELOAD_GAP_MS;
  let reloading: Promise<void> | undefined;
  let lastAskedReload = 0;
  let delayedReload: Promise<void> | undefined;

  function reload(): Promise<void> {
    reloading ??= (async () => {
      try {
        const loaded = await usableKeys(db, clock.now(), encryptionKey);
        // Same kids in the same order: keep the array, so the signer does not import the keys again.
        if (loaded.length > 0 && loaded.map((k) => k.kid).join() !== keys.map((k) => k.kid).join()) keys = loaded;
      } catch {
        // The database is unreachable for now: keep the keys already loaded.
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  }

  /**
   * A reload asked for by a token with an unknown kid. At most one starts per
   * `minGap`; a request asking sooner waits for the next one instead of being
   * turned away, so a key rotated in just after a reload is still found.
   */
  async function askedReload(kid: string): Promise<void> {
    if (reloading) {
      // It may have read the table before the key was added: look again unless it found the kid.
      await reloading;
      if (keys.some((k) => k.kid === kid)) return;
    }
    const wait = lastAskedReload + minGap - Date.now();
    if (wait <= 0) {
      lastAskedReload = Date.now();
      return reload();
    }
    delayedReload ??= new Promise<void>((resolve) => setTimeout(resolve, wait).unref()).then(() => {
      delayedReload = undefined;
      lastAskedReload = Date.now();
      return reload();
    });
    return delayedReload;
  }

  const timer = setInterval(() => void reload(), options.reloadIntervalMs);
  timer.unref();

  return {
    source: { current: () => keys, refresh: askedReload },
    cursorSecret,
    origin: 'database',
    close: () => clearInterval(timer),
  };
}

export interface RotationResult {
  /** The kid of the key that signs from now on. */
  kid: string;
  /** The keys that stopped signing, and until when they still verify. */
  retired: Array<{ kid: string; verifyUntil: Date }>;
}

/**
 * Makes a new key the signer. The keys signing until now keep verifying for
 * `previousKeyGraceSeconds` (long enough for every token they signed to
 * expire); keys whose grace has passed are deleted, except the oldest one,
 * which keys the pagination cursors.
 */
export async function rotateSigningKey(
  db: Kysely<Database>,
  options: { now: Date; previousKeyGraceSeconds: number; encryptionKey?: Buffer | undefined },
): Promise<RotationResult> {
  const key = await generateSigningKey();
  const verifyUntil = new Date(options.now.getTime() + options.previousKeyGraceSeconds * 1000);
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${SIGNING_KEYS_LOCK_ID})`.execute(trx);
    const retired = await trx.updateTable('signing_keys').set({ verify_until: verifyUntil }).where('verify_until', 'is', null).returning('kid').execute();
    await insertKey(trx, key, { createdAt: options.now, verifyUntil: null }, options.encryptionKey);
    const genesis = await genesisKid(trx);
    await trx.deleteFrom('signing_keys').where('verify_until', '<=', options.now).where('kid', '<>', genesis).execute();
    return { kid: key.kid!, retired: retired.map((r) => ({ kid: r.kid, verifyUntil })) };
  });
}

/** Creates the first key (or adopts the legacy file's) when no key signs yet; safe to call from several processes at once. */
async function ensureSigningKey(
  db: Kysely<Database>,
  options: { now: Date; legacyKeys: JWK[] | undefined; previousKeyGraceSeconds: number; encryptionKey: Buffer | undefined },
): Promise<void> {
  if (await hasSigner(db)) return;
  const generated = options.legacyKeys ? undefined : await generateSigningKey();
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${SIGNING_KEYS_LOCK_ID})`.execute(trx);
    if (await hasSigner(trx)) return;
    const [first, ...others] = options.legacyKeys ?? [generated!];
    await insertKey(trx, first!, { createdAt: options.now, verifyUntil: null }, options.encryptionKey);
    const verifyUntil = new Date(options.now.getTime() + options.previousKeyGraceSeconds * 1000);
    // Later created_at: the first key stays the oldest, which keys the cursors as it did before.
    for (const [i, key] of others.entries()) await insertKey(trx, key, { createdAt: new Date(options.now.getTime() + i + 1), verifyUntil }, options.encryptionKey);
  });
}

async function hasSigner(db: Kysely<Database>): Promise<boolean> {
  return (await db.selectFrom('signing_keys').select('kid').where('verify_until', 'is', null).executeTakeFirst()) !== undefined;
}

async function insertKey(db: Kysely<Database>, key: JWK, at: { createdAt: Date; verifyUntil: Date | null }, encryptionKey: Buffer | undefined): Promise<void> {
  const { d: _private, ...publicPart } = key;
  const kid = key.kid!;
  await db
    .insertInto('signing_keys')
    .values({
      kid,
      algorithm: ALGORITHM,
      public_jwk: JSON.stringify({ kty: publicPart.kty, crv: publicPart.crv, x: publicPart.x }),
      private_key: seal(JSON.stringify({ ...key, kid, alg: ALGORITHM, use: 'sig' }), kid, encryptionKey),
      created_at: at.createdAt,
      activated_at: at.createdAt,
      verify_until: at.verifyUntil,
    })
    .execute();
}

/** The keys that verify at `now`, the signer first, then the most recently retired. */
async function usableKeys(db: Kysely<Database>, now: Date, encryptionKey: Buffer | undefined): Promise<JWK[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'private_key', 'verify_until'])
    .where((eb) => eb.or([eb('verify_until', 'is', null), eb('verify_until', '>', now)]))
    .orderBy(sql`verify_until IS NULL`, 'desc')
    .orderBy('activated_at', 'desc')
    .orderBy('kid')
    .execute();
  return rows.map((row) => ({ ...unseal(row.private_key, row.kid, encryptionKey), kid: row.kid }));
}

async function genesisKid(db: Kysely<Database>): Promise<string> {
  const row = await db.selectFrom('signing_keys').select('kid').orderBy('created_at').orderBy('kid').limit(1).executeTakeFirstOrThrow();
  return row.kid;
}

async function genesisSecret(db: Kysely<Database>, encryptionKey: Buffer | undefined): Promise<string> {
  const row = await db.selectFrom('signing_keys').select(['kid', 'private_key']).orderBy('created_at').orderBy('kid').limit(1).executeTakeFirstOrThrow();
  return String(unseal(row.private_key, row.kid, encryptionKey).d ?? '');
}

/** Encrypts the private keys still stored in the clear (written before STOA_JWT_KEYS_ENCRYPTION_KEY was set). */
async function sealPlainKeys(db: Kysely<Database>, encryptionKey: Buffer): Promise<void> {
  const plain = `${SEALED}%`;
  if (!(await db.selectFrom('signing_keys').select('kid').where('private_key', 'not like', plain).executeTakeFirst())) return;
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${SIGNING_KEYS_LOCK_ID})`.execute(trx);
    for (const row of await trx.selectFrom('signing_keys').select(['kid', 'private_key']).where('private_key', 'not like', plain).execute()) {
      await trx.updateTable('signing_keys').set({ private_key: seal(row.private_key, row.kid, encryptionKey) }).where('kid', '=', row.kid).execute();
    }
  });
}

/** The private JWK as stored: encrypted when a key is given, else JSON text. */
function seal(privateJwk: string, kid: string, encryptionKey: Buffer | undefined): string {
  if (!encryptionKey) return privateJwk;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv);
  cipher.setAAD(Buffer.from(kid));
  const sealed = Buffer.concat([cipher.update(privateJwk, 'utf8'), cipher.final()]);
  return `${SEALED}${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${sealed.toString('base64url')}`;
}

/** Reads a stored private key. Errors name the kid and the setting, never the material. */
function unseal(stored: string, kid: string, encryptionKey: Buffer | undefined): JWK {
  if (!stored.startsWith(SEALED)) return JSON.parse(stored) as JWK;
  if (!encryptionKey) throw new Error(`signing key ${kid} is stored encrypted: set STOA_JWT_KEYS_ENCRYPTION_KEY`);
  try {
    const [iv, tag, sealed] = stored.slice(SEALED.length).split('.');
    const decipher = createDecipheriv('aes-256-gcm', encryptionKey, Buffer.from(iv!, 'base64url'));
    decipher.setAAD(Buffer.from(kid));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    return JSON.parse(Buffer.concat([decipher.update(Buffer.from(sealed!, 'base64url')), decipher.final()]).toString('utf8')) as JWK;
  } catch {
    throw new Error(`signing key ${kid} cannot be decrypted: STOA_JWT_KEYS_ENCRYPTION_KEY is not the key it was stored with`);
  }
}

function readLegacyKeys(dataDir: string): JWK[] | undefined {
  if (dataDir === 'memory') return undefined;
  const file = path.join(dataDir, LEGACY_FILE);
  if (!existsSync(file)) return undefined;
  const keys = JSON.parse(readFileSync(file, 'utf8')) as JWK[];
  return Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k.kid === 'string' && typeof k.d === 'string') ? keys : undefined;
}

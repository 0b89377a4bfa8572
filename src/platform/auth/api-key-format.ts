import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { ApiKeyMinter } from '../../domain/api-keys/index.ts';

/**
 * API key format: `sk_` + 8 characters of public prefix + 43 characters of
 * secret (together 256 random bits) + 6 characters of CRC-32 checksum, all base62.
 * The checksum lets a mistyped or truncated key be refused without a database read;
 * only the SHA-256 of the whole key is stored.
 */
const KEY_PREFIX = 'sk_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 51;
const CHECKSUM_LENGTH = 6;
const PUBLIC_LENGTH = 8;
const KEY_SHAPE = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);

function base62(bytes: Buffer, length: number): string {
  let value = BigInt('0x' + bytes.toString('hex'));
  let out = '';
  for (let i = 0; i < length; i++) {
    out = BASE62[Number(value % 62n)]! + out;
    value /= 62n;
  }
  return out;
}

/** The CRC-32 of `text` in base62 (6 characters; a 32-bit number, so no BigInt is needed as for the body). */
function checksum(text: string): string {
  let value = crc32(text);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62]! + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** The SHA-256 of a key: what is stored (as hex) and looked up. */
export function apiKeyDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function hashApiKey(secret: string): string {
  return apiKeyDigest(secret).toString('hex');
}

/** True when `value` is shaped like an API key (as opposed to a JWT). */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(KEY_PREFIX);
}

/** True when the key has the right shape and its checksum matches. */
export function isWellFormedApiKey(value: string): boolean {
  if (!KEY_SHAPE.test(value)) return false;
  const body = value.slice(0, value.length - CHECKSUM_LENGTH);
  return checksum(body) === value.slice(-CHECKSUM_LENGTH);
}

export const apiKeyMinter: ApiKeyMinter = {
  mint() {
    // 43 base62 characters carry 256 bits; the 8 public ones come on top.
    const body = KEY_PREFIX + base62(randomBytes(40), BODY_LENGTH);
    const secret = body + checksum(body);
    return { secret, prefix: secret.slice(0, KEY_PREFIX.length + PUBLIC_LENGTH), secretHash: hashApiKey(secret) };
  },
};

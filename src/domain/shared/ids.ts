import { randomBytes } from 'node:crypto';

/** Type prefixes of Stoa's identifiers. */
export type IdPrefix = 'usr' | 'key' | 'rtk' | 'evr' | 'pst' | 'cmt' | 'prd' | 'ord' | 'itm' | 'ch' | 'evt' | 'whe' | 'whd' | 'job';

// Crockford base32: order-preserving, so ids sort by creation time.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

let lastMs = 0;
let lastRandom = Buffer.alloc(10);

function nextRandom(ms: number): Buffer {
  if (ms > lastMs) {
    lastMs = ms;
    lastRandom = randomBytes(10);
    lastRandom[0]! &= 0x7f; // headroom so increments within one millisecond never overflow
    return lastRandom;
  }
  // Same (or earlier) millisecond: increment the random part, keeping ids monotonic in-process.
  const next = Buffer.from(lastRandom);
  for (let i = next.length - 1; i >= 0; i--) {
    next[i] = (next[i]! + 1) & 0xff;
    if (next[i] !== 0) break;
  }
  lastRandom = next;
  return next;
}

/**
 * A UUIDv7-like 128-bit value (48-bit millisecond timestamp + 80 random bits,
 * monotonic within the process) encoded as 26 base32 characters behind a type
 * prefix: `usr_01jd3k…`.
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  const bytes = Buffer.alloc(16);
  const ms = Math.max(now, lastMs);
  bytes.writeUIntBE(ms, 0, 6);
  nextRandom(ms).copy(bytes, 6);
  let out = '';
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  for (let i = 0; i < 26; i++) {
    out = ALPHABET[Number(value & 31n)]! + out;
    value >>= 5n;
  }
  return `${prefix}_${out}`;
}

const ID_SHAPE = /^[a-z]{2,3}_[0-9a-z]{26}$/;

/** True when `value` has the shape of an id with the given prefix. */
export function isId(value: string, prefix: IdPrefix): boolean {
  return value.startsWith(`${prefix}_`) && ID_SHAPE.test(value);
}

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../domain/shared/errors.ts';
import type { KeysetPosition } from '../../domain/shared/page.ts';

const MAC_BYTES = 16;
const MAX_CURSOR_LENGTH = 2048;

export interface DecodedCursor {
  direction: 'next' | 'prev';
  at: KeysetPosition;
}

function invalid(detail: string, field: string): AppError {
  return new AppError('INVALID_CURSOR', detail, { errors: [{ field, code: 'invalid_cursor', message: detail }] });
}

/**
 * Opaque, integrity-protected cursors: base64url(JSON) + "." + a truncated
 * HMAC-SHA256 over the payload and the fingerprint of the scope it came from
 * (collection, parent, filters, sort). A cursor presented anywhere else fails
 * the MAC check, so it is refused instead of silently walking the wrong list.
 * The payload names the direction it was minted for and the position (every
 * sort value plus the id); it carries no authorization.
 */
export class CursorCodec {
  readonly #key: Buffer;

  constructor(secret: string | Buffer) {
    this.#key = createHash('sha256').update('stoa cursor v1').update(secret).digest();
  }

  encode(cursor: DecodedCursor, fingerprint: string): string {
    const payload = Buffer.from(JSON.stringify({ d: cursor.direction === 'next' ? 'n' : 'p', v: cursor.at.values, i: cursor.at.id })).toString('base64url');
    return `${payload}.${this.#mac(payload, fingerprint).toString('base64url')}`;
  }

  /** Throws 400 INVALID_CURSOR (naming `field`) for anything not minted by `encode` for this fingerprint. */
  decode(token: string, fingerprint: string, sortLength: number, field = 'cursor'): DecodedCursor {
    const malformed = () => invalid('The cursor is malformed', field);
    if (token.length === 0 || token.length > MAX_CURSOR_LENGTH) throw malformed();
    const [payload, mac, extra] = token.split('.');
    if (!payload || !mac || extra !== undefined || !/^[A-Za-z0-9_-]+$/.test(payload) || !/^[A-Za-z0-9_-]+$/.test(mac)) {
      throw malformed();
    }
    const given = Buffer.from(mac, 'base64url');
    const expected = this.#mac(payload, fingerprint);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw invalid('The cursor is invalid, or belongs to a different query (sort, filters and search must stay the same while paging)', field);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw malformed();
    }
    const p = parsed as { d?: unknown; v?: unknown; i?: unknown };
    const valuesOk = Array.isArray(p.v) && p.v.length === sortLength && p.v.every((x) => typeof x === 'string' || typeof x === 'number');
    if ((p.d !== 'n' && p.d !== 'p') || !valuesOk || typeof p.i !== 'string') throw malformed();
    return { direction: p.d === 'n' ? 'next' : 'prev', at: { values: p.v as Array<string | number>, id: p.i } };
  }

  #mac(payload: string, fingerprint: string): Buffer {
    return createHmac('sha256', this.#key).update(fingerprint).update('\u0000').update(payload).digest().subarray(0, MAC_BYTES);
  }
}

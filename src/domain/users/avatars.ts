import { createHash } from 'node:crypto';
import type { Clock } from '../shared/clock.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { canActFor, requireScope, type Principal } from '../shared/principal.ts';
import type { UserRepository } from './users.port.ts';

/** The largest avatar, in bytes. */
export const AVATAR_MAX_BYTES = 2 * 1024 * 1024;
/** The largest piece of an avatar one message of an upload may carry. */
export const AVATAR_CHUNK_MAX_BYTES = 64 * 1024;

export type AvatarType = 'image/png' | 'image/jpeg';

export interface Avatar {
  userId: string;
  contentType: AvatarType;
  bytes: Uint8Array;
  /** Hex SHA-256 of the bytes: the ETag. */
  sha256: string;
  updatedAt: Date;
}

/** Where avatars are kept: one per user. */
export interface AvatarRepository {
  put(avatar: Avatar): Promise<void>;
  get(userId: string): Promise<Avatar | undefined>;
}

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];

/** The image type the first bytes announce (the file signature), whatever the client claims. */
export function sniffAvatarType(head: Uint8Array): AvatarType | undefined {
  const starts = (signature: number[]) => head.length >= signature.length && signature.every((b, i) => head[i] === b);
  if (starts(PNG)) return 'image/png';
  if (starts(JPEG)) return 'image/jpeg';
  return undefined;
}

/**
 * An avatar arriving in pieces: each piece is checked as it comes (its size,
 * the running total against the cap, the signature once the first bytes are
 * in), so an oversized or non-image upload is refused at the piece that
 * gives it away, never after holding all of it.
 */
export class AvatarUpload {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;

  add(chunk: Uint8Array): void {
    if (chunk.length > AVATAR_CHUNK_MAX_BYTES) {
      throw new AppError('PAYLOAD_TOO_LARGE', `An avatar chunk may be at most ${AVATAR_CHUNK_MAX_BYTES} bytes; this one is ${chunk.length}`, {
        errors: [{ field: 'chunk', code: 'too_long', message: `at most ${AVATAR_CHUNK_MAX_BYTES} bytes` }],
      });
    }
    this.#size += chunk.length;
    if (this.#size > AVATAR_MAX_BYTES) {
      throw new AppError('PAYLOAD_TOO_LARGE', `An avatar may be at most ${AVATAR_MAX_BYTES} bytes`, {
        errors: [{ field: 'chunk', code: 'too_long', message: `at most ${AVATAR_MAX_BYTES} bytes in all` }],
      });
    }
    this.#chunks.push(chunk);
    if (this.#chunks.length === 1 || this.#size - chunk.length < PNG.length) this.#checkSignature(false);
  }

  /** The whole image and its type; refuses an empty or unrecognised one. */
  finish(): { bytes: Uint8Array; contentType: AvatarType } {
    const bytes = Buffer.concat(this.#chunks);
    return { bytes, contentType: this.#checkSignature(true)! };
  }

  #checkSignature(final: boolean): AvatarType | undefined {
    const head = Buffer.concat(this.#chunks).subarray(0, PNG.length);
    const type = sniffAvatarType(head);
    const undecided = !final && head.length < PNG.length && [PNG, JPEG].some((sig) => head.every((b, i) => sig[i] === b));
    if (type || undecided) return type;
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', this.#size === 0 ? 'The avatar is empty' : 'An avatar must be a PNG or JPEG image (checked by its first bytes)', {
      errors: [{ field: 'chunk', code: this.#size === 0 ? 'required' : 'invalid_format', message: 'must be a PNG or JPEG image' }],
    });
  }
}

export interface AvatarsServiceDeps {
  avatars: AvatarRepository;
  users: Pick<UserRepository, 'findById'>;
  clock: Clock;
}

/** Avatars: a user sets their own (administrators anyone's); anyone who may read profiles may read them. */
export class AvatarsService {
  readonly #deps: AvatarsServiceDeps;

  constructor(deps: AvatarsServiceDeps) {
    this.#deps = deps;
  }

  /** Checks, before any byte is read, that `actor` may set `userId`'s avatar. */
  async authorizeUpload(actor: Principal, userId: string): Promise<void> {
    requireScope(actor, 'users:write');
    if (canActFor(actor, userId)) return;
    if (!(await this.#deps.users.findById(userId))) throw notFound('User');
    throw new AppError('FORBIDDEN', "You may only change your own account's avatar");
  }

  async set(actor: Principal, userId: string, upload: AvatarUpload): Promise<Avatar> {
    await this.authorizeUpload(actor, userId);
    const { bytes, contentType } = upload.finish();
    const avatar: Avatar = { userId, contentType, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), updatedAt: this.#deps.clock.now() };
    await this.#deps.avatars.put(avatar);
    return avatar;
  }

  async get(actor: Principal, userId: string): Promise<Avatar> {
    requireScope(actor, 'users:read');
    const avatar = await this.#deps.avatars.get(userId);
    if (!avatar || !(await this.#deps.users.findById(userId))) throw notFound('Avatar');
    return avatar;
  }
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../domain/shared/errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** STOA_REQUIRE_IF_MATCH: updates without If-Match are 428. */
    requireIfMatch: boolean;
  }
}

/** A strong ETag derived from a row's version column (never from hashing the body). */
export function versionEtag(version: number, variant = ''): string {
  return `"${variant}${version}"`;
}

function matchesAny(header: string, etag: string): boolean {
  const bare = etag.replace(/^W\//, '');
  return header.trim() === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

/**
 * Sets ETag (and Last-Modified) and answers whether the client's copy is
 * current: If-None-Match (weak comparison) or, without it, If-Modified-Since.
 * When true the reply is already a 304; the caller sends it empty.
 */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string, lastModified?: Date): boolean {
  reply.header('etag', etag);
  if (lastModified) reply.header('last-modified', lastModified.toUTCString());
  const inm = request.headers['if-none-match'];
  let fresh = false;
  if (inm) fresh = matchesAny(inm, etag);
  else if (lastModified && request.headers['if-modified-since']) {
    const since = Date.parse(request.headers['if-modified-since']);
    // HTTP dates have whole seconds.
    fresh = !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
  }
  if (fresh) reply.code(304);
  return fresh;
}

/**
 * The version an If-Match header asks for. `undefined` when absent or `*`;
 * `-1` (never matches, so 412) for a weak or foreign ETag. With
 * STOA_REQUIRE_IF_MATCH a missing header is 428.
 */
export function expectedVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) {
    if (request.server.requireIfMatch) {
      throw new AppError('PRECONDITION_REQUIRED', 'This update must be conditional: send If-Match with the ETag of the version you read (or * to overwrite)');
    }
    return undefined;
  }
  if (header.trim() === '*') return undefined;
  for (const tag of header.split(',')) {
    const m = /^\s*"(?:[a-z]?)(\d{1,9})"\s*$/.exec(tag);
    if (m) return Number(m[1]);
  }
  return -1;
}

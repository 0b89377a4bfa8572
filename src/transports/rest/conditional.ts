import type { FastifyReply, FastifyRequest } from 'fastify';

/** A strong ETag derived from a row's version column (never from hashing the body). */
export function versionEtag(version: number, variant = ''): string {
  return `"${variant}${version}"`;
}

/** True (and the reply prepared as 304) when If-None-Match matches `etag` (weak comparison). */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag);
  const header = request.headers['if-none-match'];
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  const match = header === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
  if (match) reply.code(304);
  return match;
}

/**
 * The version an If-Match header asks for. `undefined` when absent or `*`;
 * `-1` (never matches, so 412) for a weak or foreign ETag.
 */
export function expectedVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  for (const tag of header.split(',')) {
    const m = /^\s*"(\d{1,9})"\s*$/.exec(tag);
    if (m) return Number(m[1]);
  }
  return -1;
}

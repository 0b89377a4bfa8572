/**
 * The v1 representation as a transformer over the canonical (v2) one.
 * v2 renamed the user's `name` to `display_name`; v1 keeps `name`. Links
 * point into the version the client called.
 */

import { explainedPattern, patternExplanation } from '../../domain/shared/validation.ts';

const CANONICAL = 'display_name';
const LEGACY = 'name';

type Json = unknown;

/** Canonical (v2) body → v1 body: `display_name` keys become `name`, `/v2/` links become `/v1/`. */
export function toV1(value: Json, inLinks = false): Json {
  if (Array.isArray(value)) return value.map((item) => toV1(item, inLinks));
  if (value === null || typeof value !== 'object') {
    return inLinks && typeof value === 'string' ? v1Path(value) : value;
  }
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    out[key === CANONICAL ? LEGACY : key] = toV1(child, inLinks || key === 'links');
  }
  return out;
}

/** A v1 problem: field names and details speak v1. */
export function problemToV1(problem: Record<string, unknown>): Record<string, unknown> {
  const out = { ...problem };
  if (typeof out.detail === 'string') out.detail = out.detail.replace(/\bdisplay_name\b/g, LEGACY);
  if (Array.isArray(out.errors)) {
    out.errors = (out.errors as Array<Record<string, unknown>>).map((e) => ({
      ...e,
      field: typeof e.field === 'string' ? e.field.replace(/(^|\.)display_name$/, `$1${LEGACY}`) : e.field,
      message: typeof e.message === 'string' ? e.message.replace(/\bdisplay_name\b/g, LEGACY) : e.message,
    }));
  }
  return out;
}

export function v1Path(path: string): string {
  return path.startsWith('/v2/') ? `/v1/${path.slice(4)}` : path;
}

/** v1 request body → canonical: `name` becomes `display_name` (only on user bodies). */
export function userBodyFromV1(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !Object.hasOwn(body, LEGACY)) return body;
  const { [LEGACY]: name, ...rest } = body as Record<string, unknown>;
  return { ...rest, [CANONICAL]: name };
}

/**
 * v1 `sort`/`fields` tokens → canonical. On user collections `name` is the
 * user's; anywhere, `author.name` and `user.name` name an embedded user.
 */
export function listTokensFromV1(value: string, userCollection: boolean): string {
  return value
    .split(',')
    .map((token) => {
      const trimmed = token.trim();
      const sign = trimmed.startsWith('-') ? '-' : '';
      const bare = sign ? trimmed.slice(1) : trimmed;
      if (userCollection && bare === LEGACY) return sign + CANONICAL;
      const m = /^(author|user)\.name$/.exec(bare);
      return m ? `${sign}${m[1]}.${CANONICAL}` : token;
    })
    .join(',');
}

/** JSON Schema for v1: properties named `display_name` become `name` (request and response schemas alike). */
export function schemaToV1<T>(schema: T): { schema: T; renamed: boolean } {
  let renamed = false;
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
      if (key === 'properties' && child && typeof child === 'object') {
        const props: Record<string, unknown> = {};
        for (const [name, prop] of Object.entries(child as Record<string, unknown>)) {
          if (name === CANONICAL) renamed = true;
          props[name === CANONICAL ? LEGACY : name] = walk(prop);
        }
        out[key] = props;
      } else if (key === 'required' && Array.isArray(child)) {
        out[key] = child.map((n) => (n === CANONICAL ? LEGACY : n));
      } else if (key === 'examples' || key === 'example') {
        out[key] = toV1(child);
      } else if (key === 'pattern' && typeof child === 'string') {
        // A list parameter's names (sort=, fields=): v1 takes the old name beside the new one (listTokensFromV1).
        const v1 = child.replaceAll(CANONICAL, `(?:${CANONICAL}|${LEGACY})`);
        const why = patternExplanation(child);
        out[key] = why === undefined ? v1 : explainedPattern(v1, why.replaceAll(CANONICAL, `${CANONICAL} (or ${LEGACY})`));
      } else {
        out[key] = walk(child);
      }
    }
    return out;
  };
  return { schema: walk(schema) as T, renamed };
}

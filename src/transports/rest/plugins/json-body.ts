import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../domain/shared/errors.ts';

const MAX_DEPTH = 64;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Walks a parsed JSON value without recursion: rejects prototype-pollution keys and excessive depth. */
function inspect(value: unknown): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node === 'string' && node.includes('\u0000')) throw new AppError('BAD_REQUEST', 'Text may not contain NUL (U+0000) characters');
    if (node === null || typeof node !== 'object') continue;
    if (depth > MAX_DEPTH) throw new AppError('JSON_TOO_DEEP', `JSON may be nested at most ${MAX_DEPTH} levels deep`);
    if (Array.isArray(node)) {
      for (const item of node) stack.push([item, depth + 1]);
      continue;
    }
    for (const key of Object.keys(node)) {
      if (key.includes('\u0000')) throw new AppError('BAD_REQUEST', 'Text may not contain NUL (U+0000) characters');
      if (FORBIDDEN_KEYS.has(key)) throw new AppError('FORBIDDEN_JSON_KEY', `The key "${key}" is not allowed in a JSON body`);
      stack.push([(node as Record<string, unknown>)[key], depth + 1]);
    }
  }
}

/** Parses a JSON body strictly: valid UTF-8, valid JSON, bounded depth, no prototype-pollution keys. */
export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new AppError('INVALID_UTF8', 'The request body is not valid UTF-8');
  }
  if (text.trim() === '') throw new AppError('MALFORMED_JSON', 'The request body is empty; send a JSON document');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    if (cause instanceof RangeError) throw new AppError('JSON_TOO_DEEP', `JSON may be nested at most ${MAX_DEPTH} levels deep`);
    throw new AppError('MALFORMED_JSON', `The request body is not valid JSON: ${(cause as Error).message}`);
  }
  inspect(value);
  return value;
}

export const JSON_MEDIA_TYPES = ['application/json', 'application/merge-patch+json'];

/** Replaces Fastify's body parsers: JSON (and JSON Merge Patch) only; anything else is 415. */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_MEDIA_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

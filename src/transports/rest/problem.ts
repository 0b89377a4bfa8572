import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, type AppError, type AuthChallenge, type ErrorCode, type FieldError } from '../../domain/shared/errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** `VALIDATION_FAILED` → `validation-failed`: the slug of the problem type URI. */
export function problemSlug(code: string): string {
  return code.toLowerCase().replace(/_/g, '-');
}

export function codeFromSlug(slug: string): ErrorCode | undefined {
  const code = slug.toUpperCase().replace(/-/g, '_');
  return Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : undefined;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  request_id: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** Renders an AppError as an RFC 9457 problem document. */
export function toProblem(error: AppError, request: FastifyRequest, publicUrl: string): Problem {
  const problem: Problem = {
    type: `${publicUrl}/problems/${problemSlug(error.code)}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    detail: error.message,
    instance: request.url.split('?')[0] ?? '/',
    code: error.code,
    request_id: request.id,
  };
  if (error.errors) problem.errors = error.errors;
  if (error.extensions) {
    for (const [key, value] of Object.entries(error.extensions)) if (!(key in problem)) problem[key] = value;
  }
  return problem;
}

/** The challenge every 401 carries (RFC 6750 §3). */
export const BEARER_CHALLENGE = 'Bearer realm="stoa"';

function bearerChallenge(challenge: AuthChallenge | undefined): string {
  let value = BEARER_CHALLENGE;
  if (challenge?.error) value += `, error="${challenge.error}"`;
  if (challenge?.description) value += `, error_description="${challenge.description.replace(/["\\]/g, '')}"`;
  return value;
}

/** The HTTP rendering of an AppError's neutral fields: Retry-After, WWW-Authenticate. */
export function problemHeaders(error: AppError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(0, Math.ceil(error.retryAfterSeconds)));
  if (error.status === 401 || error.authChallenge) headers['www-authenticate'] = bearerChallenge(error.authChallenge);
  return headers;
}

/**
 * Sends an AppError as application/problem+json with the headers its fields
 * call for; `extraHeaders` are REST-only ones the caller knows (Allow on 405).
 */
export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError, publicUrl: string, extraHeaders?: Record<string, string>): FastifyReply {
  reply.headers(problemHeaders(error));
  if (extraHeaders) reply.headers(extraHeaders);
  reply.header('x-request-id', request.id);
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(toProblem(error, request, publicUrl));
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppError} from '../../domain/shared/errors.ts';
import { ERROR_CODES, type ErrorCode, type FieldError } from '../../domain/shared/errors.ts';
import { BEARER_CHALLENGE } from '../../platform/auth/index.ts';

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

/** Sends an AppError as application/problem+json with its headers (Allow, Retry-After, WWW-Authenticate…). */
export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError, publicUrl: string): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  if (error.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', BEARER_CHALLENGE);
  reply.header('x-request-id', request.id);
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(toProblem(error, request, publicUrl));
}

import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { ErrorObject } from 'ajv';
import { AppError, type ErrorCode } from '../../../domain/shared/errors.ts';
import { asAppError } from '../../../platform/errors/index.ts';
import { sendProblem } from '../problem.ts';
import { toFieldErrors } from './validation.ts';

const METHODS: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

// Fastify's own errors that are the client's fault, by Fastify code.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

const FASTIFY_DETAILS: Partial<Record<ErrorCode, (limit: number) => string>> = {
  UNSUPPORTED_MEDIA_TYPE: () => 'Send the body as application/json (or application/merge-patch+json for PATCH)',
  PAYLOAD_TOO_LARGE: (limit) => `The request body exceeds the limit of ${limit} bytes`,
};

type ValidationError = FastifyError & { validation: ErrorObject[]; validationContext?: string };

function fromValidation(error: ValidationError): AppError {
  const context = error.validationContext ?? 'body';
  if (context === 'body') {
    const errors = toFieldErrors(error.validation, 'body');
    return new AppError('VALIDATION_FAILED', `Invalid fields: ${[...new Set(errors.map((e) => e.field))].join(', ')}`, { errors });
  }
  const errors = toFieldErrors(error.validation, context);
  const unknown = errors.filter((e) => e.code === 'unknown_field');
  if (context === 'querystring') {
    if (unknown.length > 0) {
      return new AppError('UNKNOWN_PARAMETER', `Unknown query parameter: ${unknown.map((e) => e.field).join(', ')}`, {
        errors: errors.map((e) => (e.code === 'unknown_field' ? { ...e, code: 'unknown_parameter', message: 'is not a known parameter' } : e)),
      });
    }
    return new AppError('INVALID_PARAMETER', `Invalid query parameter: ${errors.map((e) => e.field).join(', ')}`, { errors });
  }
  if (context === 'headers') return new AppError('INVALID_HEADER', `Invalid header: ${errors.map((e) => e.field).join(', ')}`, { errors });
  return new AppError('INVALID_PARAMETER', `Invalid path parameter: ${errors.map((e) => e.field).join(', ')}`, { errors });
}

/** Maps anything thrown to an AppError; unknown errors become a generic 500 (details stay in the logs). */
export function toAppError(error: unknown, bodyLimit: number): AppError {
  if (error instanceof AppError) return error;
  const e = error as Partial<ValidationError>;
  if (Array.isArray(e.validation)) return fromValidation(e as ValidationError);
  const code = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (code) return new AppError(code, FASTIFY_DETAILS[code]?.(bodyLimit) ?? e.message);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError('BAD_REQUEST', 'The request could not be understood');
  }
  return asAppError(error);
}

/**
 * One error path for the whole HTTP API: every error, 404 and 405 leaves as an
 * RFC 9457 problem; 5xx details are logged, never sent.
 */
export function registerErrorHandling(app: FastifyInstance, options: { publicUrl: string; bodyLimit: number }): void {
  const routes = FindMyWay();

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (!METHODS.includes(method as HTTPMethod) || route.url === '*' || route.url === '/*') continue;
      try {
        routes.on(method as HTTPMethod, route.url, () => {});
      } catch {
        // The same method and path registered twice (HEAD for GET): already known.
      }
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error, options.bodyLimit);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: appError.code }, 'request rejected');
    return sendProblem(reply, request, appError, options.publicUrl);
  });

  app.setNotFoundHandler((request: FastifyRequest, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = METHODS.filter((method) => routes.find(method, path) !== null);
    // A route that matched and then declined (a static folder without that file) is a missing resource, not a wrong method.
    if (allowed.includes(request.method as HTTPMethod)) {
      return sendProblem(reply, request, new AppError('NOT_FOUND', `Nothing at ${path}`), options.publicUrl);
    }
    if (allowed.length > 0) {
      const error = new AppError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`);
      return sendProblem(reply, request, error, options.publicUrl, { allow: allowed.join(', ') });
    }
    return sendProblem(reply, request, new AppError('ROUTE_NOT_FOUND', `No route matches ${request.method} ${path}`), options.publicUrl);
  });
}

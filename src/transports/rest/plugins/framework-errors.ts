import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_CODES, type ErrorCode } from '../../../domain/shared/errors.ts';
import { PROBLEM_CONTENT_TYPE, problemSlug, sendProblem } from '../problem.ts';

/**
 * The longest path parameter the router hands to a route. Longer ones are
 * still a problem document (400 INVALID_PARAMETER); below it the route's own
 * schema decides (ids are at most 64 characters), naming the parameter.
 */
export const MAX_PARAM_LENGTH = 2048;

/**
 * Fastify's `frameworkErrors`: the router's own refusals (a malformed
 * percent-encoding, a path parameter past MAX_PARAM_LENGTH), answered before
 * any route or Stoa hook runs, leave as registry problems like every other
 * answer.
 */
export function frameworkErrorHandler(publicUrl: string) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const appError =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new AppError('INVALID_PARAMETER', `Invalid path parameter: longer than ${MAX_PARAM_LENGTH} characters`, {
            errors: [{ field: 'path', code: 'too_long', message: `must be at most ${MAX_PARAM_LENGTH} characters` }],
          })
        : error.code === 'FST_ERR_BAD_URL'
          ? new AppError('BAD_REQUEST', 'The URL path is not valid percent-encoding: encode "%" as %25')
          : new AppError('BAD_REQUEST', 'The request could not be routed');
    request.log.info({ code: appError.code, fastify: error.code }, 'request rejected');
    securityHeaders(reply);
    void sendProblem(reply, request, appError, publicUrl);
  };
}

/** The headers helmet adds everywhere else; these answers are written before its hook could run. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

function securityHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
}

/** Node's parser errors that are the client's fault, by their code. */
function clientErrorCode(code: string | undefined): ErrorCode {
  if (code === 'HPE_HEADER_OVERFLOW') return 'REQUEST_HEADER_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'BAD_REQUEST';
}

const CLIENT_ERROR_DETAILS: Partial<Record<ErrorCode, string>> = {
  REQUEST_HEADER_TOO_LARGE: 'The request line and headers exceed 16 KiB; send fewer or shorter headers (or a shorter URL)',
  REQUEST_TIMEOUT: 'The request was not received completely in time',
  BAD_REQUEST: 'The request is not valid HTTP/1.1',
};

/**
 * Node's `clientError` (Fastify's `clientErrorHandler`): a request the HTTP
 * parser refuses (a head over 16 KiB, malformed syntax, a timeout) never
 * becomes a Fastify request, so the answer is written on the socket by hand:
 * a complete HTTP/1.1 response, a problem document, and `Connection: close`
 * since the connection is closed right after.
 */
export function clientErrorHandler(publicUrl: string) {
  return function onClientError(this: { log: { debug(o: object, m: string): void } }, error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const code = clientErrorCode(error.code);
    const { status, title } = ERROR_CODES[code];
    const requestId = randomUUID();
    const body = JSON.stringify({
      type: `${publicUrl}/problems/${problemSlug(code)}`,
      title,
      status,
      detail: CLIENT_ERROR_DETAILS[code],
      instance: '/',
      code,
      request_id: requestId,
    });
    this.log.debug({ err: error, code }, 'client error');
    if (socket.writable) {
      const head = [
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
        `content-type: ${PROBLEM_CONTENT_TYPE}`,
        `content-length: ${Buffer.byteLength(body)}`,
        `x-request-id: ${requestId}`,
        ...Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}`),
        `date: ${new Date().toUTCString()}`,
        'connection: close',
      ];
      // An answer to HEAD carries no content (RFC 9110 §9.3.2): its client would read a body as the start of
      // another answer. The method is known only from the bytes Node could not parse, when they begin the request.
      const answersHead = Buffer.isBuffer(error.rawPacket) && error.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
      socket.end(`${head.join('\r\n')}\r\n\r\n${answersHead ? '' : body}`);
    } else {
      socket.destroy();
    }
  };
}

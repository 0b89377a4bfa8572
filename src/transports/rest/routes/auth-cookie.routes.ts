import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../../domain/shared/errors.ts';
import { EMAIL_MAX } from '../../../domain/users/index.ts';
import type { SessionsService, TokenPair } from '../../../platform/auth/index.ts';
import { headerValue } from '../headers.ts';
import { Envelope, NoQuery, problemResponses, SECURITY } from '../schemas/common.ts';
import { typed } from '../type-provider.ts';

/** The cookie that carries a browser's refresh token (docs/dashboard.md). */
export const REFRESH_COOKIE = 'stoa_refresh';

const AccessTokenSchema = Type.Object({
  access_token: Type.String({ description: 'EdDSA-signed JWT, valid for expires_in seconds. Keep it in memory only.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ examples: [900] }),
});

export interface CookieAuthOptions {
  sessions: SessionsService;
  /** STOA_PUBLIC_URL: its origin is always allowed. */
  publicUrl: string;
  refreshTtlSeconds: number;
}

/**
 * Sign-in for browsers: the refresh token travels only in an HttpOnly,
 * SameSite=Strict cookie scoped to these routes, so page scripts never hold
 * it and a reload signs in again without the password. Cross-site requests
 * are refused by Origin (and Sec-Fetch-Site) as well as by SameSite. The
 * session core is the one `/auth/login` uses: rotation, reuse detection and
 * revocation are the same.
 */
export function registerCookieAuthRoutes(fastify: FastifyInstance, options: CookieAuthOptions): void {
  const app = typed(fastify);
  const { sessions } = options;
  const publicOrigin = new URL(options.publicUrl).origin;
  const tags = ['auth'];
  const accessResponse = { 200: Envelope(AccessTokenSchema, 'A new access token; the refresh token is in the stoa_refresh cookie') };
  const cookieNote = `The refresh token is set as an HttpOnly, SameSite=Strict cookie \`${REFRESH_COOKIE}\` with Path=/v{version}/auth/browser (Secure over HTTPS). Requests from another origin are refused (403).`;

  const cookiePath = (request: FastifyRequest) => `/v${request.apiVersion}/auth/browser`;
  const secure = (request: FastifyRequest) => request.protocol === 'https' || publicOrigin.startsWith('https:');
  const setRefreshCookie = (request: FastifyRequest, reply: FastifyReply, pair: TokenPair) =>
    reply.header(
      'set-cookie',
      serializeCookie(REFRESH_COOKIE, pair.refreshToken, { httpOnly: true, sameSite: 'strict', secure: secure(request), path: cookiePath(request), maxAge: options.refreshTtlSeconds }),
    );
  const clearRefreshCookie = (request: FastifyRequest, reply: FastifyReply) =>
    reply.header('set-cookie', serializeCookie(REFRESH_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: secure(request), path: cookiePath(request), maxAge: 0 }));
  const presentAccess = (pair: TokenPair) => ({ data: { access_token: pair.accessToken, token_type: pair.tokenType, expires_in: pair.expiresIn } });

  /** CSRF defence beside SameSite: a browser's request from another origin names it. */
  const requireSameOrigin = async (request: FastifyRequest) => {
    const origin = headerValue(request, 'origin');
    const ownOrigin = `${request.protocol}://${request.host}`;
    if (origin !== undefined && origin !== publicOrigin && origin !== ownOrigin) {
      throw new AppError('FORBIDDEN', `Requests from ${origin.slice(0, 100)} may not use the browser session; sign in from this server's own pages`);
    }
    const site = headerValue(request, 'sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new AppError('FORBIDDEN', 'Cross-site requests may not use the browser session');
    }
  };
  const refreshTokenOf = (request: FastifyRequest) => parseCookies(headerValue(request, 'cookie') ?? '')[REFRESH_COOKIE];

  app.post('/auth/browser/login', {
    config: { auth: 'none' },
    preHandler: requireSameOrigin,
    schema: {
      operationId: 'browserLogin',
      tags,
      summary: 'Sign in a browser (refresh token in a cookie)',
      description: `Like login, but the refresh token is not in the body. ${cookieNote}`,
      security: SECURITY.none,
      querystring: NoQuery,
      body: Type.Object(
        { email: Type.String({ minLength: 1, maxLength: EMAIL_MAX }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
        { additionalProperties: false, examples: [{ email: 'ada@example.com', password: 'correct horse battery staple' }] },
      ),
      response: { ...accessResponse, ...problemResponses(400, 401, 403, 415, 422) },
    },
    handler: async (request, reply) => {
      const pair = await sessions.login(request.body.email, request.body.password);
      setRefreshCookie(request, reply, pair).header('cache-control', 'no-store');
      return presentAccess(pair);
    },
  });

  app.post('/auth/browser/refresh', {
    config: { auth: 'none' },
    preHandler: requireSameOrigin,
    schema: {
      operationId: 'browserRefresh',
      tags,
      summary: "Renew a browser's access token from its cookie",
      description: `Rotates the refresh token in the cookie (the old one stops working; reusing it revokes the sign-in). 401 without a valid cookie, which is then cleared. ${cookieNote}`,
      security: SECURITY.none,
      querystring: NoQuery,
      response: { ...accessResponse, ...problemResponses(400, 401, 403, 415) },
    },
    handler: async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const token = refreshTokenOf(request);
      try {
        if (!token) throw new AppError('INVALID_REFRESH_TOKEN', 'No browser session: sign in');
        const pair = await sessions.refresh(token);
        setRefreshCookie(request, reply, pair);
        return presentAccess(pair);
      } catch (error) {
        clearRefreshCookie(request, reply);
        throw error;
      }
    },
  });

  app.post('/auth/browser/logout', {
    config: { auth: 'none' },
    preHandler: requireSameOrigin,
    schema: {
      operationId: 'browserLogout',
      tags,
      summary: 'Sign a browser out',
      description: `Revokes the sign-in behind the cookie (every refresh token of it) and clears the cookie. ${cookieNote}`,
      security: SECURITY.none,
      querystring: NoQuery,
      response: { 204: Type.Null({ description: 'Signed out' }), ...problemResponses(400, 403, 415) },
    },
    handler: async (request, reply) => {
      const token = refreshTokenOf(request);
      if (token) await sessions.logout(token);
      clearRefreshCookie(request, reply);
      return reply.code(204).header('cache-control', 'no-store').send();
    },
  });
}

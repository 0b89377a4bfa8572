import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { EMAIL_MAX } from '../../../domain/users/index.ts';
import type { AccessTokens, SessionsService, TokenPair } from '../../../platform/auth/index.ts';
import { Envelope, NoQuery, problemResponses, SECURITY } from '../schemas/common.ts';
import { typed } from '../type-provider.ts';

const TokenPairSchema = Type.Object({
  access_token: Type.String({ description: 'EdDSA-signed JWT, valid for expires_in seconds.' }),
  refresh_token: Type.String({ description: 'Opaque; single use — each refresh returns a new one.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ examples: [900] }),
});

const RefreshBody = Type.Object(
  { refresh_token: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false, examples: [{ refresh_token: 'rt_3q2-7wE9yXb1pQ0aLmN4sT6vU8xZ2cD5fG7hJ9kL1mN' }] },
);

function presentTokens(pair: TokenPair) {
  return { data: { access_token: pair.accessToken, refresh_token: pair.refreshToken, token_type: pair.tokenType, expires_in: pair.expiresIn } };
}

export function registerAuthRoutes(fastify: FastifyInstance, sessions: SessionsService): void {
  const app = typed(fastify);
  const tokenResponse = { 200: Envelope(TokenPairSchema, 'A new access and refresh token pair') };

  app.post('/auth/login', {
    config: { auth: 'none' },
    schema: {
      operationId: 'login',
      tags: ['auth'],
      summary: 'Sign in with email and password',
      description: 'Unknown email and wrong password give the same 401.',
      security: SECURITY.none,
      querystring: NoQuery,
      body: Type.Object(
        { email: Type.String({ minLength: 1, maxLength: EMAIL_MAX }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
        { additionalProperties: false, examples: [{ email: 'ada@example.com', password: 'correct horse battery staple' }] },
      ),
      response: { ...tokenResponse, ...problemResponses(400, 401, 403, 415, 422) },
    },
    handler: async (request, reply) => {
      const { email, password } = request.body;
      const pair = await sessions.login(email, password);
      reply.header('cache-control', 'no-store');
      return presentTokens(pair);
    },
  });

  app.post('/auth/refresh', {
    config: { auth: 'none' },
    schema: {
      operationId: 'refreshToken',
      tags: ['auth'],
      summary: 'Exchange a refresh token for a new pair',
      description: 'The presented refresh token stops working. Presenting an already-rotated token revokes its whole family.',
      security: SECURITY.none,
      querystring: NoQuery,
      body: RefreshBody,
      response: { ...tokenResponse, ...problemResponses(400, 401, 415, 422) },
    },
    handler: async (request, reply) => {
      const pair = await sessions.refresh(request.body.refresh_token);
      reply.header('cache-control', 'no-store');
      return presentTokens(pair);
    },
  });

  app.post('/auth/logout', {
    config: { auth: 'none' },
    schema: {
      operationId: 'logout',
      tags: ['auth'],
      summary: 'Revoke a refresh token (and its family)',
      security: SECURITY.none,
      querystring: NoQuery,
      body: RefreshBody,
      response: { 204: Type.Null({ description: 'Revoked' }), ...problemResponses(400, 415, 422) },
    },
    handler: async (request, reply) => {
      await sessions.logout(request.body.refresh_token);
      return reply.code(204).send();
    },
  });

}

/** The JWKS lives outside the versioned API: verifiers fetch it from one well-known place. */
export function registerJwksRoute(app: FastifyInstance, accessTokens: AccessTokens): void {
  app.get('/.well-known/jwks.json', {
    config: { auth: 'none' },
    schema: {
      operationId: 'getJwks',
      tags: ['auth'],
      summary: 'Public keys that verify access tokens',
      security: SECURITY.none,
      querystring: NoQuery,
      response: {
        200: Type.Object(
          { keys: Type.Array(Type.Object({ kty: Type.String(), crv: Type.String(), x: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String() })) },
          { description: 'JSON Web Key Set' },
        ),
        ...problemResponses(400, 406),
      },
    },
    handler: async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return accessTokens.jwks();
    },
  });
}

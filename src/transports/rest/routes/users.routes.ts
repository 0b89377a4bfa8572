import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { PLANS, ROLES } from '../../../domain/shared/principal.ts';
import {
  PatchUserInput,
  ReplaceUserInput,
  SignUpInput,
  USER_DEFAULT_SORT,
  USER_SORTS,
  USER_STATUSES,
  presentUser as userData,
  type PublicProfile,
  type User,
  type EmailVerificationService,
  type UsersService,
} from '../../../domain/users/index.ts';
import { commaList, listQuery, splitList } from '../query.ts';
import { typed } from '../type-provider.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, type ListRoute, type RestLists } from '../lists.ts';
import { expectedVersion, notModified, versionEtag } from '../conditional.ts';
import { OPTIONAL_BODY } from '../plugins/openapi.ts';
import { principalOf } from '../plugins/request-context.ts';
import { Envelope, IdParams, IfMatchHeaders, NoQuery, problemResponses, SECURITY, SelfLinks, Timestamp } from '../schemas/common.ts';

export const UserSchema = Type.Object(
  {
    id: Type.String({ examples: ['usr_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
    email: Type.Optional(Type.String({ description: 'Only for the user itself and admins.' })),
    display_name: Type.String(),
    role: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('admin')])),
    status: Type.Optional(Type.String({ enum: [...USER_STATUSES] })),
    plan: Type.Optional(Type.String({ enum: [...PLANS] })),
    email_verified_at: Type.Optional(Type.Union([Timestamp, Type.Null()])),
    created_at: Timestamp,
    updated_at: Type.Optional(Timestamp),
    links: SelfLinks,
  },
  { description: 'A user: the full record for itself and admins, the public profile (id, display_name, created_at) for anyone else.' },
);

export function presentUser(user: User | PublicProfile) {
  return { ...userData(user), links: { self: `/v2/users/${user.id}` } };
}

export function userEtag(user: User | PublicProfile): string {
  return versionEtag(user.version, 'email' in user ? '' : 'p');
}

const UserEnvelope = Envelope(UserSchema, 'The user');

export const USER_FIELDS = ['id', 'email', 'display_name', 'role', 'status', 'plan', 'email_verified_at', 'created_at', 'updated_at', 'links'] as const;

const UserFilters = {
  status: commaList(USER_STATUSES, 'Admins only: comma-separated statuses (active, inactive, suspended).'),
  role: commaList(ROLES, 'Admins only: comma-separated roles (user, admin).'),
  plan: commaList(PLANS, 'Admins only: comma-separated plans (free, pro, enterprise).'),
};

export function registerUserRoutes(fastify: FastifyInstance, users: UsersService, lists: RestLists): void {
  const app = typed(fastify);
  const userList: ListRoute<User | PublicProfile> = {
    spec: { sorts: USER_SORTS, defaultSort: USER_DEFAULT_SORT, fields: USER_FIELDS },
    present: presentUser,
  };

  app.get('/users', {
    config: { auth: 'required', produces: LIST_MEDIA_TYPES },
    schema: {
      operationId: 'listUsers',
      tags: ['users'],
      summary: 'List users',
      description: 'Public profiles (full records for the caller itself, and for admins). Admins may filter by status, role and plan.',
      security: SECURITY.required,
      querystring: listQuery(UserFilters, { list: userList.spec, offsetInV1Only: true }),
      response: { 200: ListEnvelope(UserSchema, 'A page of users'), 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 406) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, userList.spec);
      const q = request.query;
      const page = await users.list(
        principalOf(request),
        { status: splitList(q.status), role: splitList(q.role), plan: splitList(q.plan) },
        options.page,
      );
      return lists.send(request, reply, userList, options, page);
    },
  });

  app.post('/users', {
    config: { auth: 'optional' },
    schema: {
      operationId: 'createUser',
      tags: ['users'],
      summary: 'Sign up',
      description: 'Public sign-up. The email must be unique (case-insensitively).',
      security: SECURITY.optional,
      querystring: NoQuery,
      body: SignUpInput.schema,
      response: { 201: UserEnvelope, ...problemResponses(400, 401, 409, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const user = await users.register(request.body);
      reply.header('location', `/v2/users/${user.id}`).header('etag', userEtag(user));
      return reply.code(201).send({ data: presentUser(user) });
    },
  });

  app.get('/users/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getUser',
      tags: ['users'],
      summary: 'Get a user',
      description: 'The full record for the user itself and admins; the public profile (id, display_name, created_at) for anyone else signed in.',
      security: SECURITY.required,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: UserEnvelope, 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const user = await users.get(principalOf(request), request.params.id);
      if (notModified(request, reply, userEtag(user), user.updatedAt)) return reply.send();
      return { data: presentUser(user) };
    },
  });

  const change = (method: 'put' | 'patch', operationId: string, summary: string, body: typeof ReplaceUserInput.schema | typeof PatchUserInput.schema) =>
    app[method]('/users/:id', {
      config: { auth: 'required' },
      schema: {
        operationId,
        tags: ['users'],
        summary,
        description: 'A user changes only itself; admins change anyone and alone may set role, status and plan. Send If-Match to avoid lost updates.',
        security: SECURITY.required,
        params: IdParams,
        querystring: NoQuery,
        headers: IfMatchHeaders,
        body,
        response: { 200: UserEnvelope, ...problemResponses(400, 401, 403, 404, 409, 412, 415, 422) },
      },
      handler: async (request, reply) => {
        const user = await users.update(principalOf(request), request.params.id, request.body, {
          expectedVersion: expectedVersion(request),
        });
        reply.header('etag', userEtag(user));
        return { data: presentUser(user) };
      },
    });
  change('put', 'replaceUser', 'Replace a user', ReplaceUserInput.schema);
  change('patch', 'updateUser', 'Update a user (JSON Merge Patch)', PatchUserInput.schema);

  app.delete('/users/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'deleteUser',
      tags: ['users'],
      summary: 'Delete a user',
      description: 'Deletes the account and revokes its API keys and sessions.',
      security: SECURITY.required,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatchHeaders,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404, 412) },
    },
    handler: async (request, reply) => {
      await users.delete(principalOf(request), request.params.id, { expectedVersion: expectedVersion(request) });
      return reply.code(204).send();
    },
  });

  app.get('/me', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getMe',
      tags: ['auth'],
      summary: 'The caller',
      security: SECURITY.required,
      querystring: NoQuery,
      response: { 200: UserEnvelope, 304: Type.Null({ description: 'Not modified' }), ...problemResponses(401, 403) },
    },
    handler: async (request, reply) => {
      const user = await users.me(principalOf(request));
      if (notModified(request, reply, userEtag(user), user.updatedAt)) return reply.send();
      return { data: presentUser(user) };
    },
  });
}

const VerifyEmailBody = Type.Object(
  {
    token: Type.Optional(Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'The token of the user.verification_requested event. Without a body, the request asks for a new token.',
      examples: ['vrf_Yt1b0fWJ3o6vJr1nY5H2m9Qk0Zc8xR4aL7sD2eF6gHw'],
    })),
  },
  { additionalProperties: false, examples: [{}, { token: 'vrf_Yt1b0fWJ3o6vJr1nY5H2m9Qk0Zc8xR4aL7sD2eF6gHw' }] },
);

const VerificationRequested = Type.Object(
  {
    expires_at: Timestamp,
    links: Type.Object({ events: Type.String({ description: 'Where the token is delivered: the user.verification_requested events.' }) }),
  },
  { description: 'A token was issued; it is delivered in a user.verification_requested event only this user can read.' },
);

/** POST /users/{id}/verify-email: without a body it issues a token, with {"token"} it uses one. */
export function registerEmailVerificationRoutes(fastify: FastifyInstance, verification: EmailVerificationService): void {
  typed(fastify).post('/users/:id/verify-email', {
    config: { auth: 'required' },
    schema: {
      operationId: 'verifyEmail',
      tags: ['users'],
      summary: "Verify the user's email address",
      description: [
        'Stoa sends no mail: a mailer the operator runs reads the event log and mails the token.',
        'Without a body (or with `{}`), issues a single-use token valid for 24 hours, replacing any earlier one, and answers 202;',
        'the token is delivered in a `user.verification_requested` event that only this user can read (not even administrators).',
        'With `{"token": …}`, uses the token and answers 200 with the user, `email_verified_at` set.',
        'A wrong, expired or already used token, or one issued before the email changed, is 422 `VALIDATION_FAILED` (field `token`, code `invalid_value`).',
        'Only the user itself may do either (403 otherwise); an address already verified is 409 on request.',
      ].join(' '),
      security: SECURITY.required,
      params: IdParams,
      querystring: NoQuery,
      body: VerifyEmailBody,
      [OPTIONAL_BODY]: true,
      response: {
        200: UserEnvelope,
        202: Envelope(VerificationRequested, 'A token was issued'),
        ...problemResponses(400, 401, 403, 404, 409, 415, 422),
      },
    },
    // No body at all is the same as {}: ask for a token.
    preValidation: async (request) => {
      request.body ??= {};
    },
    handler: async (request, reply) => {
      const actor = principalOf(request);
      const { id } = request.params;
      const token = request.body?.token;
      if (token !== undefined) return { data: presentUser(await verification.verify(actor, id, token)) };
      const issued = await verification.request(actor, id);
      return reply.code(202).send({ data: { expires_at: issued.expiresAt.toISOString(), links: { events: '/v2/events?type=user.verification_requested' } } });
    },
  });
}

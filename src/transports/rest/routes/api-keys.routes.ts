import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { API_KEY_DEFAULT_SORT, API_KEY_SORTS, ApiKeyPatchInput, NewApiKeyInput, type ApiKey, type ApiKeysService } from '../../../domain/api-keys/index.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, listQuerySchema, type ListRoute, type RestLists } from '../lists.ts';
import { SCOPES } from '../../../domain/shared/principal.ts';
import { principalOf } from '../plugins/request-context.ts';
import { typed } from '../type-provider.ts';
import { Envelope, IdParams, NoQuery, problemResponses, SECURITY, SelfLinks, Timestamp } from '../schemas/common.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

const ApiKeyFields = {
  id: Type.String({ examples: ['key_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the secret, to recognise the key.', examples: ['sk_4Fq9ZrT2'] }),
  scopes: Type.Array(Type.String({ enum: [...SCOPES] })),
  api_version: Nullable(Type.String()),
  last_used_at: Nullable(Timestamp),
  expires_at: Nullable(Timestamp),
  created_at: Timestamp,
  links: SelfLinks,
};
const ApiKeySchema = Type.Object(ApiKeyFields, { description: 'An API key; its secret is never shown again after creation.' });
const CreatedApiKeySchema = Type.Object(
  { ...ApiKeyFields, secret: Type.String({ description: 'Shown only in this response. Starts with prefix.' }) },
  { description: 'The new API key with its secret' },
);

function presentKey(key: ApiKey) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    api_version: key.apiVersion,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    expires_at: key.expiresAt?.toISOString() ?? null,
    created_at: key.createdAt.toISOString(),
    links: { self: `/v2/api-keys/${key.id}` },
  };
}

export function registerApiKeyRoutes(fastify: FastifyInstance, apiKeys: ApiKeysService, lists: RestLists): void {
  const app = typed(fastify);
  const keyList: ListRoute<ApiKey> = {
    spec: { sorts: API_KEY_SORTS, defaultSort: API_KEY_DEFAULT_SORT, fields: Object.keys(ApiKeyFields) },
    present: presentKey,
  };
  const tags = ['api-keys'];
  const security = SECURITY.session;

  app.post('/api-keys', {
    config: { auth: 'required' },
    schema: {
      operationId: 'createApiKey',
      tags,
      summary: 'Create an API key',
      description: 'Signed-in users only (not with another API key). The secret appears once, in this response.',
      security,
      querystring: NoQuery,
      body: NewApiKeyInput.schema,
      response: { 201: Envelope(CreatedApiKeySchema, 'The new key'), ...problemResponses(400, 401, 403, 415, 422) },
    },
    handler: async (request, reply) => {
      const { key, secret } = await apiKeys.create(principalOf(request), request.body);
      reply.header('location', `/v2/api-keys/${key.id}`).header('cache-control', 'no-store');
      return reply.code(201).send({ data: { ...presentKey(key), secret } });
    },
  });

  app.get('/api-keys', {
    config: { auth: 'required', produces: LIST_MEDIA_TYPES },
    schema: {
      operationId: 'listApiKeys',
      tags,
      summary: "List the caller's live API keys",
      description: 'Oldest first by default. Secrets are never shown.',
      security,
      querystring: listQuerySchema({}, { list: keyList.spec }),
      response: { 200: ListEnvelope(ApiKeySchema, 'A page of live keys'), 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 406) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, keyList.spec);
      const page = await apiKeys.list(principalOf(request), options.page);
      return lists.send(request, reply, keyList, options, page);
    },
  });

  app.get('/api-keys/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getApiKey',
      tags,
      summary: 'Get an API key',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: Envelope(ApiKeySchema, 'The key'), ...problemResponses(401, 403, 404) },
    },
    handler: async (request) => ({ data: presentKey(await apiKeys.get(principalOf(request), request.params.id)) }),
  });

  app.patch('/api-keys/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'updateApiKey',
      tags,
      summary: 'Rename an API key or pin it to an API version',
      description: 'api_version pins the version that unversioned paths (/users/…) answer in for this key; null unpins it.',
      security,
      params: IdParams,
      querystring: NoQuery,
      body: ApiKeyPatchInput.schema,
      response: { 200: Envelope(ApiKeySchema, 'The key'), ...problemResponses(400, 401, 403, 404, 415, 422) },
    },
    handler: async (request) => {
      const key = await apiKeys.update(principalOf(request), request.params.id, request.body);
      return { data: presentKey(key) };
    },
  });

  app.delete('/api-keys/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'revokeApiKey',
      tags,
      summary: 'Revoke an API key',
      description: 'Effective immediately, in every process.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 204: Type.Null({ description: 'Revoked' }), ...problemResponses(401, 403, 404) },
    },
    handler: async (request, reply) => {
      await apiKeys.revoke(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  });
}

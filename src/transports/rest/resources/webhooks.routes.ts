import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { SortTerm } from '../../../domain/shared/page.ts';
import {
  NewWebhookEndpointInput,
  presentWebhookDelivery,
  presentWebhookEndpoint,
  WEBHOOK_DELIVERY_SORTS,
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_ENDPOINT_SORTS,
  WEBHOOK_ENDPOINT_STATUSES,
  WebhookEndpointPatchInput,
  type RotateWebhookSecret,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhooksService,
} from '../../../domain/webhooks/index.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, listQuerySchema, type ListRoute, type RestLists } from '../lists.ts';
import { principalOf } from '../plugins/request-context.ts';
import { commaList, listQuery, splitList } from '../query.ts';
import { typed } from '../type-provider.ts';
import { Envelope, IdParams, NoQuery, problemResponses, SECURITY, Timestamp } from '../schemas/common.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const EndpointFields = {
  id: Type.String({ examples: ['whe_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
  url: Type.String(),
  event_types: Type.Array(Type.String()),
  description: Nullable(Type.String()),
  status: Type.String({ enum: [...WEBHOOK_ENDPOINT_STATUSES] }),
  created_at: Timestamp,
  updated_at: Timestamp,
  links: Type.Object({ self: Type.String(), deliveries: Type.String() }),
};
const EndpointSchema = Type.Object(EndpointFields, { description: 'A webhook endpoint; its secret is shown only on creation and rotation.' });
const EndpointWithSecretSchema = Type.Object(
  { ...EndpointFields, secret: Type.String({ description: 'whsec_…: verifies webhook-signature (Standard Webhooks). Shown only in this response.' }) },
  { description: 'The endpoint with its signing secret' },
);

const DeliveryFields = {
  id: Type.String({ examples: ['whd_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
  endpoint_id: Type.String(),
  event_id: Type.String({ description: 'The webhook-id header of every attempt.' }),
  event_type: Type.String(),
  status: Type.String({ enum: [...WEBHOOK_DELIVERY_STATUSES] }),
  attempts: Type.Integer(),
  last_status_code: Nullable(Type.Integer()),
  last_latency_ms: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  next_attempt_at: Nullable(Timestamp),
  created_at: Timestamp,
  links: Type.Object({ self: Type.String(), endpoint: Type.String(), retry: Type.String() }),
};
const DeliverySchema = Type.Object(DeliveryFields, { description: 'One event sent to one endpoint, with its attempts so far.' });

const DEFAULT_SORT: readonly SortTerm[] = [{ field: 'created_at', descending: true }];

function presentEndpoint(e: WebhookEndpoint) {
  return { ...presentWebhookEndpoint(e), links: { self: `/v2/webhook-endpoints/${e.id}`, deliveries: `/v2/webhook-endpoints/${e.id}/deliveries` } };
}

function presentDelivery(d: WebhookDelivery) {
  return {
    ...presentWebhookDelivery(d),
    links: { self: `/v2/webhook-deliveries/${d.id}`, endpoint: `/v2/webhook-endpoints/${d.endpointId}`, retry: `/v2/webhook-deliveries/${d.id}/retry` },
  };
}

/** Outbound webhooks: endpoints (secret, rotation, test sends) and their delivery log. */
export function registerWebhookRoutes(fastify: FastifyInstance, { webhooks, lists }: { webhooks: WebhooksService; lists: RestLists }): void {
  const app = typed(fastify);
  const tags = ['webhooks'];
  const security = SECURITY.required;
  const endpointList: ListRoute<WebhookEndpoint> = {
    spec: { sorts: WEBHOOK_ENDPOINT_SORTS, defaultSort: DEFAULT_SORT, fields: Object.keys(EndpointFields) },
    present: presentEndpoint,
  };
  const deliveryList: ListRoute<WebhookDelivery> = {
    spec: { sorts: WEBHOOK_DELIVERY_SORTS, defaultSort: DEFAULT_SORT, fields: Object.keys(DeliveryFields) },
    present: presentDelivery,
  };

  app.post('/webhook-endpoints', {
    config: { auth: 'required' },
    schema: {
      operationId: 'createWebhookEndpoint',
      tags,
      summary: 'Register a webhook endpoint',
      description:
        'Scope webhooks:write. The URL must be http or https and must not be or resolve to a non-public address (422, field url, code forbidden_address). The secret appears once, in this response.',
      security,
      querystring: NoQuery,
      body: NewWebhookEndpointInput.schema,
      response: { 201: Envelope(EndpointWithSecretSchema, 'The new endpoint'), ...problemResponses(400, 401, 403, 415, 422) },
    },
    handler: async (request, reply) => {
      const { endpoint, secret } = await webhooks.create(principalOf(request), request.body);
      reply.header('location', `/v2/webhook-endpoints/${endpoint.id}`).header('cache-control', 'no-store');
      return reply.code(201).send({ data: { ...presentEndpoint(endpoint), secret } });
    },
  });

  app.get('/webhook-endpoints', {
    config: { auth: 'required', produces: LIST_MEDIA_TYPES },
    schema: {
      operationId: 'listWebhookEndpoints',
      tags,
      summary: "List the caller's webhook endpoints",
      description: 'Scope webhooks:read. Newest first by default.',
      security,
      querystring: listQuerySchema({}, { list: endpointList.spec }),
      response: { 200: ListEnvelope(EndpointSchema, 'A page of endpoints'), 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 406) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, endpointList.spec);
      const page = await webhooks.list(principalOf(request), options.page);
      return lists.send(request, reply, endpointList, options, page);
    },
  });

  app.get('/webhook-endpoints/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getWebhookEndpoint',
      tags,
      summary: 'Get a webhook endpoint',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: Envelope(EndpointSchema, 'The endpoint'), ...problemResponses(401, 403, 404) },
    },
    handler: async (request) => ({ data: presentEndpoint(await webhooks.get(principalOf(request), request.params.id)) }),
  });

  app.patch('/webhook-endpoints/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'updateWebhookEndpoint',
      tags,
      summary: 'Change a webhook endpoint',
      description: 'url (checked as at registration), event_types, description, status. Enabling a disabled endpoint resumes the deliveries that were pending when it was disabled.',
      security,
      params: IdParams,
      querystring: NoQuery,
      body: WebhookEndpointPatchInput.schema,
      response: { 200: Envelope(EndpointSchema, 'The endpoint'), ...problemResponses(400, 401, 403, 404, 415, 422) },
    },
    handler: async (request) => ({ data: presentEndpoint(await webhooks.update(principalOf(request), request.params.id, request.body)) }),
  });

  app.delete('/webhook-endpoints/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'deleteWebhookEndpoint',
      tags,
      summary: 'Delete a webhook endpoint',
      description: 'Its pending deliveries are not sent.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404) },
    },
    handler: async (request, reply) => {
      await webhooks.delete(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  });

  app.post('/webhook-endpoints/:id/rotate-secret', {
    config: { auth: 'required' },
    schema: {
      operationId: 'rotateWebhookEndpointSecret',
      tags,
      summary: "Rotate an endpoint's signing secret",
      description:
        'Body (optional): {"expire_previous_after_seconds": 0–604800}. Answers the new secret (shown once). Until the previous one expires (default 86400, 0 = at once) every delivery carries both signatures; a second rotation retires the oldest at once. The body is checked by the domain (the same field codes), so it may be left out.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: Envelope(EndpointWithSecretSchema, 'The endpoint with its new secret'), ...problemResponses(400, 401, 403, 404, 415, 422) },
    },
    handler: async (request, reply) => {
      const { endpoint, secret } = await webhooks.rotateSecret(principalOf(request), request.params.id, request.body as RotateWebhookSecret | undefined);
      reply.header('cache-control', 'no-store');
      return { data: { ...presentEndpoint(endpoint), secret } };
    },
  });

  app.post('/webhook-endpoints/:id/test', {
    config: { auth: 'required' },
    schema: {
      operationId: 'testWebhookEndpoint',
      tags,
      summary: 'Send a webhook.test event to an endpoint',
      description: 'Answers 202 with the delivery; it is attempted at once and follows the usual retry rules.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 202: Envelope(DeliverySchema, 'The test delivery'), ...problemResponses(401, 403, 404) },
    },
    handler: async (request, reply) => {
      const delivery = await webhooks.sendTest(principalOf(request), request.params.id);
      reply.header('location', `/v2/webhook-deliveries/${delivery.id}`);
      return reply.code(202).send({ data: presentDelivery(delivery) });
    },
  });

  app.get('/webhook-endpoints/:id/deliveries', {
    config: { auth: 'required', produces: LIST_MEDIA_TYPES },
    schema: {
      operationId: 'listWebhookDeliveries',
      tags,
      summary: "An endpoint's delivery log",
      description: `Scope webhooks:read. Newest first by default. Filter: status (${WEBHOOK_DELIVERY_STATUSES.join(', ')}, comma-separated).`,
      security,
      params: IdParams,
      querystring: listQuery({ status: commaList(WEBHOOK_DELIVERY_STATUSES, `Comma-separated statuses (${WEBHOOK_DELIVERY_STATUSES.join(', ')}).`, 100) }, { list: deliveryList.spec }),
      response: { 200: ListEnvelope(DeliverySchema, 'A page of deliveries'), 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 404, 406) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, deliveryList.spec);
      const page = await webhooks.listDeliveries(principalOf(request), request.params.id, splitList(request.query.status), options.page);
      return lists.send(request, reply, deliveryList, options, page);
    },
  });

  app.get('/webhook-deliveries/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getWebhookDelivery',
      tags,
      summary: 'Get a webhook delivery',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: Envelope(DeliverySchema, 'The delivery'), ...problemResponses(401, 403, 404) },
    },
    handler: async (request) => ({ data: presentDelivery(await webhooks.getDelivery(principalOf(request), request.params.id)) }),
  });

  app.post('/webhook-deliveries/:id/retry', {
    config: { auth: 'required' },
    schema: {
      operationId: 'retryWebhookDelivery',
      tags,
      summary: 'Attempt a delivery again now',
      description: 'Whatever its state: a final delivery becomes pending again. Answers 202.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 202: Envelope(DeliverySchema, 'The delivery, pending'), ...problemResponses(401, 403, 404) },
    },
    handler: async (request, reply) => {
      const delivery = await webhooks.retry(principalOf(request), request.params.id);
      return reply.code(202).send({ data: presentDelivery(delivery) });
    },
  });
}

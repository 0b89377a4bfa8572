import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { CHARGE_DEFAULT_SORT, CHARGE_SORTS, CHARGE_STATUSES, CREATE_CHARGE, NewChargeInput, type Charge, type ChargesService, type NewCharge } from '../../../domain/charges/index.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, type ListRoute, type RestLists } from '../lists.ts';
import { principalOf } from '../plugins/request-context.ts';
import { commaList, listQuery, splitList } from '../query.ts';
import { typed } from '../type-provider.ts';
import { Envelope, IdParams, NoQuery, problemResponses, SECURITY } from '../schemas/common.ts';
import { CHARGE_FIELDS, ChargeSchema, presentCharge } from '../schemas/charges.ts';

const KeyHeader = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Required: 1–255 printable ASCII characters, a new one per charge; a retry with the same key is answered with the first result.' })),
});
const ChargeFilters = {
  status: commaList(CHARGE_STATUSES, `Comma-separated statuses (${CHARGE_STATUSES.join(', ')}).`, 100),
  order_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only charges of this order.' })),
};

export interface ChargeRoutesDeps {
  charges: ChargesService;
  lists: RestLists;
}

/** The domain input of `charges.create`: what the key is bound to, and what the handler charges. */
function newChargeOf(request: FastifyRequest): NewCharge {
  return request.body as NewCharge;
}

/** Charges, and the payment processor's inbound webhook. */
export function registerChargeRoutes(fastify: FastifyInstance, { charges, lists }: ChargeRoutesDeps): void {
  const app = typed(fastify);
  const tags = ['charges'];
  const security = SECURITY.required;
  const chargeList: ListRoute<Charge> = {
    spec: { sorts: CHARGE_SORTS, defaultSort: CHARGE_DEFAULT_SORT, fields: CHARGE_FIELDS },
    present: presentCharge,
  };

  app.post('/charges', {
    config: { auth: 'required', idempotency: { operation: CREATE_CHARGE, input: newChargeOf } },
    schema: {
      operationId: 'createCharge',
      tags,
      summary: 'Charge a card',
      description:
        'Requires Idempotency-Key. Answers 201 with the charge pending; the payment processor decides it asynchronously and the charge becomes succeeded (its order, if any, confirmed) or failed with failure_code. Poll GET /charges/{id} or follow the charge.* events.',
      security,
      querystring: NoQuery,
      headers: KeyHeader,
      body: NewChargeInput.schema,
      response: { 201: Envelope(ChargeSchema, 'The charge, pending'), ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const charge = await charges.create(principalOf(request), request.body);
      reply.header('location', `/v2/charges/${charge.id}`);
      return reply.code(201).send({ data: presentCharge(charge) });
    },
  });

  app.get('/charges', {
    config: { auth: 'required', produces: LIST_MEDIA_TYPES },
    schema: {
      operationId: 'listCharges',
      tags,
      summary: 'List charges',
      description: "The caller's charges (every charge for administrators), newest first by default. Filters: status, order_id. Sorts: created_at, amount.",
      security,
      querystring: listQuery(ChargeFilters, { list: chargeList.spec }),
      response: { 200: ListEnvelope(ChargeSchema, 'A page of charges'), 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 406, 422) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, chargeList.spec);
      const q = request.query;
      const page = await charges.list(principalOf(request), { statuses: splitList(q.status), orderId: q.order_id }, options.page);
      return lists.send(request, reply, chargeList, options, page);
    },
  });

  app.get('/charges/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getCharge',
      tags,
      summary: 'Get a charge',
      description: "Another user's charge is 404.",
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: Envelope(ChargeSchema, 'The charge'), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const charge = await charges.get(principalOf(request), request.params.id);
      return { data: presentCharge(charge) };
    },
  });

  // The signature covers the exact bytes sent, so this route reads its body raw.
  void app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    raw.post('/webhooks/payment-processor', {
      config: { auth: 'none' },
      schema: {
        operationId: 'receivePaymentProcessorWebhook',
        tags: ['webhooks'],
        // Authenticated by its Standard Webhooks signature, not by a credential.
        security: SECURITY.none,
        summary: 'Inbound webhook of the payment processor',
        description:
          'Standard Webhooks: webhook-id, webhook-timestamp (±5 minutes) and webhook-signature (v1, HMAC-SHA256 over the raw body). Each webhook-id is processed once; a redelivery answers 200 and changes nothing.',
        querystring: NoQuery,
        response: {
          200: Envelope(Type.Object({ received: Type.Boolean(), duplicate: Type.Boolean() }), 'Accepted'),
          // 401: the signature is the sender's credential; one that does not verify is no client error in the request's shape.
          ...problemResponses(400, 401, 413, 415),
        },
      },
      handler: async (request) => {
        const result = await charges.receiveProcessorWebhook(typeof request.body === 'string' ? request.body : '', request.headers);
        return { data: { received: true, duplicate: result === 'duplicate' } };
      },
    });
  });
}

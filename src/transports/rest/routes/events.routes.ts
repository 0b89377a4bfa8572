import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { EVENT_SORTS, type EventsService, type StoredEvent } from '../../../domain/events/index.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, type ListRoute, type RestLists } from '../lists.ts';
import { principalOf } from '../plugins/request-context.ts';
import { listQuery, splitList } from '../query.ts';
import { typed } from '../type-provider.ts';
import { problemResponses, SECURITY, Timestamp } from '../schemas/common.ts';

export const EventSchema = Type.Object(
  {
    id: Type.String({ examples: ['evt_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
    sequence: Type.Integer({ description: 'Monotonically increasing in commit order; resume from the last one seen.' }),
    type: Type.String({ examples: ['order.created'] }),
    resource_type: Type.String({ examples: ['order'] }),
    resource_id: Type.String(),
    data: Type.Object({}, { additionalProperties: true, description: 'The resource after the change, exactly as GET of it returns it at that moment, without links.' }),
    created_at: Timestamp,
  },
  { description: 'One entry of the event log.' },
);

export function presentEvent(event: StoredEvent) {
  return {
    id: event.id,
    sequence: event.sequence,
    type: event.type,
    resource_type: event.resourceType,
    resource_id: event.resourceId,
    data: event.data,
    created_at: event.createdAt.toISOString(),
  };
}

const EVENT_FIELDS = ['id', 'sequence', 'type', 'resource_type', 'resource_id', 'data', 'created_at'] as const;

export function registerEventRoutes(fastify: FastifyInstance, { events, lists }: { events: EventsService; lists: RestLists }): void {
  const app = typed(fastify);
  const route: ListRoute<StoredEvent> = {
    spec: { sorts: EVENT_SORTS, defaultSort: [{ field: 'sequence', descending: false }], fields: EVENT_FIELDS },
    present: presentEvent,
  };
  app.get('/events', {
    config: { auth: 'required', produces: LIST_MEDIA_TYPES },
    schema: {
      operationId: 'listEvents',
      tags: ['events'],
      summary: 'List events',
      description:
        'The events the caller may see — its own, public ones, and for an API key only the families its scopes cover — oldest first. Filter with type=order.created or type=order.*.',
      security: SECURITY.required,
      querystring: listQuery({ type: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Comma-separated event types or families (order.*).' })) }),
      response: { 200: ListEnvelope(EventSchema, 'A page of events'), 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 406) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, route.spec);
      const page = await events.list(principalOf(request), { types: splitList(request.query.type) }, options.page);
      return lists.send(request, reply, route, options, page);
    },
  });
}

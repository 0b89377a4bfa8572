import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { EVENT_SORTS, presentEvent, TYPE_FILTER_MAX_LENGTH, type EventsService, type StoredEvent } from '../../../domain/events/index.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, type ListRoute, type RestLists } from '../lists.ts';
import { principalOf } from '../plugins/request-context.ts';
import { listOfPattern } from '../list-query.ts';
import { listQuery, splitList } from '../query.ts';
import { DOCUMENTED } from '../../../domain/shared/validation.ts';
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

const EVENT_FIELDS = ['id', 'sequence', 'type', 'resource_type', 'resource_id', 'data', 'created_at'] as const;

/** Serves the list as a stream when the client asks for text/event-stream (transports/sse, wired by app.ts). */
export interface EventStreamOption {
  mediaType: string;
  wants(request: FastifyRequest, produces: readonly string[]): boolean;
  serve(request: FastifyRequest, reply: FastifyReply, query: { type?: string | undefined; last_event_id?: string | undefined; ticket?: string | undefined }): Promise<void>;
}

export function registerEventRoutes(fastify: FastifyInstance, { events, lists, stream }: { events: EventsService; lists: RestLists; stream?: EventStreamOption }): void {
  const app = typed(fastify);
  const route: ListRoute<StoredEvent> = {
    spec: { sorts: EVENT_SORTS, defaultSort: [{ field: 'sequence', descending: false }], fields: EVENT_FIELDS },
    present: presentEvent,
  };
  const produces = stream ? [...LIST_MEDIA_TYPES, stream.mediaType] : LIST_MEDIA_TYPES;
  app.get('/events', {
    // A stream may authenticate with ?ticket= instead of a header: the handler requires a principal itself.
    config: { auth: stream ? 'optional' : 'required', produces },
    schema: {
      operationId: 'listEvents',
      tags: ['events'],
      summary: 'List events',
      description:
        'The events the caller may see — its own, public ones, and for an API key only the families its scopes cover — oldest first. Filter with type=order.created or type=order.*. With Accept: text/event-stream, a live Server-Sent Events stream of the same events (resume with Last-Event-ID).',
      security: SECURITY.required,
      querystring: listQuery({
        // Long enough for every filter the domain takes; checkTypePatterns is the rule (at most 50 patterns of at most 64
        // characters), the document states it (a type or family of at most 63 characters, which a pattern can spell).
        type: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: TYPE_FILTER_MAX_LENGTH,
            description: 'Comma-separated event types or families (order.*).',
            [DOCUMENTED]: { pattern: listOfPattern('[a-z_]{1,30}(?:\\.(?:[a-z_]{1,32}|\\*))?|\\*') },
          }),
        ),
        last_event_id: Type.Optional(Type.String({ maxLength: 20, description: 'text/event-stream only: resume after this sequence (on a first connection; reconnections send Last-Event-ID).' })),
        ticket: Type.Optional(Type.String({ maxLength: 100, description: 'text/event-stream only: a ticket from POST /v1/realtime/tickets in place of a credential header.' })),
      }, { list: route.spec }),
      response: { 200: ListEnvelope(EventSchema, 'A page of events'), 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 406) },
    },
    handler: async (request, reply) => {
      if (stream?.wants(request, produces)) return stream.serve(request, reply, request.query);
      // Who is asking comes before what is asked: without a credential, 401 whatever the list parameters.
      const actor = principalOf(request);
      const options = lists.options(request, route.spec);
      const page = await events.list(actor, { types: splitList(request.query.type) }, options.page);
      return lists.send(request, reply, route, options, page);
    },
  });
}

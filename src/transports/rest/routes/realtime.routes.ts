import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { credentialExpiry, TICKET_TTL_SECONDS, type RealtimeTickets } from '../../../platform/auth/tickets.ts';
import { headerValue } from '../headers.ts';
import { principalOf } from '../plugins/request-context.ts';
import { Envelope, NoQuery, problemResponses, SECURITY, Timestamp } from '../schemas/common.ts';
import { typed } from '../type-provider.ts';

const TicketSchema = Type.Object(
  {
    ticket: Type.String({ description: 'Single use; pass it as ?ticket= to GET /v1/events (text/event-stream) or /v1/ws.' }),
    expires_at: Timestamp,
  },
  { description: 'A real-time ticket.' },
);

/** `POST /realtime/tickets`: a single-use, 60-second ticket for EventSource and WebSocket, which cannot send headers. */
export function registerRealtimeRoutes(fastify: FastifyInstance, { tickets }: { tickets: RealtimeTickets }): void {
  const app = typed(fastify);
  app.post('/realtime/tickets', {
    config: { auth: 'required' },
    schema: {
      operationId: 'createRealtimeTicket',
      tags: ['events'],
      summary: 'Get a ticket for an event stream or WebSocket',
      description: `Browsers cannot set headers on EventSource or WebSocket: trade the credential for a ticket, valid once within ${TICKET_TTL_SECONDS} seconds, that stands for the caller (an API key's scopes included). Send it as ?ticket=.`,
      security: SECURITY.required,
      querystring: NoQuery,
      response: { 201: Envelope(TicketSchema, 'The ticket'), ...problemResponses(401, 403) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      const authorization = headerValue(request, 'authorization');
      const credentialExpiresAt = credentialExpiry(principal, authorization);
      const issued = await tickets.issue({ principal, credentialExpiresAt });
      reply.code(201).header('cache-control', 'no-store');
      return { data: { ticket: issued.ticket, expires_at: issued.expiresAt.toISOString() } };
    },
  });
}

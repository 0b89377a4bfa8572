import type { Selectable } from 'kysely';
import type { WebhookDelivery, WebhookDeliveryRepository, WebhookEndpoint, WebhookEndpointRepository } from '../../../domain/webhooks/index.ts';
import type { SecretBox } from '../../../platform/webhooks/index.ts';
import { paginate, type SortColumn } from '../keyset.ts';
import type { WebhookDeliveriesTable, WebhookEndpointsTable } from '../schema.ts';
import type { Connection } from '../transactions.ts';

const ENDPOINT_SORTS: Record<string, SortColumn> = { created_at: { column: 'webhook_endpoints.created_at', type: 'timestamptz' } };
const DELIVERY_SORTS: Record<string, SortColumn> = { created_at: { column: 'webhook_deliveries.created_at', type: 'timestamptz' } };
const CURSOR = 'webhooks';

export function createWebhookEndpointRepository(connection: Connection, box: SecretBox): WebhookEndpointRepository {
  const toEndpoint = (row: Selectable<WebhookEndpointsTable>): WebhookEndpoint => ({
    id: row.id,
    userId: row.user_id,
    url: row.url,
    eventTypes: row.event_types,
    description: row.description,
    status: row.status,
    secrets: {
      current: box.open(row.secret, row.id),
      previous: row.previous_secret === null ? null : box.open(row.previous_secret, row.id),
      previousExpiresAt: row.previous_secret_expires_at,
    },
    failingSince: row.failing_since,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
  return {
    async insert(e) {
      const row = await connection()
        .insertInto('webhook_endpoints')
        .values({
          id: e.id,
          user_id: e.userId,
          url: e.url,
          event_types: e.eventTypes,
          description: e.description,
          status: e.status,
          secret: box.seal(e.secrets.current, e.id),
          previous_secret: null,
          previous_secret_expires_at: null,
          failing_since: null,
          created_at: e.createdAt,
          updated_at: e.updatedAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toEndpoint(row);
    },
    async findById(id) {
      const row = await connection().selectFrom('webhook_endpoints').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return row && toEndpoint(row);
    },
    async listByUser(userId, page) {
      const query = connection().selectFrom('webhook_endpoints').selectAll().where('user_id', '=', userId).where('deleted_at', 'is', null);
      return paginate(query, page, ENDPOINT_SORTS, 'webhook_endpoints.id', toEndpoint);
    },
    async update(id, c, now) {
      const row = await connection()
        .updateTable('webhook_endpoints')
        .set({
          updated_at: now,
          ...(c.url !== undefined && { url: c.url }),
          ...(c.eventTypes !== undefined && { event_types: c.eventTypes }),
          ...(c.description !== undefined && { description: c.description }),
          ...(c.status !== undefined && { status: c.status }),
          ...(c.failingSince !== undefined && { failing_since: c.failingSince }),
          ...(c.secrets !== undefined && {
            secret: box.seal(c.secrets.current, id),
            previous_secret: c.secrets.previous === null ? null : box.seal(c.secrets.previous, id),
            previous_secret_expires_at: c.secrets.previousExpiresAt,
          }),
        })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return row && toEndpoint(row);
    },
    async delete(id, now) {
      const result = await connection().updateTable('webhook_endpoints').set({ deleted_at: now, updated_at: now }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async listEnabled() {
      const rows = await connection().selectFrom('webhook_endpoints').selectAll().where('status', '=', 'enabled').where('deleted_at', 'is', null).execute();
      return rows.map(toEndpoint);
    },
  };
}

function toDelivery(row: Selectable<WebhookDeliveriesTable>): WebhookDelivery {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    body: row.body,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastLatencyMs: row.last_latency_ms,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
  };
}

export function createWebhookDeliveryRepository(connection: Connection): WebhookDeliveryRepository {
  return {
    async insert(d) {
      const row = await connection()
        .insertInto('webhook_deliveries')
        .values({
          id: d.id,
          endpoint_id: d.endpointId,
          event_id: d.eventId,
          event_type: d.eventType,
          body: d.body,
          status: d.status,
          attempts: d.attempts,
          last_status_code: null,
          last_latency_ms: null,
          last_error: null,
          next_attempt_at: d.nextAttemptAt,
          created_at: d.createdAt,
          updated_at: d.createdAt,
        })
        .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
        .returningAll()
        .executeTakeFirst();
      return row && toDelivery(row);
    },
    async findById(id) {
      const row = await connection().selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toDelivery(row);
    },
    async listByEndpoint(endpointId, statuses, page) {
      let query = connection().selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId);
      if (statuses && statuses.length > 0) query = query.where('status', 'in', [...statuses]);
      return paginate(query, page, DELIVERY_SORTS, 'webhook_deliveries.id', toDelivery);
    },
    async update(id, c, now) {
      await connection()
        .updateTable('webhook_deliveries')
        .set({
          updated_at: now,
          ...(c.status !== undefined && { status: c.status }),
          ...(c.attempts !== undefined && { attempts: c.attempts }),
          ...(c.lastStatusCode !== undefined && { last_status_code: c.lastStatusCode }),
          ...(c.lastLatencyMs !== undefined && { last_latency_ms: c.lastLatencyMs }),
          ...(c.lastError !== undefined && { last_error: c.lastError }),
          ...(c.nextAttemptAt !== undefined && { next_attempt_at: c.nextAttemptAt }),
        })
        .where('id', '=', id)
        .execute();
    },
    async readCursor() {
      const row = await connection().selectFrom('webhook_fanout_cursor').select(['sequence', 'event_id']).where('name', '=', CURSOR).executeTakeFirst();
      return { sequence: Number(row?.sequence ?? 0), eventId: row?.event_id ?? '' };
    },
    async advanceCursor(from, to) {
      const result = await connection()
        .updateTable('webhook_fanout_cursor')
        .set({ sequence: to.sequence, event_id: to.eventId })
        .where('name', '=', CURSOR)
        .where('sequence', '=', from.sequence)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

import { sql, type SelectQueryBuilder } from 'kysely';
import type { EventFilter, EventLog, EventType, StoredEvent } from '../../../domain/events/index.ts';
import { newId } from '../../../domain/shared/ids.ts';
import { paginate, type SortColumn } from '../keyset.ts';
import type { Connection } from '../transactions.ts';
import type { Database } from '../schema.ts';

// Arbitrary constant. Event appends take this transaction-scoped lock, so
// transactions that append commit in sequence order: a reader that has seen
// sequence N never later finds a smaller one appear (what SSE and WebSocket
// resume depend on). The lock is held from the append to the commit only.
const EVENT_APPEND_LOCK = 4_202_612;

const SORTS: Record<string, SortColumn> = {
  sequence: { column: 'events.sequence', type: 'bigint' },
  created_at: { column: 'events.created_at', type: 'timestamptz' },
};

interface Row {
  sequence: number;
  id: string;
  type: string;
  resource_type: string;
  resource_id: string;
  data: Record<string, unknown>;
  audience: string[];
  created_at: Date;
}

function toEvent(row: Row): StoredEvent {
  return {
    id: row.id,
    sequence: Number(row.sequence),
    // Only services append events, each with a type of the closed list.
    type: row.type as EventType,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    data: row.data,
    audience: row.audience,
    createdAt: row.created_at,
  };
}

/** The visibility filter as SQL: the rule `canSee` (domain/events/events.visibility.ts) states over one event. */
function applyFilter<O>(query: SelectQueryBuilder<Database, 'events', O>, filter: EventFilter): SelectQueryBuilder<Database, 'events', O> {
  if (filter.ids) query = query.where('id', 'in', [...filter.ids]);
  if (filter.audience) query = query.where(sql<boolean>`audience && ${sql.val([...filter.audience])}::text[]`);
  if (filter.types) {
    const exact = filter.types.filter((t) => !t.endsWith('.*'));
    const families = filter.types.filter((t) => t.endsWith('.*')).map((t) => t.slice(0, -2) + '.%');
    query = query.where((eb) => eb.or([...(exact.length ? [eb('type', 'in', exact)] : []), ...families.map((f) => eb('type', 'like', f))]));
  }
  for (const family of filter.excludeFamilies ?? []) query = query.where('type', 'not like', `${family}.%`);
  const confidential = filter.confidential;
  if (confidential && confidential.types.length > 0) {
    query = query.where((eb) => eb.or([eb('type', 'not in', [...confidential.types]), sql<boolean>`${confidential.reader} = ANY(audience)`]));
  }
  return query;
}

export function createEventLog(connection: Connection): EventLog {
  return {
    async append(event, now) {
      const db = connection();
      await sql`SELECT pg_advisory_xact_lock(${EVENT_APPEND_LOCK})`.execute(db);
      const row = await db
        .insertInto('events')
        .values({
          id: newId('evt', now.getTime()),
          type: event.type,
          resource_type: event.resourceType,
          resource_id: event.resourceId,
          data: JSON.stringify(event.data),
          audience: [...event.audience],
          created_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toEvent(row);
    },

    async list(filter, page) {
      const query = applyFilter(connection().selectFrom('events').selectAll(), filter);
      return paginate(query, page, SORTS, 'events.id', toEvent);
    },

    async after(sequence, limit, filter) {
      let query = connection().selectFrom('events').selectAll().where('sequence', '>', sequence);
      if (filter) query = applyFilter(query, filter);
      const rows = await query.orderBy('sequence').limit(limit).execute();
      return rows.map(toEvent);
    },

    async head() {
      const row = await connection().selectFrom('events').select((eb) => eb.fn.max('sequence').as('head')).executeTakeFirst();
      return Number(row?.head ?? 0);
    },
  };
}

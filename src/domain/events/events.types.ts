import type { Scope } from '../shared/principal.ts';

export const EVENT_TYPES = [
  'user.created',
  'user.verification_requested',
  'user.updated',
  'post.created',
  'post.updated',
  'post.deleted',
  'comment.created',
  'comment.deleted',
  'follow.created',
  'product.created',
  'product.updated',
  'product.deleted',
  'order.created',
  'order.confirmed',
  'order.cancelled',
  'order.status_changed',
  'charge.created',
  'charge.succeeded',
  'charge.failed',
  'webhook_endpoint.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Events that carry a secret for their audience alone (a verification token):
 * administrators, who read every other event, do not read these unless they
 * are in the audience themselves.
 */
export const CONFIDENTIAL_EVENT_TYPES: readonly EventType[] = ['user.verification_requested'];

/** Everyone signed in may read an event whose audience holds this entry. */
export const EVERYONE = '*';

/** An event as a service records it, inside the transaction of the change. */
export interface NewEvent {
  type: EventType;
  resourceType: string;
  resourceId: string;
  /** The resource after the change as its `present…` function shows it (what GET returns, without links). */
  data: Record<string, unknown>;
  /** Who may read it: user ids, or EVERYONE. Administrators read every event. */
  audience: readonly string[];
}

export interface StoredEvent extends NewEvent {
  id: string;
  /** Monotonically increasing, in commit order. */
  sequence: number;
  createdAt: Date;
}

/**
 * The one type → scope map: the scope an API key needs to see events of a
 * family (`null`: none, e.g. the public catalogue). Every visibility check —
 * the SQL filter of the log and the per-event predicate (events.visibility.ts) —
 * reads it.
 */
export const EVENT_FAMILY_SCOPES: Readonly<Record<string, Scope | null>> = {
  user: 'users:read',
  follow: 'users:read',
  post: 'posts:read',
  comment: 'posts:read',
  product: null,
  order: 'orders:read',
  charge: 'charges:read',
  webhook: null,
  webhook_endpoint: 'webhooks:read',
  job: null,
};

/** The family of an event type: `order` for `order.created`. */
export function familyOf(type: string): string {
  // Called per subscriber while an event is fanned out: no array for one prefix.
  const dot = type.indexOf('.');
  return dot < 0 ? type : type.slice(0, dot);
}

/** The scope an API key needs to see events of a type (none for the public catalogue). */
export function scopeForEventType(type: string): Scope | null {
  return EVENT_FAMILY_SCOPES[familyOf(type)] ?? null;
}

/** An event in the API's field names: what GET /v1/events, SSE `data` and WebSocket `event` show. */
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

import type { Scope } from '../shared/principal.ts';

export const EVENT_TYPES = [
  'user.created',
  'user.verification_requested',
  'post.created',
  'comment.created',
  'follow.created',
  'product.updated',
  'order.created',
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

/** The scope an API key needs to see events of a type (none for the public catalogue). */
export function scopeForEventType(type: string): Scope | null {
  const family = type.split('.')[0];
  switch (family) {
    case 'order':
      return 'orders:read';
    case 'charge':
      return 'charges:read';
    case 'post':
    case 'comment':
      return 'posts:read';
    case 'user':
    case 'follow':
      return 'users:read';
    case 'webhook_endpoint':
      return 'webhooks:read';
    default:
      return null;
  }
}

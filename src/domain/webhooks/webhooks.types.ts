export const WEBHOOK_ENDPOINT_STATUSES = ['enabled', 'disabled'] as const;
export type WebhookEndpointStatus = (typeof WEBHOOK_ENDPOINT_STATUSES)[number];

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export const WEBHOOK_URL_MAX = 2048;
export const WEBHOOK_DESCRIPTION_MAX = 500;
export const WEBHOOK_EVENT_TYPES_MAX = 50;

/** The signing secrets of an endpoint: during a rotation's overlap, the previous one signs too. */
export interface WebhookSecrets {
  current: string;
  previous: string | null;
  previousExpiresAt: Date | null;
}

export interface WebhookEndpoint {
  id: string;
  userId: string;
  url: string;
  /** Exact types (`charge.succeeded`), families (`order.*`) or `*`. */
  eventTypes: string[];
  description: string | null;
  status: WebhookEndpointStatus;
  secrets: WebhookSecrets;
  /** The first failed attempt since the last success (auto-disable counts from it). */
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** The exact body sent on every attempt. */
  body: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  /** When the next attempt is due; null once final. */
  nextAttemptAt: Date | null;
  createdAt: Date;
}

/** The secrets that sign a delivery at `now`: the current one, and the previous one until it expires. */
export function signingSecrets(secrets: WebhookSecrets, now: Date): string[] {
  const live = secrets.previous !== null && secrets.previousExpiresAt !== null && secrets.previousExpiresAt.getTime() > now.getTime();
  return live ? [secrets.current, secrets.previous!] : [secrets.current];
}

/** True when an endpoint subscribed to `patterns` wants events of `type`. */
export function subscribes(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

/** An endpoint as every transport shows it (no secrets). */
export function presentWebhookEndpoint(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    event_types: e.eventTypes,
    description: e.description,
    status: e.status,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
  };
}

export function presentWebhookDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    endpoint_id: d.endpointId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    last_status_code: d.lastStatusCode,
    last_latency_ms: d.lastLatencyMs,
    last_error: d.lastError,
    next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
  };
}

import type { Page, PageRequest } from '../shared/page.ts';
import type { WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEndpointStatus, WebhookSecrets } from './webhooks.types.ts';

export interface WebhookEndpointChanges {
  url?: string;
  eventTypes?: string[];
  description?: string | null;
  status?: WebhookEndpointStatus;
  secrets?: WebhookSecrets;
  failingSince?: Date | null;
}

export interface WebhookEndpointRepository {
  insert(endpoint: WebhookEndpoint): Promise<WebhookEndpoint>;
  /** A live (not deleted) endpoint. */
  findById(id: string): Promise<WebhookEndpoint | undefined>;
  listByUser(userId: string, page: PageRequest): Promise<Page<WebhookEndpoint>>;
  update(id: string, changes: WebhookEndpointChanges, now: Date): Promise<WebhookEndpoint | undefined>;
  delete(id: string, now: Date): Promise<boolean>;
  /** Every enabled endpoint (the fan-out reads them once per batch). */
  listEnabled(): Promise<WebhookEndpoint[]>;
}

export interface WebhookDeliveryRepository {
  /** Inserts unless the endpoint already has a delivery of this event; answers the new one or undefined. */
  insert(delivery: WebhookDelivery): Promise<WebhookDelivery | undefined>;
  findById(id: string): Promise<WebhookDelivery | undefined>;
  listByEndpoint(endpointId: string, statuses: readonly WebhookDeliveryStatus[] | undefined, page: PageRequest): Promise<Page<WebhookDelivery>>;
  update(id: string, changes: Partial<Pick<WebhookDelivery, 'status' | 'attempts' | 'lastStatusCode' | 'lastLatencyMs' | 'lastError' | 'nextAttemptAt'>>, now: Date): Promise<void>;
  /** The fan-out's position in the event log: the last event it has handled. */
  readCursor(): Promise<{ sequence: number; eventId: string }>;
  /** Moves the position from `from` to `to`; false when another fan-out moved it first. */
  advanceCursor(from: { sequence: number; eventId: string }, to: { sequence: number; eventId: string }): Promise<boolean>;
}

/** Sends one attempt: resolves, checks the address, connects to it, never throws. */
export interface WebhookSender {
  send(url: string, headers: Record<string, string>, body: string): Promise<{ status: number | null; latencyMs: number; error: string | null }>;
}

/** Checks a target URL (scheme, resolution, address) before it is stored. */
export interface WebhookTargetChecker {
  /** `forbidden`: a non-public address; `invalid`: not an http(s) URL. Names that do not resolve now are accepted (checked again at delivery). */
  check(url: string): Promise<{ ok: true } | { ok: false; code: 'forbidden_address' | 'invalid_value'; message: string }>;
}

/** Mints `whsec_…` secrets (Standard Webhooks: base64 of random bytes). */
export interface WebhookSecretMinter {
  mint(): string;
}

/** Work the service hands to the workers. */
export interface WebhookDispatcher {
  /** Queues an attempt of a delivery (due now) in the caller's transaction. */
  schedule(delivery: WebhookDelivery, now: Date): Promise<void>;
  /** Makes the delivery's attempt due now, whatever its state. */
  retryNow(deliveryId: string, now: Date): Promise<void>;
  /** Resumes the deliveries parked while the endpoint was disabled. */
  resume(endpointId: string, now: Date): Promise<void>;
}

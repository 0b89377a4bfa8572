import { canSee, type EventLog, type StoredEvent } from '../events/index.ts';
import { AppError, notFound, type FieldError } from '../shared/errors.ts';
import type { Clock } from '../shared/clock.ts';
import { newId } from '../shared/ids.ts';
import type { Page, PageRequest, SortFields } from '../shared/page.ts';
import { canActFor, requireScope, type Principal } from '../shared/principal.ts';
import type { Transactor } from '../shared/transactor.ts';
import type { UserRepository } from '../users/users.port.ts';
import { blankFields } from '../shared/validation.ts';
import {
  NewWebhookEndpointInput,
  ROTATE_OVERLAP_DEFAULT_SECONDS,
  RotateWebhookSecretInput,
  WebhookEndpointPatchInput,
  type NewWebhookEndpoint,
  type RotateWebhookSecret,
  type WebhookEndpointPatch,
} from './webhooks.inputs.ts';
import type {
  WebhookDeliveryRepository,
  WebhookDispatcher,
  WebhookEndpointRepository,
  WebhookSecretMinter,
  WebhookSender,
  WebhookTargetChecker,
} from './webhooks.port.ts';
import {
  presentWebhookEndpoint,
  signingSecrets,
  subscribes,
  WEBHOOK_DELIVERY_STATUSES,
  type WebhookDelivery,
  type WebhookDeliveryStatus,
  type WebhookEndpoint,
} from './webhooks.types.ts';

export const WEBHOOK_ENDPOINT_SORTS: SortFields<WebhookEndpoint> = { created_at: (e) => e.createdAt };
export const WEBHOOK_DELIVERY_SORTS: SortFields<WebhookDelivery> = { created_at: (d) => d.createdAt };

export interface WebhookPolicy {
  /** Delays before the 2nd, 3rd, … attempt (STOA_WEBHOOK_RETRY_SCHEDULE). */
  retryScheduleMs: readonly number[];
  /** ± this fraction of each delay, at random. */
  jitter: number;
  /** An endpoint failing this long without a success is disabled (STOA_WEBHOOK_DISABLE_AFTER). */
  disableAfterMs: number;
  /** `user-agent` of every attempt. */
  userAgent: string;
}

export interface WebhooksServiceDeps {
  endpoints: WebhookEndpointRepository;
  deliveries: WebhookDeliveryRepository;
  targets: WebhookTargetChecker;
  secrets: WebhookSecretMinter;
  dispatcher: WebhookDispatcher;
  sender: WebhookSender;
  sign(secrets: readonly string[], id: string, timestamp: number, body: string): string;
  events: EventLog;
  users: UserRepository;
  transactor: Transactor;
  clock: Clock;
  policy: WebhookPolicy;
  random?: () => number;
}

export type AttemptOutcome = { state: 'done' } | { state: 'parked' } | { state: 'queued'; runAt: Date };

const FANOUT_BATCH = 100;

/** Outbound webhooks: endpoints, their secrets, deliveries from the event log and their attempts. */
export class WebhooksService {
  readonly #d: WebhooksServiceDeps;

  constructor(deps: WebhooksServiceDeps) {
    this.#d = deps;
  }

  // ---- endpoints

  async create(actor: Principal, input: NewWebhookEndpoint): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    requireScope(actor, 'webhooks:write');
    const extra = [...blankFields(input, ['url']), ...(await this.#checkUrl(input?.url, 'url'))];
    NewWebhookEndpointInput.parse(input, extra);
    const now = this.#d.clock.now();
    const secret = this.#d.secrets.mint();
    const endpoint = await this.#d.endpoints.insert({
      id: newId('whe', now.getTime()),
      userId: actor.userId,
      url: input.url,
      eventTypes: [...input.event_types],
      description: input.description ?? null,
      status: 'enabled',
      secrets: { current: secret, previous: null, previousExpiresAt: null },
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    });
    return { endpoint, secret };
  }

  async list(actor: Principal, page: PageRequest): Promise<Page<WebhookEndpoint>> {
    requireScope(actor, 'webhooks:read');
    return this.#d.endpoints.listByUser(actor.userId, page);
  }

  async get(actor: Principal, id: string, scope: 'webhooks:read' | 'webhooks:write' = 'webhooks:read'): Promise<WebhookEndpoint> {
    requireScope(actor, scope);
    const endpoint = await this.#d.endpoints.findById(id);
    // Another user's endpoint is indistinguishable from a missing one (administrators included: endpoints are private).
    if (!endpoint || endpoint.userId !== actor.userId) throw notFound('Webhook endpoint');
    return endpoint;
  }

  async update(actor: Principal, id: string, changes: WebhookEndpointPatch): Promise<WebhookEndpoint> {
    const current = await this.get(actor, id, 'webhooks:write');
    const extra = [...blankFields(changes, ['url']), ...(changes?.url !== undefined ? await this.#checkUrl(changes.url, 'url') : [])];
    WebhookEndpointPatchInput.parse(changes, extra);
    const now = this.#d.clock.now();
    return this.#d.transactor.run(async () => {
      const updated = await this.#d.endpoints.update(
        id,
        {
          ...(changes.url !== undefined && { url: changes.url }),
          ...(changes.event_types !== undefined && { eventTypes: [...changes.event_types] }),
          ...(changes.description !== undefined && { description: changes.description }),
          ...(changes.status !== undefined && { status: changes.status as WebhookEndpoint['status'] }),
          // Re-enabled: failures count afresh.
          ...(changes.status === 'enabled' && current.status === 'disabled' && { failingSince: null }),
        },
        now,
      );
      if (!updated) throw notFound('Webhook endpoint');
      if (changes.status === 'enabled' && current.status === 'disabled') await this.#d.dispatcher.resume(id, now);
      return updated;
    });
  }

  async delete(actor: Principal, id: string): Promise<void> {
    await this.get(actor, id, 'webhooks:write');
    if (!(await this.#d.endpoints.delete(id, this.#d.clock.now()))) throw notFound('Webhook endpoint');
  }

  /** A new secret; the previous one keeps signing for `expire_previous_after_seconds` (at most two secrets sign). */
  async rotateSecret(actor: Principal, id: string, input: RotateWebhookSecret | undefined): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const endpoint = await this.get(actor, id, 'webhooks:write');
    const body = input === undefined || input === null ? {} : input;
    RotateWebhookSecretInput.parse(body);
    const overlap = body.expire_previous_after_seconds ?? ROTATE_OVERLAP_DEFAULT_SECONDS;
    const now = this.#d.clock.now();
    const secret = this.#d.secrets.mint();
    const updated = await this.#d.endpoints.update(
      id,
      {
        secrets:
          overlap === 0
            ? { current: secret, previous: null, previousExpiresAt: null }
            : { current: secret, previous: endpoint.secrets.current, previousExpiresAt: new Date(now.getTime() + overlap * 1000) },
      },
      now,
    );
    if (!updated) throw notFound('Webhook endpoint');
    return { endpoint: updated, secret };
  }

  async #checkUrl(url: unknown, field: string): Promise<FieldError[]> {
    if (typeof url !== 'string' || url.trim() === '') return [];
    const checked = await this.#d.targets.check(url);
    return checked.ok ? [] : [{ field, code: checked.code, message: checked.message }];
  }

  // ---- deliveries

  async listDeliveries(actor: Principal, endpointId: string, statuses: readonly string[] | undefined, page: PageRequest): Promise<Page<WebhookDelivery>> {
    await this.get(actor, endpointId);
    const bad = statuses?.filter((s) => !(WEBHOOK_DELIVERY_STATUSES as readonly string[]).includes(s)) ?? [];
    if (bad.length > 0) {
      throw new AppError('INVALID_PARAMETER', `Invalid query parameter status: ${bad.join(', ')}`, {
        errors: [{ field: 'status', code: 'invalid_value', message: `must be a comma-separated list of ${WEBHOOK_DELIVERY_STATUSES.join(', ')}` }],
      });
    }
    return this.#d.deliveries.listByEndpoint(endpointId, statuses as WebhookDeliveryStatus[] | undefined, page);
  }

  async getDelivery(actor: Principal, id: string, scope: 'webhooks:read' | 'webhooks:write' = 'webhooks:read'): Promise<WebhookDelivery> {
    requireScope(actor, scope);
    const delivery = await this.#d.deliveries.findById(id);
    const endpoint = delivery && (await this.#d.endpoints.findById(delivery.endpointId));
    if (!delivery || !endpoint || !canActFor(actor, endpoint.userId) || endpoint.userId !== actor.userId) throw notFound('Webhook delivery');
    return delivery;
  }

  /** An attempt now, whatever the delivery's state (a final one becomes pending again). */
  async retry(actor: Principal, id: string): Promise<WebhookDelivery> {
    const delivery = await this.getDelivery(actor, id, 'webhooks:write');
    const now = this.#d.clock.now();
    await this.#d.transactor.run(async () => {
      await this.#d.deliveries.update(id, { status: 'pending', nextAttemptAt: now }, now);
      await this.#d.dispatcher.retryNow(id, now);
    });
    return { ...delivery, status: 'pending', nextAttemptAt: now };
  }

  /** A `webhook.test` delivery to one endpoint (not recorded in the event log). */
  async sendTest(actor: Principal, endpointId: string): Promise<WebhookDelivery> {
    const endpoint = await this.get(actor, endpointId, 'webhooks:write');
    const now = this.#d.clock.now();
    const eventId = newId('evt', now.getTime());
    const body = JSON.stringify({ id: eventId, type: 'webhook.test', timestamp: now.toISOString(), data: { endpoint: presentWebhookEndpoint(endpoint) } });
    return this.#d.transactor.run(async () => {
      const delivery = (await this.#d.deliveries.insert(this.#newDelivery(endpoint.id, eventId, 'webhook.test', body, now)))!;
      await this.#d.dispatcher.schedule(delivery, now);
      return delivery;
    });
  }

  #newDelivery(endpointId: string, eventId: string, eventType: string, body: string, now: Date): WebhookDelivery {
    return {
      id: newId('whd', now.getTime()),
      endpointId,
      eventId,
      eventType,
      body,
      status: 'pending',
      attempts: 0,
      lastStatusCode: null,
      lastLatencyMs: null,
      lastError: null,
      nextAttemptAt: now,
      createdAt: now,
    };
  }

  /**
   * The outbox step: reads the events after the stored position and makes one
   * delivery per enabled endpoint that subscribes to the event and whose owner
   * may see it, moving the position in the same short transaction. Answers
   * how many events it handled.
   */
  async fanOut(): Promise<number> {
    let handled = 0;
    for (let round = 0; round < 10; round++) {
      const cursor = await this.#d.deliveries.readCursor();
      const after = { mode: 'cursor' as const, sort: [{ field: 'sequence', descending: false }], limit: FANOUT_BATCH, position: { direction: 'next' as const, at: { values: [cursor.sequence], id: cursor.eventId } } };
      const batch = (await this.#d.events.list({}, after)).items;
      if (batch.length === 0) break;
      const last = batch[batch.length - 1]!;
      const endpoints = (await this.#d.endpoints.listEnabled()).filter((e) => batch.some((ev) => subscribes(e.eventTypes, ev.type) && ev.createdAt >= e.createdAt));
      // One visibility rule for every channel: the batch already read is filtered in memory per owner.
      const owners = new Map((await this.#d.users.findByIds([...new Set(endpoints.map((e) => e.userId))])).map((u) => [u.id, u]));
      const planned: Array<{ endpoint: WebhookEndpoint; event: StoredEvent }> = [];
      for (const endpoint of endpoints) {
        const owner = owners.get(endpoint.userId);
        if (!owner) continue;
        const principal: Principal = { userId: owner.id, role: owner.role, plan: owner.plan, via: 'session', apiKeyId: null, scopes: null, apiVersion: null };
        for (const event of batch) {
          if (event.createdAt >= endpoint.createdAt && subscribes(endpoint.eventTypes, event.type) && canSee(principal, event)) planned.push({ endpoint, event });
        }
      }
      const now = this.#d.clock.now();
      const moved = await this.#d.transactor.run(async () => {
        if (!(await this.#d.deliveries.advanceCursor(cursor, { sequence: last.sequence, eventId: last.id }))) return false;
        for (const { endpoint, event } of planned) {
          const body = JSON.stringify({ id: event.id, type: event.type, timestamp: event.createdAt.toISOString(), data: event.data });
          const delivery = await this.#d.deliveries.insert(this.#newDelivery(endpoint.id, event.id, event.type, body, now));
          if (delivery) await this.#d.dispatcher.schedule(delivery, now);
        }
        return true;
      });
      if (!moved) break;
      handled += batch.length;
      if (batch.length < FANOUT_BATCH) break;
    }
    return handled;
  }

  /** One attempt of a delivery (the worker's handler): sends, records, schedules the next or finishes. */
  async attempt(deliveryId: string): Promise<AttemptOutcome> {
    const { deliveries, endpoints, clock, policy } = this.#d;
    const delivery = await deliveries.findById(deliveryId);
    if (!delivery || delivery.status !== 'pending') return { state: 'done' };
    const endpoint = await endpoints.findById(delivery.endpointId);
    const started = clock.now();
    if (!endpoint) {
      await deliveries.update(delivery.id, { status: 'failed', lastError: 'the endpoint was deleted', nextAttemptAt: null }, started);
      return { state: 'done' };
    }
    // A disabled endpoint keeps its pending deliveries until it is enabled again.
    if (endpoint.status === 'disabled') return { state: 'parked' };
    const timestamp = Math.floor(started.getTime() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': policy.userAgent,
      'webhook-id': delivery.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': this.#d.sign(signingSecrets(endpoint.secrets, started), delivery.eventId, timestamp, delivery.body),
    };
    const result = await this.#d.sender.send(endpoint.url, headers, delivery.body);
    const now = clock.now();
    const attempts = delivery.attempts + 1;
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const recorded = { attempts, lastStatusCode: result.status, lastLatencyMs: result.latencyMs, lastError: ok ? null : (result.error ?? `HTTP ${result.status}`) };
    if (ok) {
      const succeeded = { ...recorded, status: 'succeeded' as const, nextAttemptAt: null };
      // The common case is one statement, atomic by itself: no transaction around it.
      if (endpoint.failingSince === null) await deliveries.update(delivery.id, succeeded, now);
      else {
        await this.#d.transactor.run(async () => {
          await deliveries.update(delivery.id, succeeded, now);
          await endpoints.update(endpoint.id, { failingSince: null }, now);
        });
      }
      return { state: 'done' };
    }
    const delay = policy.retryScheduleMs[attempts - 1];
    const next = delay === undefined ? null : new Date(now.getTime() + this.#jittered(delay));
    await this.#d.transactor.run(async () => {
      await deliveries.update(delivery.id, { ...recorded, status: next ? 'pending' : 'failed', nextAttemptAt: next }, now);
      const failingSince = endpoint.failingSince ?? now;
      if (endpoint.failingSince === null) await endpoints.update(endpoint.id, { failingSince }, now);
      if (now.getTime() - failingSince.getTime() >= policy.disableAfterMs) await this.#disable(endpoint, now);
    });
    return next ? { state: 'queued', runAt: next } : { state: 'done' };
  }

  async #disable(endpoint: WebhookEndpoint, now: Date): Promise<void> {
    const disabled = await this.#d.endpoints.update(endpoint.id, { status: 'disabled' }, now);
    if (!disabled || endpoint.status === 'disabled') return;
    await this.#d.events.append(
      { type: 'webhook_endpoint.disabled', resourceType: 'webhook_endpoint', resourceId: endpoint.id, data: presentWebhookEndpoint(disabled), audience: [endpoint.userId] },
      now,
    );
  }

  #jittered(delayMs: number): number {
    const r = (this.#d.random ?? Math.random)();
    return Math.max(0, Math.round(delayMs * (1 + this.#d.policy.jitter * (2 * r - 1))));
  }
}

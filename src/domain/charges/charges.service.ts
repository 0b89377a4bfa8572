import type { EventLog } from '../events/index.ts';
import { presentOrder, type OrderRepository } from '../orders/index.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, notFound, validationError, type FieldError } from '../shared/errors.ts';
import { isId, newId } from '../shared/ids.ts';
import { isCurrencyCode } from '../shared/money.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import { isAdmin, requireScope, type Principal } from '../shared/principal.ts';
import type { Transactor } from '../shared/transactor.ts';
import type { ChargeRepository, InboundHeaders, PaymentGateway, ProcessorEventStore, ProcessorWebhookVerifier } from './charges.port.ts';
import { NewChargeInput, type NewCharge } from './charges.inputs.ts';
import { CHARGE_STATUSES, presentCharge, type Charge, type ChargeFilter, type ChargeOutcome } from './charges.types.ts';

export interface ChargesServiceDeps {
  charges: ChargeRepository;
  processorEvents: ProcessorEventStore;
  orders: Pick<OrderRepository, 'findById' | 'lockById' | 'setStatus' | 'itemsOf'>;
  gateway: PaymentGateway;
  webhookVerifier: ProcessorWebhookVerifier;
  events: EventLog;
  transactor: Transactor;
  clock: Clock;
}

/** What became of a delivered processor event. */
export type OutcomeResult = 'applied' | 'duplicate' | 'ignored';

/**
 * Charges: a user charges a card token, optionally for one of its orders.
 * The charge is created pending and handed to the payment processor once the
 * creating transaction has committed; the processor's signed webhook settles
 * it (and confirms the order) later, each change with its event.
 */
export class ChargesService {
  readonly #deps: ChargesServiceDeps;

  constructor(deps: ChargesServiceDeps) {
    this.#deps = deps;
  }

  async create(actor: Principal, input: NewCharge): Promise<Charge> {
    requireScope(actor, 'charges:write');
    const upper = typeof input?.currency === 'string' ? input.currency.toUpperCase() : undefined;
    const extra: FieldError[] = [];
    if (upper?.length === 3 && !isCurrencyCode(upper)) extra.push({ field: 'currency', code: 'invalid_value', message: 'must be an ISO 4217 currency code' });
    const currency = NewChargeInput.parse(input, extra).currency.toUpperCase();

    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      if (input.order_id !== undefined) {
        const order = isId(input.order_id, 'ord') ? await this.#deps.orders.findById(input.order_id) : undefined;
        if (!order || (order.userId !== actor.userId && !isAdmin(actor))) {
          throw validationError([{ field: 'order_id', code: 'not_found', message: 'no such order' }]);
        }
        if (order.status === 'cancelled') {
          throw new AppError('INVALID_STATE_TRANSITION', 'A cancelled order cannot be paid', { extensions: { current_status: order.status } });
        }
      }
      const charge: Charge = {
        id: newId('ch', now.getTime()),
        userId: actor.userId,
        orderId: input.order_id ?? null,
        amount: input.amount,
        currency,
        source: input.source,
        description: input.description ?? null,
        status: 'pending',
        failureCode: null,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      const saved = await this.#deps.charges.insert(charge);
      await this.#deps.events.append({ type: 'charge.created', resourceType: 'charge', resourceId: saved.id, data: presentCharge(saved), audience: [saved.userId] }, now);
      // Only a committed charge goes to the processor; if this process dies first, resubmitPending hands it over.
      this.#deps.transactor.afterCommit(() => void this.#submit(saved));
      return saved;
    });
  }

  /** One charge; another user's charge is 404, as if it did not exist. */
  async get(actor: Principal, id: string): Promise<Charge> {
    requireScope(actor, 'charges:read');
    const charge = isId(id, 'ch') ? await this.#deps.charges.findById(id) : undefined;
    if (!charge || (charge.userId !== actor.userId && !isAdmin(actor))) throw notFound('Charge');
    return charge;
  }

  /** The caller's charges; every charge for administrators. */
  async list(actor: Principal, filter: ChargeFilter, page: PageRequest): Promise<Page<Charge>> {
    requireScope(actor, 'charges:read');
    const bad = filter.statuses?.filter((s) => !(CHARGE_STATUSES as readonly string[]).includes(s)) ?? [];
    if (bad.length > 0) {
      throw new AppError('INVALID_PARAMETER', `Invalid query parameter status: ${bad.join(', ')}`, {
        errors: [{ field: 'status', code: 'invalid_value', message: `must be a comma-separated list of ${CHARGE_STATUSES.join(', ')}` }],
      });
    }
    return this.#deps.charges.list({ ...filter, userId: isAdmin(actor) ? filter.userId : actor.userId }, page);
  }

  /**
   * The processor's inbound webhook: verifies its signature over the raw body,
   * reads the charge outcome it carries and applies it, once per delivery id.
   */
  async receiveProcessorWebhook(rawBody: string, headers: InboundHeaders): Promise<OutcomeResult> {
    const verified = this.#deps.webhookVerifier.verify(rawBody, headers);
    if ('refused' in verified) {
      throw new AppError('WEBHOOK_SIGNATURE_INVALID', `The webhook was refused: ${verified.refused.replace(/_/g, ' ')}`, { extensions: { reason: verified.refused } });
    }
    let event: { type?: unknown; data?: { charge_id?: unknown; status?: unknown; failure_code?: unknown } } | null;
    try {
      event = JSON.parse(rawBody) as typeof event;
    } catch {
      throw new AppError('MALFORMED_JSON', 'The webhook body is not JSON');
    }
    const status = event?.data?.status;
    if (typeof event?.type !== 'string' || typeof event.data?.charge_id !== 'string' || (status !== 'succeeded' && status !== 'failed')) {
      throw new AppError('BAD_REQUEST', 'The webhook is not a charge outcome (type, data.charge_id, data.status)');
    }
    return this.applyOutcome({
      webhookId: verified.webhookId,
      type: event.type,
      chargeId: event.data.charge_id,
      status,
      failureCode: typeof event.data.failure_code === 'string' ? event.data.failure_code : null,
      raw: rawBody,
    });
  }

  /**
   * Applies the processor's verdict, once per webhook-id: the raw event, the
   * charge's new status, its order's confirmation and their events commit together.
   */
  async applyOutcome(outcome: ChargeOutcome): Promise<OutcomeResult> {
    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      const fresh = await this.#deps.processorEvents.recordOnce(
        { webhookId: outcome.webhookId, type: outcome.type, chargeId: isId(outcome.chargeId, 'ch') ? outcome.chargeId : null, raw: outcome.raw },
        now,
      );
      if (!fresh) return 'duplicate';
      const charge = isId(outcome.chargeId, 'ch') ? await this.#deps.charges.lockById(outcome.chargeId) : undefined;
      if (!charge || charge.status !== 'pending') return 'ignored';
      const settled = await this.#deps.charges.settle(charge.id, outcome.status, outcome.status === 'failed' ? (outcome.failureCode ?? 'processing_error') : null, now);
      if (!settled) return 'ignored';
      await this.#deps.events.append(
        { type: `charge.${outcome.status}`, resourceType: 'charge', resourceId: settled.id, data: presentCharge(settled), audience: [settled.userId] },
        now,
      );
      if (settled.status === 'succeeded' && settled.orderId) {
        const order = await this.#deps.orders.lockById(settled.orderId);
        if (order && order.status === 'pending') {
          const confirmed = await this.#deps.orders.setStatus(order.id, ['pending'], 'confirmed', now);
          if (confirmed) {
            const data = presentOrder({ ...confirmed, items: await this.#deps.orders.itemsOf(order.id) });
            await this.#deps.events.append({ type: 'order.status_changed', resourceType: 'order', resourceId: order.id, data, audience: [order.userId] }, now);
            await this.#deps.events.append({ type: 'order.confirmed', resourceType: 'order', resourceId: order.id, data, audience: [order.userId] }, now);
          }
        }
      }
      return 'applied';
    });
  }

  /**
   * Hands pending charges last submitted before `before` (or never) to the
   * processor again: the ones a crashed process never handed over, or whose
   * outcome was lost. The processor reports a charge it already decided again,
   * and a second report changes nothing.
   */
  async resubmitPending(before: Date, limit = 100): Promise<number> {
    const pending = await this.#deps.charges.pendingSubmittedBefore(before, limit);
    await Promise.all(pending.map((charge) => this.#submit(charge)));
    return pending.length;
  }

  async #submit(charge: Charge): Promise<void> {
    try {
      await this.#deps.charges.markSubmitted(charge.id, this.#deps.clock.now());
      await this.#deps.gateway.submit(charge);
    } catch {
      // Stays pending; resubmitPending tries again.
    }
  }
}

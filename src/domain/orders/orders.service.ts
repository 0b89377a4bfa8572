import type { EventLog } from '../events/index.ts';
import type { ProductRepository, StockTake } from '../products/index.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, notFound, validationError, type FieldError, preconditionFailed } from '../shared/errors.ts';
import { isId, newId } from '../shared/ids.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import { isAdmin, requireScope, type Principal } from '../shared/principal.ts';
import type { Transactor } from '../shared/transactor.ts';
import type { FieldErrorCode } from '../shared/validation.ts';
import type { UserRepository } from '../users/index.ts';
import { NewOrderInput, OrderStatusInput, type NewOrder } from './orders.inputs.ts';
import type { OrderRepository } from './orders.port.ts';
import {
  CANCELLABLE_STATUSES,
  NEXT_STATUS,
  ORDER_STATUSES,
  canBeCancelled,
  lineTotal,
  presentOrder,
  type Order,
  type OrderFilter,
  type OrderItem,
  type OrderStatus,
  type OrderWithItems,
} from './orders.types.ts';

export interface OrdersServiceDeps {
  orders: OrderRepository;
  products: ProductRepository;
  /** To tell an unknown user (404) from a stranger (403) on a user's order list. */
  users: Pick<UserRepository, 'findById'>;
  events: EventLog;
  transactor: Transactor;
  clock: Clock;
}

/** One product of an order request, duplicates merged, with the request indexes it came from. */
interface MergedLine {
  productId: string;
  quantity: number;
  indexes: number[];
}

function invalidTransition(current: OrderStatus, detail: string): AppError {
  return new AppError('INVALID_STATE_TRANSITION', detail, { extensions: { current_status: current } });
}

function fieldsOf(line: MergedLine, code: FieldErrorCode, message: string): FieldError[] {
  return line.indexes.map((i) => ({ field: `items.${i}.product_id`, code, message }));
}

/**
 * Orders and their items. A user places, reads and cancels its own orders;
 * administrators see every order and move it along its fulfilment path.
 * Stock moves in the same transaction as the order, and so does the event.
 */
export class OrdersService {
  readonly #deps: OrdersServiceDeps;

  constructor(deps: OrdersServiceDeps) {
    this.#deps = deps;
  }

  /**
   * Places an order: prices come from the catalogue, stock is taken with one
   * conditional UPDATE per product in product-id order (no deadlocks between
   * concurrent orders), and any shortfall rolls the whole order back.
   */
  async place(actor: Principal, input: NewOrder): Promise<OrderWithItems> {
    requireScope(actor, 'orders:write');
    const lines = this.#mergeLines(input);
    const { products } = this.#deps;

    const wellFormed = lines.filter((l) => isId(l.productId, 'prd')).map((l) => l.productId);
    const known = new Map((wellFormed.length > 0 ? await products.findByIds(wellFormed) : []).map((p) => [p.id, p]));
    const unknown = lines.filter((l) => !known.has(l.productId));
    if (unknown.length > 0) throw validationError(unknown.flatMap((l) => fieldsOf(l, 'not_found', 'no such product')));
    this.#checkCurrencies(lines, (id) => known.get(id)!.currency);

    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      const taken = new Map<string, StockTake>();
      const short: MergedLine[] = [];
      for (const line of [...lines].sort((a, b) => (a.productId < b.productId ? -1 : 1))) {
        const take = await products.takeStock(line.productId, line.quantity, now);
        if (take) taken.set(line.productId, take);
        else short.push(line);
      }
      if (short.length > 0) {
        const stock = new Map((await products.findByIds(short.map((l) => l.productId))).map((p) => [p.id, p.stock]));
        const errors = short
          .flatMap((l) => fieldsOf(l, 'out_of_stock', `${l.quantity} requested, ${stock.get(l.productId) ?? 0} in stock`))
          .sort((a, b) => a.field.localeCompare(b.field, 'en', { numeric: true }));
        // Throwing rolls back every stock take made above.
        throw new AppError('OUT_OF_STOCK', `Not enough stock for ${short.map((l) => l.productId).join(', ')}; nothing was ordered`, { errors });
      }
      // A price or currency may have changed since the read above; the locked rows are the truth.
      this.#checkCurrencies(lines, (id) => taken.get(id)!.currency);

      const orderId = newId('ord', now.getTime());
      const items: OrderItem[] = lines.map((line) => {
        const take = taken.get(line.productId)!;
        return { id: newId('itm', now.getTime()), orderId, productId: line.productId, quantity: line.quantity, unitPrice: take.price, currency: take.currency, createdAt: now };
      });
      const order: Order = {
        id: orderId,
        userId: actor.userId,
        status: 'pending',
        total: items.reduce((sum, item) => sum + lineTotal(item), 0),
        currency: items[0]!.currency,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      const saved = await this.#deps.orders.insert(order, items);
      await this.#deps.events.append(
        { type: 'order.created', resourceType: 'order', resourceId: saved.id, data: presentOrder(saved), audience: [saved.userId] },
        now,
      );
      return saved;
    });
  }

  /** One order with its items; another user's order is 404, as if it did not exist. */
  async get(actor: Principal, id: string): Promise<OrderWithItems> {
    requireScope(actor, 'orders:read');
    const order = await this.#visible(actor, id);
    return { ...order, items: await this.#deps.orders.itemsOf(order.id) };
  }

  /** The caller's orders; every order for administrators. */
  async list(actor: Principal, filter: OrderFilter, page: PageRequest): Promise<Page<Order>> {
    requireScope(actor, 'orders:read');
    this.#checkFilter(filter);
    return this.#deps.orders.list({ ...filter, userId: isAdmin(actor) ? filter.userId : actor.userId }, page);
  }

  /** One user's orders: the user itself or an administrator. */
  async listForUser(actor: Principal, userId: string, filter: OrderFilter, page: PageRequest): Promise<Page<Order>> {
    requireScope(actor, 'orders:read');
    if (actor.userId !== userId) {
      // Accounts are no secret (profiles are readable): an unknown id is 404, someone else's 403.
      const exists = isId(userId, 'usr') && (await this.#deps.users.findById(userId)) !== undefined;
      if (!exists) throw notFound('User');
      if (!isAdmin(actor)) throw new AppError('FORBIDDEN', "You may only list your own orders");
    }
    this.#checkFilter(filter);
    return this.#deps.orders.list({ ...filter, userId }, page);
  }

  async items(actor: Principal, orderId: string, page: PageRequest): Promise<Page<OrderItem>> {
    requireScope(actor, 'orders:read');
    const order = await this.#visible(actor, orderId);
    return this.#deps.orders.listItems(order.id, page);
  }

  /** The items of several orders (includes), restricted to orders the caller may see. */
  async itemsOfOrders(actor: Principal | null, orderIds: readonly string[]): Promise<OrderItem[]> {
    if (!actor) return [];
    requireScope(actor, 'orders:read');
    const ids = [...new Set(orderIds)].filter((id) => isId(id, 'ord'));
    if (ids.length === 0) return [];
    return this.#deps.orders.itemsOfOrders(ids, isAdmin(actor) ? undefined : actor.userId);
  }

  async getItem(actor: Principal, id: string): Promise<OrderItem> {
    requireScope(actor, 'orders:read');
    const found = isId(id, 'itm') ? await this.#deps.orders.findItem(id) : undefined;
    if (!found || (found.ownerId !== actor.userId && !isAdmin(actor))) throw notFound('Order item');
    return found.item;
  }

  /** Cancels a pending or confirmed order and puts its items back in stock, in one transaction. */
  async cancel(actor: Principal, id: string): Promise<OrderWithItems> {
    requireScope(actor, 'orders:write');
    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      const order = await this.#visible(actor, id, { lock: true });
      if (!canBeCancelled(order.status)) {
        throw invalidTransition(order.status, `An order that is ${order.status} cannot be cancelled; only ${CANCELLABLE_STATUSES.join(' or ')} orders can`);
      }
      const updated = await this.#deps.orders.setStatus(order.id, CANCELLABLE_STATUSES, 'cancelled', now);
      if (!updated) throw new Error(`order ${order.id} changed under its row lock`);
      const items = await this.#deps.orders.itemsOf(order.id);
      // Product-id order, like placing, so a cancel and an order never wait on each other in a cycle.
      for (const item of [...items].sort((a, b) => (a.productId < b.productId ? -1 : 1))) {
        await this.#deps.products.returnStock(item.productId, item.quantity, now);
      }
      await this.#deps.events.append(
        { type: 'order.cancelled', resourceType: 'order', resourceId: order.id, data: presentOrder({ ...updated, items }), audience: [order.userId] },
        now,
      );
      return { ...updated, items };
    });
  }

  /** Administrators move an order one step along pending → confirmed → shipped → delivered. */
  async setStatus(actor: Principal, id: string, status: string, expectedVersion?: number): Promise<OrderWithItems> {
    requireScope(actor, 'orders:write');
    if (!isAdmin(actor)) throw new AppError('FORBIDDEN', 'Only administrators may change the status of an order; its owner may cancel it instead');
    const to = OrderStatusInput.parse({ status }).status as OrderStatus;
    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      const order = await this.#visible(actor, id, { lock: true });
      if (expectedVersion !== undefined && expectedVersion !== order.version) {
        throw preconditionFailed();
      }
      if (to === 'cancelled') {
        throw invalidTransition(order.status, 'Cancel an order with the cancel action, which also puts its items back in stock');
      }
      if (NEXT_STATUS[order.status] !== to) {
        const next = NEXT_STATUS[order.status];
        throw invalidTransition(order.status, `An order that is ${order.status} cannot become ${to}${next ? `; the next status is ${next}` : '; it is final'}`);
      }
      const updated = await this.#deps.orders.setStatus(order.id, [order.status], to, now);
      if (!updated) throw new Error(`order ${order.id} changed under its row lock`);
      const changed = { ...updated, items: await this.#deps.orders.itemsOf(order.id) };
      await this.#deps.events.append(
        { type: 'order.status_changed', resourceType: 'order', resourceId: order.id, data: presentOrder(changed), audience: [order.userId] },
        now,
      );
      if (to === 'confirmed') {
        await this.#deps.events.append({ type: 'order.confirmed', resourceType: 'order', resourceId: order.id, data: presentOrder(changed), audience: [order.userId] }, now);
      }
      return changed;
    });
  }

  /** The order if the caller may see it; 404 otherwise, so ids of other users' orders reveal nothing. */
  async #visible(actor: Principal, id: string, options: { lock?: boolean } = {}): Promise<Order> {
    if (!isId(id, 'ord')) throw notFound('Order');
    const order = options.lock ? await this.#deps.orders.lockById(id) : await this.#deps.orders.findById(id);
    if (!order || (order.userId !== actor.userId && !isAdmin(actor))) throw notFound('Order');
    return order;
  }

  #mergeLines(input: NewOrder): MergedLine[] {
    const { items } = NewOrderInput.parse(input);
    const merged = new Map<string, MergedLine>();
    items.forEach(({ product_id: productId, quantity }, i) => {
      const line = merged.get(productId);
      if (line) {
        line.quantity += quantity;
        line.indexes.push(i);
      } else {
        merged.set(productId, { productId, quantity, indexes: [i] });
      }
    });
    return [...merged.values()];
  }

  /** Every item of an order must be priced in one currency: the first item's. */
  #checkCurrencies(lines: readonly MergedLine[], currencyOf: (productId: string) => string): void {
    const currency = currencyOf(lines[0]!.productId);
    const others = lines.filter((l) => currencyOf(l.productId) !== currency);
    if (others.length > 0) {
      throw validationError(
        others.flatMap((l) => fieldsOf(l, 'currency_mismatch', `is priced in ${currencyOf(l.productId)}; every item of an order must be in ${currency}`)),
        'All items of an order must be priced in the same currency',
      );
    }
  }

  #checkFilter(filter: OrderFilter): void {
    const bad = (filter.statuses ?? []).filter((s) => !(ORDER_STATUSES as readonly string[]).includes(s));
    if (bad.length > 0) {
      throw new AppError('INVALID_PARAMETER', 'Invalid query parameter: status', {
        errors: [{ field: 'status', code: 'invalid_value', message: `must be a comma-separated list of ${ORDER_STATUSES.join(', ')}` }],
      });
    }
    // A reversed range (total_min above total_max) is no error: nothing lies in it, so the page is empty. The document
    // cannot say that one parameter must not exceed another, so every pair its schemas allow is answered.
  }
}

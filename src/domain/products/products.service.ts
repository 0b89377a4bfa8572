import type { EventLog } from '../events/index.ts';
import { EVERYONE } from '../events/index.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, notFound, type FieldError, preconditionFailed } from '../shared/errors.ts';
import { isId, newId } from '../shared/ids.ts';
import { isCurrencyCode } from '../shared/money.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import { isAdmin, requireScope, type Principal } from '../shared/principal.ts';
import type { Transactor } from '../shared/transactor.ts';
import type { ProductRepository } from './products.port.ts';
import { blankFields } from '../shared/validation.ts';
import { NewProductInput, ProductPatchInput } from './products.inputs.ts';
import {
  CATEGORY_MAX,
  presentProduct,
  type NewProduct,
  type Product,
  type ProductChanges,
  type ProductFilter,
} from './products.types.ts';

export interface ProductsServiceDeps {
  products: ProductRepository;
  events: EventLog;
  transactor: Transactor;
  clock: Clock;
}

/** The rules the schema cannot state: no blank text, no comma in a category, a known currency. */
function domainRules(value: ProductChanges): FieldError[] {
  const input: ProductChanges = value ?? {};
  const errors = blankFields(input, ['name', 'category']);
  // Categories are filtered as a comma-separated list, so a name may not hold a comma.
  if (typeof input.category === 'string' && input.category.includes(',')) errors.push({ field: 'category', code: 'invalid_format', message: 'must not contain a comma' });
  if (typeof input.currency === 'string' && /^[A-Z]{3}$/.test(input.currency) && !isCurrencyCode(input.currency)) {
    errors.push({ field: 'currency', code: 'invalid_value', message: 'must be an ISO 4217 currency code in upper case, such as EUR' });
  }
  return errors;
}

/** Changing the catalogue: an administrator, and for an API key the `products:write` scope. */
function requireAdmin(actor: Principal): void {
  requireScope(actor, 'products:write');
  if (!isAdmin(actor)) throw new AppError('FORBIDDEN', 'Only administrators may change the catalogue');
}

/**
 * The public catalogue: anyone reads it, signed in or not, and everyone sees
 * the same representation; only administrators change it.
 */
export class ProductsService {
  readonly #deps: ProductsServiceDeps;

  constructor(deps: ProductsServiceDeps) {
    this.#deps = deps;
  }

  async create(actor: Principal, input: NewProduct): Promise<Product> {
    requireAdmin(actor);
    NewProductInput.parse(input, domainRules(input));
    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      const saved = await this.#deps.products.insert({
        id: newId('prd', now.getTime()),
        name: input.name,
        description: input.description ?? '',
        category: input.category,
        price: input.price,
        currency: input.currency,
        stock: input.stock ?? 0,
        createdAt: now,
        updatedAt: now,
        version: 1,
      });
      await this.#deps.events.append({ type: 'product.created', resourceType: 'product', resourceId: saved.id, data: presentProduct(saved), audience: [EVERYONE] }, now);
      return saved;
    });
  }

  /** One live product; no caller needed (the catalogue is public). */
  async get(id: string): Promise<Product> {
    const product = isId(id, 'prd') ? await this.#deps.products.findById(id) : undefined;
    if (!product) throw notFound('Product');
    return product;
  }

  /** Several live products at once (includes); deleted or unknown ids are left out. */
  async getMany(ids: readonly string[]): Promise<Product[]> {
    const wanted = [...new Set(ids)].filter((id) => isId(id, 'prd'));
    return wanted.length === 0 ? [] : this.#deps.products.findByIds(wanted);
  }

  async list(filter: ProductFilter, page: PageRequest): Promise<Page<Product>> {
    const errors: FieldError[] = [];
    for (const category of filter.categories ?? []) {
      if (category.length === 0 || category.length > CATEGORY_MAX) {
        errors.push({ field: 'category', code: 'invalid_value', message: `each category must be 1 to ${CATEGORY_MAX} characters` });
        break;
      }
    }
    if (errors.length > 0) throw new AppError('INVALID_PARAMETER', 'Invalid query parameter: category', { errors });
    // price_min above price_max selects nothing (an empty page), rather than a refusal the document could not describe.
    return this.#deps.products.list(filter, page);
  }

  /** Changes a product and records `product.updated` in the same transaction. */
  async update(actor: Principal, id: string, changes: ProductChanges, expectedVersion?: number): Promise<Product> {
    requireAdmin(actor);
    ProductPatchInput.parse(changes, domainRules(changes));
    if (!isId(id, 'prd')) throw notFound('Product');
    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      const result = await this.#deps.products.update(id, changes, now, expectedVersion);
      if (result === 'version_mismatch') throw preconditionFailed();
      if (!result) throw notFound('Product');
      await this.#deps.events.append({ type: 'product.updated', resourceType: 'product', resourceId: result.id, data: presentProduct(result), audience: [EVERYONE] }, now);
      return result;
    });
  }

  /** Soft delete: the product leaves the catalogue; orders keep their items. */
  async delete(actor: Principal, id: string, expectedVersion?: number): Promise<void> {
    requireAdmin(actor);
    if (!isId(id, 'prd')) throw notFound('Product');
    const now = this.#deps.clock.now();
    await this.#deps.transactor.run(async () => {
      const product = await this.#deps.products.findById(id);
      const result = await this.#deps.products.softDelete(id, now, expectedVersion);
      if (result === 'version_mismatch') throw preconditionFailed();
      if (!result || !product) throw notFound('Product');
      // The product as it was last shown.
      await this.#deps.events.append({ type: 'product.deleted', resourceType: 'product', resourceId: product.id, data: presentProduct(product), audience: [EVERYONE] }, now);
    });
  }
}

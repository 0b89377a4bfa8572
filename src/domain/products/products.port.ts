import type { Page, PageRequest } from '../shared/page.ts';
import type { Product, ProductChanges, ProductFilter } from './products.types.ts';

/** What a successful stock take learned: the price the units were sold at. */
export interface StockTake {
  productId: string;
  price: number;
  currency: string;
}

/** What the catalogue needs from storage. Deleted products are invisible to every read. */
export interface ProductRepository {
  insert(product: Product): Promise<Product>;
  findById(id: string): Promise<Product | undefined>;
  findByIds(ids: readonly string[]): Promise<Product[]>;
  /** Applies changes and bumps the version; `version_mismatch` when expectedVersion is given and stale. */
  update(id: string, changes: ProductChanges, now: Date, expectedVersion?: number): Promise<Product | 'version_mismatch' | undefined>;
  /** Marks the product deleted; `version_mismatch` when expectedVersion is given and stale. */
  softDelete(id: string, now: Date, expectedVersion?: number): Promise<boolean | 'version_mismatch'>;
  list(filter: ProductFilter, page: PageRequest): Promise<Page<Product>>;
  /**
   * Atomically removes `quantity` units from a live product's stock (one
   * conditional UPDATE), or does nothing and answers undefined when the
   * product is gone or has fewer units. Run inside the order's transaction.
   */
  takeStock(id: string, quantity: number, now: Date): Promise<StockTake | undefined>;
  /** Puts units back (a cancelled order), deleted products included. */
  returnStock(id: string, quantity: number, now: Date): Promise<void>;
}

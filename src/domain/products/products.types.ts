import type { SortFields, SortTerm } from '../shared/page.ts';

/** A catalogue entry. Deleted products stay in storage (old orders point at them) but are invisible. */
export interface Product {
  id: string;
  name: string;
  description: string;
  category: string;
  /** Minor units of `currency`. */
  price: number;
  currency: string;
  stock: number;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface NewProduct {
  name: string;
  description?: string | undefined;
  category: string;
  price: number;
  currency: string;
  stock?: number | undefined;
}

export interface ProductChanges {
  name?: string | undefined;
  description?: string | undefined;
  category?: string | undefined;
  price?: number | undefined;
  currency?: string | undefined;
  stock?: number | undefined;
}

export interface ProductFilter {
  /** Any of these categories (exact match). */
  categories?: readonly string[] | undefined;
  priceMin?: number | undefined;
  priceMax?: number | undefined;
  /** true: stock > 0; false: stock = 0. */
  inStock?: boolean | undefined;
  /** Full-text search over name and description. */
  q?: string | undefined;
}

export const PRODUCT_NAME_MAX = 200;
export const PRODUCT_DESCRIPTION_MAX = 5_000;
export const CATEGORY_MAX = 64;
/** The stock column is a PostgreSQL integer. */
export const STOCK_MAX = 1_000_000_000;

export const PRODUCT_SORTS: SortFields<Product> = {
  created_at: (p) => p.createdAt,
  name: (p) => p.name,
  price: (p) => p.price,
};
export const PRODUCT_DEFAULT_SORT: readonly SortTerm[] = [{ field: 'created_at', descending: true }];

export function isInStock(product: Product): boolean {
  return product.stock > 0;
}

/** A product in the API's field names: what every transport and event shows (REST adds links). */
export function presentProduct(product: Product) {
  return {
    id: product.id,
    name: product.name,
    description: product.description,
    category: product.category,
    price: product.price,
    currency: product.currency,
    stock: product.stock,
    in_stock: isInStock(product),
    created_at: product.createdAt.toISOString(),
    updated_at: product.updatedAt.toISOString(),
  };
}

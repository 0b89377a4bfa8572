import { sql, type Selectable } from 'kysely';
import type { Product, ProductRepository } from '../../../domain/products/index.ts';
import { paginate, type SortColumn } from '../keyset.ts';
import type { ProductsTable } from '../schema.ts';
import { compiledOnce } from '../compiled.ts';
import type { Connection } from '../transactions.ts';

const COLUMNS = [
  'products.id',
  'products.name',
  'products.description',
  'products.category',
  'products.price',
  'products.currency',
  'products.stock',
  'products.created_at',
  'products.updated_at',
  'products.version',
] as const;

// Each is backed by a partial index (… , id) WHERE deleted_at IS NULL; every query below repeats that predicate.
const SORTS: Record<string, SortColumn> = {
  created_at: { column: 'products.created_at', type: 'timestamptz' },
  name: { column: 'products.name', type: 'text' },
  price: { column: 'products.price', type: 'bigint' },
};

type ProductRow = Pick<Selectable<ProductsTable>, 'id' | 'name' | 'description' | 'category' | 'price' | 'currency' | 'stock' | 'created_at' | 'updated_at' | 'version'>;

function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    category: row.category,
    price: Number(row.price),
    currency: row.currency,
    stock: row.stock,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

/** Whether a missed conditional write hit a missing row or a live one with another version. */
async function missOrMismatch(connection: Connection, id: string, expectedVersion: number | undefined) {
  if (expectedVersion === undefined) return undefined;
  const row = await connection().selectFrom('products').select('id').where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  return row ? ('version_mismatch' as const) : undefined;
}

export function createProductRepository(connection: Connection): ProductRepository {
  const byId = compiledOnce(connection, 1, (db, id: string) => db.selectFrom('products').select(COLUMNS).where('id', '=', id).where('deleted_at', 'is', null));
  return {
    async insert(product) {
      const row = await connection()
        .insertInto('products')
        .values({
          id: product.id,
          name: product.name,
          description: product.description,
          category: product.category,
          price: product.price,
          currency: product.currency,
          stock: product.stock,
          created_at: product.createdAt,
          updated_at: product.updatedAt,
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      return toProduct(row);
    },

    async findById(id) {
      const [row] = await byId(id);
      return row && toProduct(row);
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await connection()
        .selectFrom('products')
        .select(COLUMNS)
        .where('id', 'in', [...ids])
        .where('deleted_at', 'is', null)
        .execute();
      return rows.map(toProduct);
    },

    async update(id, changes, now, expectedVersion) {
      let query = connection()
        .updateTable('products')
        .set((eb) => ({
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.description !== undefined && { description: changes.description }),
          ...(changes.category !== undefined && { category: changes.category }),
          ...(changes.price !== undefined && { price: changes.price }),
          ...(changes.currency !== undefined && { currency: changes.currency }),
          ...(changes.stock !== undefined && { stock: changes.stock }),
          updated_at: now,
          version: eb('version', '+', 1),
        }))
        .where('id', '=', id)
        .where('deleted_at', 'is', null);
      if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
      const row = await query.returning(COLUMNS).executeTakeFirst();
      return row ? toProduct(row) : missOrMismatch(connection, id, expectedVersion);
    },

    async softDelete(id, now, expectedVersion) {
      let query = connection()
        .updateTable('products')
        .set((eb) => ({ deleted_at: now, updated_at: now, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where('deleted_at', 'is', null);
      if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
      const result = await query.executeTakeFirst();
      if (result.numUpdatedRows > 0n) return true;
      return (await missOrMismatch(connection, id, expectedVersion)) ?? false;
    },

    async list(filter, page) {
      let query = connection().selectFrom('products').select(COLUMNS).where('products.deleted_at', 'is', null);
      if (filter.categories !== undefined && filter.categories.length > 0) query = query.where('products.category', 'in', [...filter.categories]);
      if (filter.priceMin !== undefined) query = query.where('products.price', '>=', filter.priceMin);
      if (filter.priceMax !== undefined) query = query.where('products.price', '<=', filter.priceMax);
      if (filter.inStock === true) query = query.where('products.stock', '>', 0);
      if (filter.inStock === false) query = query.where('products.stock', '=', 0);
      if (filter.q !== undefined) query = query.where(sql<boolean>`products.search @@ websearch_to_tsquery('english', ${filter.q})`);
      return paginate(query, page, SORTS, 'products.id', toProduct);
    },

    async takeStock(id, quantity, now) {
      // One statement: the row lock plus the re-checked WHERE make concurrent takes queue up, never oversell.
      const row = await connection()
        .updateTable('products')
        .set((eb) => ({ stock: eb('stock', '-', quantity), updated_at: now, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .where('stock', '>=', quantity)
        .returning(['id', 'price', 'currency'])
        .executeTakeFirst();
      return row && { productId: row.id, price: Number(row.price), currency: row.currency };
    },

    async returnStock(id, quantity, now) {
      await connection()
        .updateTable('products')
        .set((eb) => ({ stock: eb('stock', '+', quantity), updated_at: now, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .execute();
    },
  };
}

/**
 * The store under the bare route and the contract ladder (bench/pipeline-server.ts, bench/pipeline-ladder.ts):
 * a pg Pool(10) on the PostgreSQL Stoa's server uses (its schema, the product Stoa created), or a PGlite of its
 * own holding the same product.
 */
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';

export const PRODUCT = { name: 'Brass gear set', description: 'Twelve precision gears.', category: 'hardware', price: 4_900, currency: 'EUR', stock: 100 };

export interface ProductRow {
  id: string;
  name: string;
  description: string;
  category: string;
  price: number | string;
  currency: string;
  stock: number;
  version?: number;
  created_at: Date;
  updated_at: Date;
}

export interface BareStore {
  productId: string;
  read(id: string): Promise<ProductRow | undefined>;
  close(): Promise<void>;
}

export async function openBareStore(databaseUrl: string, schema: string): Promise<BareStore> {
  if (databaseUrl) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
    const productId = (await pool.query<{ id: string }>('SELECT id FROM products LIMIT 1')).rows[0]!.id;
    return { productId, read: async (id) => (await pool.query<ProductRow>('SELECT * FROM products WHERE id = $1', [id])).rows[0], close: () => pool.end() };
  }
  const productId = 'prd_bench';
  const pglite = new PGlite();
  await pglite.exec(`CREATE TABLE products (id text PRIMARY KEY, name text NOT NULL, description text NOT NULL, category text NOT NULL,
    price bigint NOT NULL, currency text NOT NULL, stock integer NOT NULL, version integer NOT NULL DEFAULT 1, created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL, deleted_at timestamptz)`);
  await pglite.query('INSERT INTO products (id, name, description, category, price, currency, stock, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now())', [
    productId,
    PRODUCT.name,
    PRODUCT.description,
    PRODUCT.category,
    PRODUCT.price,
    PRODUCT.currency,
    PRODUCT.stock,
  ]);
  return { productId, read: async (id) => (await pglite.query<ProductRow>('SELECT * FROM products WHERE id = $1', [id])).rows[0], close: () => pglite.close() };
}

import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** A PostgreSQL schema of its own, for tests whose Stoa processes must not see another test's rows. */
export interface ScratchSchema {
  readonly name: string;
  /** DATABASE_URL with `search_path` set to the schema: hand it to the processes. */
  readonly databaseUrl: string;
  /** Drops the schema and everything in it; safe to call twice. */
  drop(): Promise<void>;
}

async function run(connectionString: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates `<prefix>_<time>_<random>` on the server of `DATABASE_URL`. */
export async function createScratchSchema(prefix: string, base = process.env.DATABASE_URL): Promise<ScratchSchema> {
  if (!base) throw new Error('createScratchSchema needs DATABASE_URL');
  const name = `${prefix}_${Date.now().toString(36)}_${randomUUID().slice(0, 6)}`;
  await run(base, `CREATE SCHEMA ${name}`);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${name}`);
  return { name, databaseUrl: url.toString(), drop: () => run(base, `DROP SCHEMA IF EXISTS ${name} CASCADE`) };
}

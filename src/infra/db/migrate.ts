import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { DatabaseHandle } from './database.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const FILE_NAME = /^\d{4}_[a-z0-9_]+\.sql$/;
// Arbitrary constant: every Stoa process takes this advisory lock so that several starting together migrate once.
const MIGRATION_LOCK_ID = 4_202_611;

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies every SQL file in migrations/ not applied yet, in name order, each
 * in its own transaction together with its bookkeeping row, under an advisory lock.
 */
export async function migrate(database: DatabaseHandle): Promise<MigrationResult> {
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  for (const file of files) if (!FILE_NAME.test(file)) throw new Error(`migration file name ${file} must look like 0001_name.sql`);

  return database.withScriptRunner(async (run) => {
    await run(`SELECT pg_advisory_lock(${MIGRATION_LOCK_ID})`);
    try {
      await run('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL)');
      const done = new Set((await run('SELECT name FROM schema_migrations')).map((r) => String(r.name)));
      const applied: string[] = [];
      for (const file of files) {
        if (done.has(file)) continue;
        const text = readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8');
        // The file name is checked against FILE_NAME above, so it is safe inside the literal.
        await run(`BEGIN;\n${text}\n;INSERT INTO schema_migrations (name, applied_at) VALUES ('${file}', now());\nCOMMIT;`).catch(async (error: unknown) => {
          await run('ROLLBACK').catch(() => {});
          throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
        });
        applied.push(file);
      }
      return { applied };
    } finally {
      await run(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_ID})`);
    }
  });
}

import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { Kysely, PGliteDialect, PostgresDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import type { Database } from './schema.ts';
import { unavailableAs503 } from './unavailable.ts';

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  /** postgres:// URL; when absent the embedded PGlite is used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory, or `memory`. */
  dataDir: string;
  /** PostgreSQL schema to work in (tests isolate themselves this way). */
  schema?: string | undefined;
  /** Called once per executed query (query counting in tests, slow-query logs). */
  onQuery?: ((event: LogEvent) => void) | undefined;
  poolSize?: number;
}

/** Runs SQL text (several statements allowed, no parameters) and returns the last statement's rows. */
export type ScriptRunner = (sql: string) => Promise<Array<Record<string, unknown>>>;

export interface DatabaseHandle {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Runs `work` on one dedicated connection with a multi-statement script runner (migrations). */
  withScriptRunner<T>(work: (run: ScriptRunner) => Promise<T>): Promise<T>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const INT8_OID = 20;

// int8 (bigint) columns hold money and sequences well inside 2^53: read them as numbers.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** Distinct statement texts given a name; beyond them (texts built from variable lists) statements go unnamed. */
const MAX_NAMED_STATEMENTS = 1_000;
const statementNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) statementNames.set(text, (name = `stoa_${statementNames.size}`));
  return name;
}

/**
 * A pg client that names every parameterised statement after its text, so each connection parses and plans it
 * once and then only binds and executes it (measured +26 % on a primary-key read). The text is what Kysely
 * compiles; the same text always gets the same name, in every pool of the process. Statements without
 * parameters (BEGIN, scripts of several statements) keep the simple protocol, as before.
 */
class NamingClient extends pg.Client {
  override query(...args: unknown[]): never {
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && args.length === 2) {
      const name = statementName(text);
      if (name !== undefined) return super.query({ name, text, values } as never) as never;
    }
    return (super.query as (...rest: unknown[]) => never)(...args);
  }
}

/** Opens Kysely over PostgreSQL (`pg`) when a URL is given, else over PGlite. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const log = options.onQuery;
  if (options.databaseUrl) {
    const schema = options.schema;
    if (schema) {
      if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
      const admin = new pg.Client({ connectionString: options.databaseUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      } finally {
        await admin.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      Client: NamingClient,
      types: pgTypes,
      connectionTimeoutMillis: 5_000,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // A client that loses its server must not crash the process: pg emits 'error' on it whether it is idle (the
    // pool's listener) or checked out by a request (the listener added here). The request's own query fails, and
    // the pool drops a client that is no longer usable when it comes back.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: unavailableAs503(pool) }), ...(log ? { log } : {}) });
    return {
      db,
      kind: 'postgres',
      async withScriptRunner(work) {
        const client = await pool.connect();
        try {
          // Without parameters pg uses the simple query protocol, which accepts several statements.
          return await work(async (text) => {
            const result = (await client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
            const last = Array.isArray(result) ? result[result.length - 1] : result;
            return (last?.rows ?? []) as Array<Record<string, unknown>>;
          });
        } finally {
          client.release();
        }
      },
      async ping() {
        const client = await pool.connect();
        try {
          await client.query('SELECT 1');
        } finally {
          client.release();
        }
      },
      close: once(() => db.destroy()),
    };
  }

  const inMemory = options.dataDir === 'memory';
  const isNew = inMemory || !existsSync(`${options.dataDir}/PG_VERSION`);
  if (!inMemory) mkdirSync(options.dataDir, { recursive: true });
  const template = isNew ? initdbTemplate() : undefined;
  // A new data directory starts as a copy of the template directory; only an in-memory database loads the archive.
  if (template && !inMemory) cpSync(template.directory, options.dataDir, { recursive: true });
  const pglite = new PGlite({
    ...(inMemory ? {} : { dataDir: options.dataDir }),
    ...(template && inMemory ? { loadDataDir: new Blob([readFileSync(template.archive)]) } : {}),
    postgresqlconf: `shared_buffers = ${PGLITE_SHARED_BUFFERS}`,
    parsers: { [INT8_OID]: (value: string) => Number(value) },
  });
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }), ...(log ? { log } : {}) });
  return {
    db,
    kind: 'pglite',
    async withScriptRunner(work) {
      return work(async (text) => {
        const results = await pglite.exec(text);
        return (results[results.length - 1]?.rows ?? []) as Array<Record<string, unknown>>;
      });
    },
    async ping() {
      await pglite.query('SELECT 1');
    },
    close: once(() => db.destroy()),
  };
}

/**
 * PostgreSQL's default of 128 MB of shared buffers is sized for a server with an OS page cache behind it.
 * PGlite keeps every buffer in WebAssembly memory that is never returned, while its files already sit in
 * memory (MEMFS) or in the OS cache (a data directory): a small pool halves the resident size at rest.
 */
const PGLITE_SHARED_BUFFERS = '16MB';

/**
 * The empty cluster that `npm install` saved (scripts/build.mjs) for this PGlite version, as a directory and
 * as an archive: starting from it costs a fraction of running initdb. Without it (a checkout that skipped the
 * build), PGlite runs initdb itself.
 */
function initdbTemplate(): { directory: URL; archive: URL } | undefined {
  try {
    const packageJson = new URL('../package.json', import.meta.resolve('@electric-sql/pglite'));
    const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
    const directory = new URL(`../../../dist/pglite-${version}/`, import.meta.url);
    const archive = new URL(`../../../dist/pglite-${version}.tar.gz`, import.meta.url);
    return existsSync(new URL('PG_VERSION', directory)) && existsSync(archive) ? { directory, archive } : undefined;
  } catch {
    return undefined;
  }
}

/** Wraps a close function so a second call waits on the first instead of failing. */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { sql } from 'kysely';
import { makeFixtures, type Fixtures, type Headers } from '../../test/helpers/api-walk.ts';
import type { SignedUp } from '../../test/helpers/app.ts';
import { world, READ_SCOPES, type World } from '../../test/helpers/world.ts';

/** Who sends a request. `a`-owned actors act for user A, `b`-owned for user B. */
export const ACTORS = ['anonymous', 'a', 'b', 'admin', 'a-key-posts-read', 'b-key-read-only', 'forged-token', 'forged-key'] as const;
export type Actor = (typeof ACTORS)[number];
export type Owner = 'a' | 'b';

export const ACTOR_OWNER: Record<Actor, Owner | undefined> = {
  anonymous: undefined,
  a: 'a',
  b: 'b',
  admin: undefined,
  'a-key-posts-read': 'a',
  'b-key-read-only': 'b',
  'forged-token': undefined,
  'forged-key': undefined,
};

/** The scopes of each API-key actor (the rest present a session, which holds every scope). */
export const ACTOR_SCOPES: Partial<Record<Actor, readonly string[]>> = {
  'a-key-posts-read': ['posts:read'],
  'b-key-read-only': READ_SCOPES,
};

/**
 * Columns that change without a request: an API key's last use is bookkeeping
 * of the attempt itself, and the payment processor settles a charge on its own
 * a moment after it is made.
 */
const MOVES_ON_ITS_OWN: Record<string, string[]> = {
  api_keys: ['last_used_at'],
  charges: ['status', 'failure_code', 'updated_at', 'version', 'submitted_at'],
};

type KeyActor = 'a-key-posts-read' | 'b-key-read-only';

/** Tables whose rows a refused request must leave alone (logs, queues and counters may move). */
const STATE_TABLES = ['users', 'api_keys', 'posts', 'comments', 'products', 'orders', 'order_items', 'charges', 'follows', 'webhook_endpoints', 'user_avatars'];

/**
 * The Stoa under test: in-process on the embedded database (or PostgreSQL in a
 * scratch schema when DATABASE_URL is set), two users with one resource of
 * every kind each, an administrator and scoped keys.
 */
export class Target {
  readonly w: World;
  #users: Record<Owner, SignedUp>;
  #keys: Record<KeyActor, Headers>;
  fixtures: Record<Owner, Fixtures>;

  private constructor(w: World, keys: Record<KeyActor, Headers>, fixtures: Record<Owner, Fixtures>) {
    this.w = w;
    this.#users = { a: w.ada, b: w.bob };
    this.#keys = keys;
    this.fixtures = fixtures;
  }

  #origin: { port: number } | undefined;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  /** Listens on a local port: requests go over real HTTP, as a client's would (no URL normalised on the way). */
  async listen(): Promise<void> {
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.#origin = { port: (this.app.server.address() as AddressInfo).port };
  }

  /** Sends a request over HTTP; `undefined` when Node's client refuses to send it at all (a header it cannot encode). */
  send(options: Omit<InjectOptions, 'method'> & { method: string; url: string }): Promise<{ statusCode: number; headers: http.IncomingHttpHeaders; body: string } | undefined> {
    const payload = options.payload === undefined ? undefined : Buffer.from(String(options.payload));
    const headers = { ...(options.headers as Record<string, string>), ...(payload ? { 'content-length': String(payload.length) } : {}) };
    return new Promise((resolve, reject) => {
      let request: http.ClientRequest;
      try {
        request = http.request({ host: '127.0.0.1', port: this.#origin!.port, method: options.method, path: options.url, headers, agent: this.#agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
      } catch {
        resolve(undefined);
        return;
      }
      request.on('error', reject);
      request.end(payload);
    });
  }

  static async start(): Promise<Target> {
    const w = await world({ env: { STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    const keys = { 'a-key-posts-read': await w.apiKey(w.ada, ACTOR_SCOPES['a-key-posts-read']!), 'b-key-read-only': await w.apiKey(w.bob, ACTOR_SCOPES['b-key-read-only']!) };
    return new Target(w, keys, { a: await makeFixtures(w, w.ada), b: await makeFixtures(w, w.bob) });
  }

  get app() {
    return this.w.app;
  }

  user(owner: Owner): SignedUp {
    return this.#users[owner];
  }

  headersOf(actor: Actor): Headers {
    switch (actor) {
      case 'anonymous':
        return {};
      case 'a':
      case 'b':
        return this.#users[actor].auth;
      case 'admin':
        return this.w.admin.auth;
      case 'forged-token':
        return { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c3JfYWRtaW4iLCJyb2xlIjoiYWRtaW4ifQ.' };
      case 'forged-key':
        // The apiKeyHeader scheme with a key nobody issued, as Schemathesis's ignored_auth sends.
        return { 'x-api-key': 'sk_live_0000000000000000000000000000000000000000' };
      default:
        return this.#keys[actor];
    }
  }

  /** Ids of `owner`'s resources that nobody else may read (orders, charges, keys, endpoints, deliveries, jobs). */
  privateIds(owner: Owner): string[] {
    const f = this.fixtures[owner];
    return ['orders', 'order-items', 'charges', 'api-keys', 'webhook-endpoints', 'webhook-deliveries', 'jobs'].map((c) => f[c]!).filter((id) => id && !id.endsWith('_unknown'));
  }

  /** One digest per state table, for proving a refused request changed nothing. */
  async digest(): Promise<Record<string, string>> {
    const parts = STATE_TABLES.map((t) => {
      const row = sql`(to_jsonb(r) - ${sql.raw(`array[${(MOVES_ON_ITS_OWN[t] ?? ['last_used_at']).map((c) => `'${c}'`).join(', ')}]`)})::text`;
      return sql`select ${t} as t, md5(coalesce(string_agg(${row}, '|' order by ${row}), '')) as h from ${sql.table(t)} r`;
    });
    const { rows } = await sql<{ t: string; h: string }>`${sql.join(parts, sql` union all `)}`.execute(this.w.t.container.database.db);
    return Object.fromEntries(rows.map((r) => [r.t, r.h]));
  }

  /**
   * After a write that succeeded: makes sure A and B are still ordinary,
   * active users holding their keys, and that each owns one live resource of
   * every kind (a deleted, cancelled or revoked fixture is made again).
   */
  async heal(owners: Owner[]): Promise<void> {
    for (const owner of owners) {
      const me = await this.app.inject({ method: 'GET', url: '/v2/me', headers: this.#users[owner].auth });
      const data = me.statusCode === 200 ? (me.json().data as { role?: string; status?: string }) : undefined;
      if (!data || data.role !== 'user' || (data.status !== undefined && data.status !== 'active')) {
        this.#users[owner] = await this.w.newUser(owner === 'a' ? 'Ada again' : 'Bob again');
        const key: KeyActor = owner === 'a' ? 'a-key-posts-read' : 'b-key-read-only';
        this.#keys[key] = await this.w.apiKey(this.#users[owner], ACTOR_SCOPES[key]!);
      }
      this.fixtures[owner] = await makeFixtures(this.w, this.#users[owner]);
    }
  }

  close(): Promise<void> {
    this.#agent.destroy();
    return this.w.close();
  }
}

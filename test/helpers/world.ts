import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createTestApp, signUp, signUpAdmin, type SignedUp, type TestApp } from './app.ts';

/** Every scope a read-only API key carries in the standard world. */
export const READ_SCOPES = ['users:read', 'posts:read', 'orders:read', 'charges:read'] as const;
/** Every scope a read-write API key carries in the standard world. */
export const WRITE_SCOPES = ['users:read', 'users:write', 'posts:read', 'posts:write', 'orders:read', 'orders:write', 'charges:read', 'charges:write'] as const;

/** The headers that present an API key. */
export type ApiKeyHeaders = { 'x-api-key': string };

export interface ProductFields {
  name?: string;
  category?: string;
  price?: number;
  currency?: string;
  stock?: number;
  description?: string;
}

export interface World {
  t: TestApp;
  app: FastifyInstance;
  /** Signed-up users, each with an access token. */
  ada: SignedUp;
  bob: SignedUp;
  /** An administrator, made the way a deployment makes one. */
  admin: SignedUp;
  /** A new user, signed up and in. */
  newUser(name?: string): Promise<SignedUp>;
  /** An API key of `owner` with these scopes. */
  apiKey(owner: SignedUp, scopes: readonly string[]): Promise<ApiKeyHeaders>;
  /** A product made by the administrator (500 EUR minor units, stock 10 unless told otherwise); its id. */
  product(fields?: ProductFields): Promise<string>;
  /** A pending order placed by `who`; its JSON representation. */
  order(who: SignedUp, items: Array<{ product_id: string; quantity: number }>): Promise<Record<string, unknown> & { id: string }>;
  /** A post by `who`; its id. */
  post(who: SignedUp, fields?: { title?: string; content?: string }): Promise<string>;
  /** A comment by `who` on `postId`; its id. */
  comment(who: SignedUp, postId: string, content?: string): Promise<string>;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** Environment for createTestApp. */
  env?: Record<string, string>;
}

/**
 * The standard test world: an app (embedded database, or PostgreSQL and Redis
 * when DATABASE_URL / REDIS_URL are set), Ada and Bob signed in, and an
 * administrator, plus factories for the things most tests need. Fixtures are
 * made over REST v2 (`app.inject`); the test decides what it exercises.
 */
export async function world(options: WorldOptions = {}): Promise<World> {
  const t = await createTestApp(options.env);
  const app = t.app;
  const ada = await signUp(app, { name: 'Ada' });
  const bob = await signUp(app, { name: 'Bob' });
  const admin = await signUpAdmin(t);
  const created = async (url: string, headers: Record<string, string>, payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url, headers, payload });
    assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
    return res.json().data as Record<string, unknown> & { id: string };
  };
  return {
    t,
    app,
    ada,
    bob,
    admin,
    newUser: (name = 'Newcomer') => signUp(app, { name }),
    async apiKey(owner, scopes) {
      const key = await created('/v2/api-keys', owner.auth, { name: `key ${scopes.join(' ')}`.slice(0, 100), scopes: [...scopes] });
      return { 'x-api-key': key.secret as string };
    },
    async product(fields = {}) {
      const payload = { name: 'Widget', category: `cat-${randomBytes(3).toString('hex')}`, price: 500, currency: 'EUR', stock: 10, ...fields };
      return (await created('/v2/products', admin.auth, payload)).id;
    },
    order: (who, items) => created('/v2/orders', { ...who.auth, 'idempotency-key': randomUUID() }, { items }),
    async post(who, fields = {}) {
      return (await created('/v2/posts', who.auth, { title: 'A title', content: 'Some content', ...fields })).id;
    },
    async comment(who, postId, content = 'A comment') {
      return (await created(`/v2/posts/${postId}/comments`, who.auth, { content })).id;
    },
    close: () => t.close(),
  };
}

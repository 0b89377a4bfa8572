import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { SignedUp } from '../helpers/app.ts';
import { world, READ_SCOPES, WRITE_SCOPES, type ApiKeyHeaders, type World } from '../helpers/world.ts';
import type { ActorName, FixtureName } from './case.ts';
import type { Actor } from './drivers/driver.ts';

/** Plenty, so that the orders of every case never exhaust a shared product. */
const PLENTY = 100_000;

/**
 * What each fixture is. Fixtures are made over REST v2 whatever the driver
 * under test: they are the world the operation meets, not the operation.
 */
const FIXTURES: Record<FixtureName, (w: World) => Promise<string>> = {
  product: (w) => w.product({ price: 500, stock: PLENTY }),
  pricyProduct: (w) => w.product({ price: 1250, stock: PLENTY }),
  usdProduct: (w) => w.product({ price: 300, currency: 'USD', stock: PLENTY }),
  scarceProduct: (w) => w.product({ price: 500, stock: 2 }),
  soldOutProduct: (w) => w.product({ stock: 0 }),
  async deletedProduct(w) {
    const id = await w.product();
    const res = await w.app.inject({ method: 'DELETE', url: `/v2/products/${id}`, headers: w.admin.auth });
    assert.equal(res.statusCode, 204, res.body);
    return id;
  },
  adaPost: (w) => w.post(w.ada, { title: 'A title', content: 'Some content' }),
  bobPost: (w) => w.post(w.bob),
  async bobComment(w) {
    return w.comment(w.bob, await w.post(w.ada), 'A comment');
  },
  async adaOrder(w) {
    return (await w.order(w.ada, [{ product_id: await FIXTURES.product(w), quantity: 1 }])).id;
  },
  async bobOrder(w) {
    return (await w.order(w.bob, [{ product_id: await FIXTURES.product(w), quantity: 1 }])).id;
  },
  async adaCharge(w) {
    const res = await w.app.inject({
      method: 'POST',
      url: '/v2/charges',
      headers: { ...w.ada.auth, 'idempotency-key': randomUUID() },
      payload: { amount: 700, currency: 'EUR', source: 'tok_visa' },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().data.id;
  },
};

/** The world of one case: its newcomer, its fresh fixtures, its email. */
export interface CaseScope {
  newcomer?: Promise<SignedUp>;
  fresh: Map<FixtureName, Promise<string>>;
  email?: string;
  idempotencyKeys: Map<string, string>;
  /** The head of the event log when the case began (cases that read the event feed). */
  caseStart?: number;
}

export interface ContractWorld {
  base: World;
  actor(name: ActorName, scope: CaseScope): Promise<Actor>;
  user(name: ActorName, scope: CaseScope): Promise<SignedUp>;
  /** A fixture shared by the whole world, made on first use. */
  shared(name: FixtureName): Promise<string>;
  /** A fixture made for the case. */
  fresh(name: FixtureName, scope: CaseScope): Promise<string>;
  /** The sequence of the last event committed. */
  eventHead(): Promise<number>;
  close(): Promise<void>;
}

/** The world the contract tables run in: the standard world plus Ada's API keys and the fixtures above. */
export async function contractWorld(): Promise<ContractWorld> {
  const base = await world();
  const keys: Record<'adaReadOnlyKey' | 'adaKey' | 'adaPostsKey', ApiKeyHeaders> = {
    adaReadOnlyKey: await base.apiKey(base.ada, READ_SCOPES),
    adaKey: await base.apiKey(base.ada, WRITE_SCOPES),
    adaPostsKey: await base.apiKey(base.ada, ['posts:read']),
  };
  const shared = new Map<FixtureName, Promise<string>>();
  const user = async (name: ActorName, scope: CaseScope): Promise<SignedUp> => {
    switch (name) {
      case 'ada':
      case 'adaReadOnlyKey':
      case 'adaKey':
      case 'adaPostsKey':
        return base.ada;
      case 'bob':
        return base.bob;
      case 'admin':
        return base.admin;
      case 'newcomer':
        return (scope.newcomer ??= base.newUser('Newcomer'));
      case 'anonymous':
        throw new Error('anonymous is no user');
    }
  };
  return {
    base,
    user,
    async actor(name, scope) {
      if (name === 'anonymous') return { name, credential: null };
      if (name === 'adaReadOnlyKey' || name === 'adaKey' || name === 'adaPostsKey') return { name, credential: { type: 'api_key', key: keys[name]['x-api-key'] }, user: base.ada };
      const who = await user(name, scope);
      return { name, credential: { type: 'access_token', token: who.accessToken }, user: who };
    },
    shared(name) {
      let made = shared.get(name);
      if (!made) shared.set(name, (made = FIXTURES[name](base)));
      return made;
    },
    fresh(name, scope) {
      // Placeholders resolve concurrently: memoise the promise, so one case makes each fixture once.
      let made = scope.fresh.get(name);
      if (!made) scope.fresh.set(name, (made = FIXTURES[name](base)));
      return made;
    },
    eventHead: () => base.t.container.realtime.feed.head(),
    close: () => base.close(),
  };
}

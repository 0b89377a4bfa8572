import type { SignedUp } from '../../helpers/app.ts';
import type { ContractWorld } from '../world.ts';
import type { Actor } from './driver.ts';

/** An event as the feed shows it (GET /v1/events, SSE `data`, WebSocket `event`). */
export interface FeedEvent {
  sequence: number;
  type: string;
  resource_id: string;
  [key: string]: unknown;
}

/** How long a stream may take to pass its sentinels before the read fails. */
export const CATCH_UP_MS = 10_000;

/** Makes the world's app listen on an ephemeral port; its base URL. */
export async function listen(world: ContractWorld): Promise<string> {
  const { app } = world.base;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('the app listens on no TCP port');
  return `http://127.0.0.1:${address.port}`;
}

/** Whose post can pass the read: the channel's user for `posts:<user id>`, else the caller's own. */
function sentinelAuthor(world: ContractWorld, actor: Actor, input: Record<string, unknown>): SignedUp {
  const channel = input.channel;
  if (typeof channel === 'string' && channel.startsWith('posts:')) {
    const owner = [world.base.ada, world.base.bob, world.base.admin].find((u) => u.id === channel.slice('posts:'.length));
    if (!owner) throw new Error(`no sentinel for ${channel}: its user is not ada, bob or admin`);
    return owner;
  }
  if (!actor.user) throw new Error(`no sentinel for ${actor.name}: it acts as no user`);
  return actor.user;
}

/**
 * When a stream has delivered every event of a case. A stream delivers only
 * what the caller may see and the read selects, in sequence order, and says
 * nothing when it has nothing to say; so the driver commits, once the case's
 * own steps are done, a post and then an order (over REST v2) by the caller's
 * user — by the channel's user for `posts:<user id>` — and reads until the
 * first event about either arrives. Everything the case committed has a lower
 * sequence than both, so by then the stream has delivered all of it that it
 * ever will; what came before that event is the read's data. A post is seen
 * by every caller with `posts:read` (or no scopes), an order by every caller
 * with `orders:read` on the feed or the `orders` channel, so each case of
 * events.cases.ts lets one of them through; one that lets neither through
 * fails after CATCH_UP_MS. The read starts after an explicit sequence, so a
 * sentinel cannot be missed however early it commits.
 * Returns the resource ids of the sentinels.
 */
export async function commitSentinels(world: ContractWorld, actor: Actor, input: Record<string, unknown>): Promise<Set<string>> {
  const author = sentinelAuthor(world, actor, input);
  const post = await world.base.post(author, { title: 'Sentinel', content: 'The stream has passed the case' });
  const order = await world.base.order(author, [{ product_id: await world.shared('product'), quantity: 1 }]);
  return new Set([post, order.id]);
}

/** The events before the first one about a sentinel; undefined while none has arrived. */
export function beforeSentinel(events: readonly FeedEvent[], sentinels: ReadonlySet<string>): FeedEvent[] | undefined {
  const at = events.findIndex((e) => sentinels.has(e.resource_id));
  return at < 0 ? undefined : events.slice(0, at);
}

import { isDeepStrictEqual } from 'node:util';
import { PASSWORD } from '../../helpers/app.ts';
import { caseStart, dig, newEmail, output, ref, type CheckContext, type Table } from '../case.ts';

/**
 * Reading the event feed: who sees which event, and the types filter.
 *
 * `events.read` takes `after` (a sequence: here always `caseStart`, the head
 * of the log before the case's `given` steps), optionally `types` (event
 * types or families, `order.*`) and, where the transport has channels,
 * `channel` (`events` when absent, `orders`, `posts:<user id>`). Its data is
 * the list of events the caller sees after `after`, oldest first, each as
 * `GET /v1/events` shows it. A stream driver reads until a sentinel it commits
 * once the case is done has passed (see drivers/event-stream.ts), so every
 * case must let one through: a post or an order by the caller's user.
 *
 * Cases share their world, and charges are decided asynchronously, so the
 * list may hold events of other cases: the checks look only at the events
 * about the resources the case's own steps made.
 */

interface ShownEvent {
  type: string;
  resource_id: string;
}

/** The events about what `given[step]` made (its `id`) are exactly these types, in commit order. */
function about(step: number, types: readonly string[]) {
  return (events: unknown, ctx: CheckContext): boolean => {
    const id = dig(ctx.given[step], 'id');
    if (typeof id !== 'string' || !Array.isArray(events)) return false;
    return isDeepStrictEqual((events as ShownEvent[]).filter((e) => e.resource_id === id).map((e) => e.type), types);
  };
}

/** `count` distinct valid patterns that match no event type. */
const padding = (count: number) => Array.from({ length: count }, (_, i) => `no_such_family_${String.fromCharCode(97 + Math.floor(i / 26), 97 + (i % 26))}.*`);

/** Every check holds. */
function all(...checks: Array<(events: unknown, ctx: CheckContext) => boolean>) {
  return (events: unknown, ctx: CheckContext): boolean => checks.every((check) => check(events, ctx));
}

const adaOrders = { actor: 'ada', operation: 'orders.create', input: { items: [{ product_id: ref('product'), quantity: 1 }] } } as const;
const adaPosts = { actor: 'ada', operation: 'posts.create', input: { title: 'Heard of it?', content: 'An event' } } as const;
const adaCharges = { actor: 'ada', operation: 'charges.create', input: { amount: 900, currency: 'EUR', source: 'tok_visa' } } as const;
const someoneSignsUp = { actor: 'anonymous', operation: 'users.create', input: { email: newEmail, display_name: 'Signed Up', password: PASSWORD } } as const;
const newcomerRenames = { actor: 'newcomer', operation: 'users.update', input: { id: ref('newcomer.id'), display_name: 'Renamed' } } as const;

export const EVENTS: Table = {
  area: 'events',
  cases: [
    { name: 'a user sees her own order being created', actor: 'ada', operation: 'events.read', given: [adaOrders], input: { after: caseStart }, expect: { ok: about(0, ['order.created']) } },
    { name: "a user never sees another user's order", actor: 'bob', operation: 'events.read', given: [adaOrders], input: { after: caseStart }, expect: { ok: about(0, []) } },
    {
      name: "a user never sees another user's charge",
      actor: 'bob',
      operation: 'events.read',
      given: [adaCharges],
      input: { after: caseStart },
      expect: { ok: about(0, []) },
    },
    {
      name: "an administrator sees every user's orders and posts",
      actor: 'admin',
      operation: 'events.read',
      given: [adaOrders, adaPosts],
      input: { after: caseStart },
      expect: { ok: all(about(0, ['order.created']), about(1, ['post.created'])) },
    },
    {
      name: "everyone sees a user's post",
      actor: 'bob',
      operation: 'events.read',
      given: [adaPosts],
      input: { after: caseStart },
      expect: { ok: about(0, ['post.created']) },
    },
    { name: "an administrator sees a user's sign-up", actor: 'admin', operation: 'events.read', given: [someoneSignsUp], input: { after: caseStart }, expect: { ok: about(0, ['user.created']) } },
    { name: "a user never sees another user's sign-up", actor: 'bob', operation: 'events.read', given: [someoneSignsUp], input: { after: caseStart }, expect: { ok: about(0, []) } },
    { name: "everyone sees a user's profile change", actor: 'bob', operation: 'events.read', given: [newcomerRenames], input: { after: caseStart }, expect: { ok: about(0, ['user.updated']) } },
    {
      name: 'an API key with posts:read alone sees posts, never orders or charges',
      actor: 'adaPostsKey',
      operation: 'events.read',
      given: [adaOrders, adaCharges, adaPosts],
      input: { after: caseStart },
      expect: { ok: all(about(0, []), about(1, []), about(2, ['post.created'])) },
    },
    { name: 'an API key without users:read never sees profile changes', actor: 'adaPostsKey', operation: 'events.read', given: [newcomerRenames], input: { after: caseStart }, expect: { ok: about(0, []) } },
    {
      name: "an API key with every read scope sees its owner's orders",
      actor: 'adaReadOnlyKey',
      operation: 'events.read',
      given: [adaOrders],
      input: { after: caseStart },
      expect: { ok: about(0, ['order.created']) },
    },
    {
      name: 'a family filter selects that family',
      actor: 'ada',
      operation: 'events.read',
      given: [adaPosts, adaOrders, { actor: 'ada', operation: 'orders.cancel', input: { id: output(1, 'id') } }],
      input: { after: caseStart, types: ['order.*'] },
      expect: { ok: all(about(0, []), about(1, ['order.created', 'order.cancelled'])) },
    },
    {
      name: 'an exact type selects that type',
      actor: 'ada',
      operation: 'events.read',
      given: [adaPosts, adaOrders, { actor: 'ada', operation: 'orders.cancel', input: { id: output(1, 'id') } }],
      input: { after: caseStart, types: ['order.created'] },
      expect: { ok: all(about(0, []), about(1, ['order.created'])) },
    },
    {
      name: 'several patterns select the union',
      actor: 'ada',
      operation: 'events.read',
      given: [adaPosts, adaOrders, adaCharges],
      input: { after: caseStart, types: ['post.created', 'charge.created'] },
      expect: { ok: all(about(0, ['post.created']), about(1, []), about(2, ['charge.created'])) },
    },
    {
      name: '* selects every type',
      actor: 'ada',
      operation: 'events.read',
      given: [adaPosts, adaOrders],
      input: { after: caseStart, types: ['*'] },
      expect: { ok: all(about(0, ['post.created']), about(1, ['order.created'])) },
    },
    // The bounds of a filter are the domain's (checkTypePatterns), not one transport's encoding of it.
    { name: 'takes 50 patterns', actor: 'ada', operation: 'events.read', given: [adaPosts], input: { after: caseStart, types: ['post.created', ...padding(49)] }, expect: { ok: about(0, ['post.created']) } },
    { name: 'refuses 51 patterns', actor: 'ada', operation: 'events.read', input: { after: caseStart, types: ['post.created', ...padding(50)] }, expect: { error: 'INVALID_PARAMETER' } },
    { name: 'takes patterns of 64 characters', actor: 'ada', operation: 'events.read', given: [adaPosts], input: { after: caseStart, types: ['post.created', 'p'.repeat(64), `${'p'.repeat(62)}.*`] }, expect: { ok: about(0, ['post.created']) } },
    { name: 'refuses a pattern of 65 characters', actor: 'ada', operation: 'events.read', input: { after: caseStart, types: ['post.created', 'p'.repeat(65)] }, expect: { error: 'INVALID_PARAMETER' } },
    { name: 'refuses a type pattern that is no event type', actor: 'ada', operation: 'events.read', input: { after: caseStart, types: ['Order.Created!'] }, expect: { error: 'INVALID_PARAMETER' } },
    { name: 'refuses a pattern with a wildcard inside', actor: 'ada', operation: 'events.read', input: { after: caseStart, types: ['order.*.x'] }, expect: { error: 'INVALID_PARAMETER' } },
    { name: 'needs a caller', actor: 'anonymous', operation: 'events.read', input: { after: caseStart }, expect: { error: 'UNAUTHENTICATED' } },
    // Channels: a transport without them (REST, SSE, GraphQL's `events`) skips these.
    {
      name: "the orders channel carries the caller's orders alone",
      actor: 'ada',
      operation: 'events.read',
      given: [adaPosts, adaOrders],
      input: { after: caseStart, channel: 'orders' },
      expect: { ok: all(about(0, []), about(1, ['order.created'])) },
    },
    { name: "the orders channel never carries another user's order", actor: 'bob', operation: 'events.read', given: [adaOrders], input: { after: caseStart, channel: 'orders' }, expect: { ok: about(0, []) } },
    { name: 'the orders channel needs orders:read', actor: 'adaPostsKey', operation: 'events.read', input: { after: caseStart, channel: 'orders' }, expect: { error: 'INSUFFICIENT_SCOPE' } },
    {
      name: "a user's posts channel carries her posts, not her orders",
      actor: 'bob',
      operation: 'events.read',
      given: [adaPosts, adaOrders],
      input: { after: caseStart, channel: ref('ada.id', (id) => `posts:${id}`) },
      expect: { ok: all(about(0, ['post.created']), about(1, [])) },
    },
  ],
};

import type { GraphQLFieldResolver } from 'graphql';
import type { StoredEvent } from '../../../domain/events/index.ts';
import { AppError } from '../../../domain/shared/errors.ts';
import { requireScope, type Principal } from '../../../domain/shared/principal.ts';
import { resolveChannel, userPostsAuthorization } from '../../../platform/realtime/index.ts';
import { actorOf, type GraphqlContext } from '../context.ts';
import { hubEvents } from '../event-source.ts';
import { createLoaders } from '../loaders.ts';

/** A subscription field: `subscribe` authorizes and opens the event stream, `resolve` turns each event into the field's value. */
export interface SubscriptionField {
  // Each resolver narrows its own arguments.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  subscribe: GraphQLFieldResolver<unknown, GraphqlContext, any>;
  resolve: GraphQLFieldResolver<StoredEvent, GraphqlContext>;
}

/** The order events that change an order's status. */
export const ORDER_STATUS_EVENTS = ['order.confirmed', 'order.cancelled', 'order.status_changed'];

/** `after` of `events`: the sequence of the last event received (Event.sequence, as SSE's Last-Event-ID). */
function sequenceOf(after: string | null | undefined): number | undefined {
  if (after === null || after === undefined) return undefined;
  if (!/^\d{1,15}$/.test(after)) {
    throw new AppError('VALIDATION_FAILED', 'Invalid fields: after', { errors: [{ field: 'after', code: 'invalid_value', message: 'must be the sequence of an event (Event.sequence), as a decimal string' }] });
  }
  return Number(after);
}

/** Opens the stream once the hub has the subscriber (a replay from `after` done), so a refusal is an `error` message before any event. */
async function open(context: GraphqlContext, accepts: (event: StoredEvent) => boolean, after?: number): Promise<AsyncIterableIterator<StoredEvent>> {
  const stream = hubEvents(context.deps.realtime.hub, actorOf(context), accepts, after);
  await stream.ready;
  return stream;
}

/** Each delivery reads the resource as the subscriber may see it now, with loaders of its own (nothing cached across events). */
function fresh(context: GraphqlContext): Principal {
  const actor = actorOf(context);
  context.loaders = createLoaders(context.deps, actor);
  return actor;
}

/**
 * `Subscription` fields, fed by the event feed through the process's hub:
 * visibility is `canSee` (in the hub); each field adds the read check REST
 * makes for the same data (the `posts:<user id>` and `orders` channel rules
 * of /v1/ws, a post's or an order's lookup), so a refusal carries REST's code.
 */
export const subscriptionResolvers: Record<'Subscription', Record<string, SubscriptionField>> = {
  Subscription: {
    postCreated: {
      subscribe: async (_root, { authorId }: { authorId?: string | null }, context) => {
        const actor = actorOf(context);
        requireScope(actor, 'posts:read');
        const channel = await resolveChannel(actor, authorId ? `posts:${authorId}` : 'events', ['post.created'], userPostsAuthorization(context.deps.posts));
        return open(context, channel.kind === 'chat' ? () => false : (event) => event.type === 'post.created' && channel.accepts(event));
      },
      resolve: (event, _args, context) => context.deps.posts.get(fresh(context), event.resourceId),
    },
    commentAdded: {
      subscribe: async (_root, { postId }: { postId: string }, context) => {
        // REST's GET /posts/{id}: NOT_FOUND for a post the caller may not see, INSUFFICIENT_SCOPE without posts:read.
        await context.deps.posts.get(actorOf(context), postId);
        return open(context, (event) => event.type === 'comment.created' && event.data.post_id === postId);
      },
      resolve: (event, _args, context) => context.deps.posts.getComment(fresh(context), event.resourceId),
    },
    orderStatusChanged: {
      subscribe: async (_root, { orderId }: { orderId?: string | null }, context) => {
        const actor = actorOf(context);
        const channel = await resolveChannel(actor, 'orders', ORDER_STATUS_EVENTS, userPostsAuthorization(context.deps.posts));
        if (orderId) await context.deps.orders.get(actor, orderId);
        return open(context, (event) => channel.kind !== 'chat' && channel.accepts(event) && (!orderId || event.resourceId === orderId));
      },
      resolve: (event, _args, context) => context.deps.orders.get(fresh(context), event.resourceId),
    },
    events: {
      subscribe: async (_root, { types, after }: { types?: string[] | null; after?: string | null }, context) => {
        const actor = actorOf(context);
        const channel = await resolveChannel(actor, 'events', types ?? undefined, userPostsAuthorization(context.deps.posts));
        const from = sequenceOf(after);
        return open(context, (event) => channel.kind !== 'chat' && channel.accepts(event), from);
      },
      resolve: (event) => event,
    },
  },
};

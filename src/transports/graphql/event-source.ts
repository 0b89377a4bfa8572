import type { StoredEvent } from '../../domain/events/index.ts';
import { AppError } from '../../domain/shared/errors.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import type { EventHub, HubSubscription } from '../../platform/realtime/index.ts';

/** Events waiting for a subscriber that reads more slowly than they come; past it the subscription ends with OVERLOADED. */
export const PENDING_MAX = 1_000;

/**
 * The hub's deliveries for one GraphQL subscription as an async iterator
 * (graphql-js maps each through the subscription's selection). The hub calls
 * `deliver` in sequence order with `canSee` already applied; `accepts` is the
 * field's own rule (a channel's, an argument's). `return()` ends it at once,
 * even while a `next()` waits, so a `complete` from the client frees the hub
 * subscription without waiting for another event. Past PENDING_MAX unread
 * events the events already queued are still handed out, then the stream
 * fails with OVERLOADED: the client resumes with `after` and loses nothing.
 */
export function hubEvents(hub: EventHub, principal: Principal, accepts: (event: StoredEvent) => boolean, after?: number): AsyncIterableIterator<StoredEvent> & { ready: Promise<void> } {
  const pending: StoredEvent[] = [];
  let waiting: { resolve: (r: IteratorResult<StoredEvent>) => void; reject: (e: unknown) => void } | null = null;
  let failure: unknown = null;
  let done = false;
  let subscription: HubSubscription | null = null;

  const finish = () => {
    done = true;
    subscription?.close();
    pending.length = 0;
  };
  const fail = (error: unknown) => {
    if (done) return;
    failure = error;
    subscription?.close();
    if (waiting) {
      const w = waiting;
      waiting = null;
      finish();
      w.reject(error);
    }
  };

  const ready = hub
    .subscribe(
      {
        principal,
        accepts,
        deliver(event) {
          if (done || failure) return;
          if (waiting) {
            const w = waiting;
            waiting = null;
            w.resolve({ value: event, done: false });
            return;
          }
          if (pending.length >= PENDING_MAX) {
            fail(new AppError('OVERLOADED', `More than ${PENDING_MAX} events wait for this subscription: it ends; subscribe again with after: the last sequence received`));
            return;
          }
          pending.push(event);
        },
      },
      after,
    )
    .then((sub) => {
      subscription = sub;
      if (done) sub.close();
    });
  // A failed subscribe (the log unreachable during a replay) rejects `ready` and ends the stream with that error.
  ready.catch((error: unknown) => fail(error));

  const iterator = {
    ready,
    next(): Promise<IteratorResult<StoredEvent>> {
      if (pending.length > 0) return Promise.resolve({ value: pending.shift()!, done: false });
      if (failure) {
        const error = failure;
        finish();
        failure = null;
        return Promise.reject(error);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => (waiting = { resolve, reject }));
    },
    return(): Promise<IteratorResult<StoredEvent>> {
      finish();
      if (waiting) {
        const w = waiting;
        waiting = null;
        w.resolve({ value: undefined, done: true });
      }
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error: unknown): Promise<IteratorResult<StoredEvent>> {
      finish();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator as AsyncIterableIterator<StoredEvent> & { ready: Promise<void> };
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredEvent } from '../src/domain/events/index.ts';
import type { Principal } from '../src/domain/shared/principal.ts';
import type { EventHub, HubSubscriber } from '../src/platform/realtime/index.ts';
import { hubEvents, PENDING_MAX } from '../src/transports/graphql/event-source.ts';

const principal: Principal = { userId: 'usr_1', role: 'user', plan: 'free', via: 'session', apiKeyId: null, scopes: null, apiVersion: null };

function event(sequence: number): StoredEvent {
  return { id: `evt_${sequence}`, sequence, type: 'post.created', resourceType: 'post', resourceId: `pst_${sequence}`, data: {}, audience: ['*'], createdAt: new Date(0) };
}

/** A hub that hands the test its subscriber and counts closes; `fail` makes subscribe reject. */
function fakeHub(fail?: Error) {
  const state: { subscriber?: HubSubscriber; after?: number; closed: number } = { closed: 0 };
  const hub = {
    async subscribe(subscriber: HubSubscriber, after?: number) {
      if (fail) throw fail;
      state.subscriber = subscriber;
      state.after = after;
      return { cursor: 0, close: () => void state.closed++ };
    },
  } as unknown as EventHub;
  return { hub, state };
}

describe('the event source of GraphQL subscriptions (hub deliveries as an async iterator)', () => {
  it('hands out events in delivery order, buffered or awaited, and passes `after` to the hub', async () => {
    const { hub, state } = fakeHub();
    const stream = hubEvents(hub, principal, () => true, 41);
    await stream.ready;
    assert.equal(state.after, 41);
    state.subscriber!.deliver(event(42));
    state.subscriber!.deliver(event(43));
    assert.equal((await stream.next()).value.sequence, 42);
    assert.equal((await stream.next()).value.sequence, 43);
    const waiting = stream.next();
    state.subscriber!.deliver(event(44));
    assert.equal((await waiting).value.sequence, 44);
  });

  it('return() ends a waiting next() at once and closes the hub subscription', async () => {
    const { hub, state } = fakeHub();
    const stream = hubEvents(hub, principal, () => true);
    await stream.ready;
    const waiting = stream.next();
    await stream.return!();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    assert.equal(state.closed, 1);
    state.subscriber!.deliver(event(1));
    assert.equal((await stream.next()).done, true, 'nothing after the end');
  });

  it('past PENDING_MAX unread events, hands out what was queued, then fails with OVERLOADED', async () => {
    const { hub, state } = fakeHub();
    const stream = hubEvents(hub, principal, () => true);
    await stream.ready;
    for (let i = 1; i <= PENDING_MAX + 5; i++) state.subscriber!.deliver(event(i));
    assert.equal(state.closed, 1, 'the hub subscription ends at the overflow');
    const got: number[] = [];
    await assert.rejects(async () => {
      for (;;) got.push((await stream.next()).value.sequence);
    }, (error: { code?: string }) => error.code === 'OVERLOADED');
    assert.deepEqual(got, Array.from({ length: PENDING_MAX }, (_, i) => i + 1), 'every queued event, in order, no gap before the error');
  });

  it('a subscribe the hub refuses rejects ready and fails the stream with that error', async () => {
    const { hub } = fakeHub(new Error('log unreachable'));
    const stream = hubEvents(hub, principal, () => true);
    await assert.rejects(stream.ready, /log unreachable/);
    await assert.rejects(stream.next(), /log unreachable/);
  });
});

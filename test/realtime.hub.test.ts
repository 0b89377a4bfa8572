import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StoredEvent } from '../src/domain/events/index.ts';
import type { Principal } from '../src/domain/shared/principal.ts';
import { createEventFeed, createInProcessBus, EventHub } from '../src/platform/realtime/index.ts';
import { openSse } from './helpers/realtime.ts';
import { world, type World } from './helpers/world.ts';

const reader: Principal = { userId: 'usr_reader', role: 'user', plan: 'free', via: 'session', apiKeyId: null, scopes: null, apiVersion: null };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An event log in memory that counts its reads. */
function memoryLog() {
  const events: StoredEvent[] = [];
  const log = {
    reads: 0,
    async after(sequence: number, limit: number) {
      log.reads++;
      return events.filter((e) => e.sequence > sequence).slice(0, limit);
    },
    async head() {
      return events.at(-1)?.sequence ?? 0;
    },
    append(resourceId: string): StoredEvent {
      const sequence = events.length + 1;
      const event: StoredEvent = { id: `evt_${sequence}`, sequence, type: 'post.created', resourceType: 'post', resourceId, data: { id: resourceId }, audience: ['*'], createdAt: new Date() };
      events.push(event);
      return event;
    },
  };
  return log;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('event hub: polls only while it has subscribers', () => {
  it('stops the safety poll when the last subscriber leaves and resumes it, with no gap, on the next subscribe', async () => {
    const log = memoryLog();
    const bus = createInProcessBus();
    const feed = createEventFeed(log, bus, { pollMs: 10 });
    const hub = new EventHub(feed);
    try {
      const received: string[] = [];
      const first = await hub.subscribe({ principal: reader, accepts: () => true, deliver: (e) => received.push(e.resourceId) });
      assert.equal(hub.attached, true);
      // The poll alone (no signal) brings a new event.
      log.append('pst_1');
      await until(() => received.includes('pst_1'), 'the polled event');
      const readsWhileSubscribed = log.reads;
      await sleep(100);
      assert.ok(log.reads > readsWhileSubscribed, 'the log is polled while someone listens');

      first.close();
      assert.equal(hub.attached, false, 'detached with no subscriber');
      // A read already under way when the last subscriber left may finish; none starts after it.
      await hub.wake();
      const readsAtClose = log.reads;
      await sleep(150); // fifteen poll periods
      assert.equal(log.reads, readsAtClose, 'no read of the log while nobody listens');

      // Committed while detached: a resume from the last seen sequence gets it, then live ones.
      log.append('pst_2');
      const again: string[] = [];
      const second = await hub.subscribe({ principal: reader, accepts: () => true, deliver: (e) => again.push(e.resourceId) }, 1);
      assert.equal(hub.attached, true, 'attached again');
      log.append('pst_3');
      feed.signalCommit();
      await until(() => again.includes('pst_3'), 'the live event after re-attaching');
      assert.deepEqual(again, ['pst_2', 'pst_3']);
      second.close();
      assert.equal(hub.attached, false);
    } finally {
      hub.stop();
      feed.close();
      await bus.close();
    }
  });

  it('a subscriber that leaves while another is still starting does not detach the hub', async () => {
    const log = memoryLog();
    const bus = createInProcessBus();
    const feed = createEventFeed(log, bus, { pollMs: 0 });
    const hub = new EventHub(feed);
    try {
      const a = await hub.subscribe({ principal: reader, accepts: () => true, deliver: () => {} });
      const received: string[] = [];
      const starting = hub.subscribe({ principal: reader, accepts: () => true, deliver: (e) => received.push(e.resourceId) });
      a.close();
      const b = await starting;
      assert.equal(hub.attached, true);
      log.append('pst_live');
      feed.signalCommit();
      await until(() => received.includes('pst_live'), 'the live event');
      b.close();
      assert.equal(hub.attached, false);
    } finally {
      hub.stop();
      feed.close();
      await bus.close();
    }
  });
});

describe('event hub in the app: detached with no stream open', () => {
  let w: World;
  let base: string;
  before(async () => {
    w = await world({ env: { STOA_REALTIME_POLL_MS: '50' } });
    await w.app.listen({ port: 0, host: '127.0.0.1' });
    const address = w.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(() => w.close());

  it('attaches with the first stream, detaches with the last, and a stream opened later resumes with no gap', async () => {
    const hub = w.t.container.realtime.hub;
    const stream = await openSse(`${base}/v1/events?type=post.created`, w.ada.auth);
    assert.equal(hub.attached, true);
    const seen = await w.post(w.ada);
    await stream.waitFor((s) => s.events().find((e) => e.data.resource_id === seen));
    const lastId = stream.events().at(-1)!.id;
    stream.close();
    await until(() => !hub.attached, 'the hub to detach');
    const missed = await w.post(w.ada);
    const resumed = await openSse(`${base}/v1/events?type=post.created`, { ...w.ada.auth, 'last-event-id': lastId });
    try {
      const live = await w.post(w.ada);
      await resumed.waitFor((s) => s.events().find((e) => e.data.resource_id === live));
      assert.deepEqual(
        resumed.events().map((e) => e.data.resource_id),
        [missed, live],
      );
    } finally {
      resumed.close();
    }
  });
});

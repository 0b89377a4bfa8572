import { canSee, type EventFeed, type StoredEvent } from '../../domain/events/index.ts';
import type { Principal } from '../../domain/shared/principal.ts';

/** One subscriber of the hub: a stream, a WebSocket subscription, a GraphQL subscription. */
export interface HubSubscriber {
  readonly principal: Principal;
  /** A channel's or a type filter's rule, on top of visibility. */
  accepts(event: StoredEvent): boolean;
  /** Called in sequence order, once per visible event; must not throw (transports buffer or disconnect). */
  deliver(event: StoredEvent): void;
}

export interface HubSubscription {
  /** The last sequence this subscription has passed (delivered or skipped as invisible). */
  readonly cursor: number;
  close(): void;
}

const BATCH = 500;
const RING = 2_000;

interface Entry {
  subscriber: HubSubscriber;
  cursor: number;
  live: boolean;
  closed: boolean;
}

/**
 * Fan-out of the event log to every subscriber of one process. On each
 * wake-up the hub reads the log once after the last sequence it has seen
 * (not once per subscriber) and hands each event to every live subscriber
 * that may see it (`canSee` plus the subscriber's own rule). A subscriber
 * resuming after a sequence first replays from the log, then joins the live
 * fan-out through a ring of recent events, with no gap and no duplicate.
 */
export class EventHub {
  readonly #feed: EventFeed;
  readonly #entries = new Set<Entry>();
  #head = 0;
  /** Every event with a sequence above `#floor` and up to `#head` is in `#ring`. */
  #floor = 0;
  #ring: StoredEvent[] = [];
  #reading: Promise<void> | null = null;
  #again = false;
  #unsubscribe: (() => void) | null = null;
  #started: Promise<void> | null = null;
  #ready = false;
  /** Subscribers between their call and their registration. */
  #starting = 0;
  /** Changes on every detachment, so a start that outlived its attachment does not mark the hub ready. */
  #generation = 0;
  #onError: (error: unknown) => void;

  constructor(feed: EventFeed, options: { onError?: (error: unknown) => void } = {}) {
    this.#feed = feed;
    this.#onError = options.onError ?? (() => {});
  }

  /** The last sequence this process has read. */
  get head(): number {
    return this.#head;
  }

  get subscriberCount(): number {
    return this.#entries.size;
  }

  /**
   * Reads the log's head (once per attachment). While the hub has no
   * subscriber it is detached from the feed (no wake-ups, no safety poll);
   * the next subscriber attaches it again. Events committed while detached
   * are not in the ring, so the ring restarts at the head.
   */
  start(): Promise<void> {
    this.#attach();
    const generation = this.#generation;
    return (this.#started ??= (async () => {
      const head = await this.#feed.head();
      if (generation !== this.#generation) return;
      if (head > this.#head) {
        this.#head = head;
        this.#floor = head;
        this.#ring = [];
      }
      this.#ready = true;
      // Anything committed between reading the head and now is read at once, not at the next signal.
      void this.wake();
    })());
  }

  stop(): void {
    this.#detach();
    for (const entry of this.#entries) entry.closed = true;
    this.#entries.clear();
  }

  /** True while the hub listens to the feed (it has subscribers, or is starting). */
  get attached(): boolean {
    return this.#unsubscribe !== null;
  }

  #attach(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#feed.onCommit(() => {
      if (this.#ready) void this.wake();
    });
  }

  #detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#started = null;
    this.#ready = false;
    this.#generation++;
  }

  #detachIfIdle(): void {
    if (this.#entries.size === 0 && this.#starting === 0) this.#detach();
  }

  /** Reads what committed since the last read; concurrent wake-ups coalesce into one more read. */
  wake(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#again = false;
          for (;;) {
            const batch = await this.#feed.after(this.#head, BATCH);
            for (const event of batch) this.#publish(event);
            if (batch.length < BATCH) break;
          }
        } while (this.#again);
      } catch (error) {
        this.#onError(error);
      } finally {
        this.#reading = null;
      }
    })();
    return this.#reading;
  }

  /**
   * The present: the log's head now, which this process may not have read
   * yet. A transport that acknowledges a subscription reads it before the
   * acknowledgement and subscribes from it, so that an event committed once
   * the client has the acknowledgement is never missed.
   */
  async present(): Promise<number> {
    return Math.max(this.#head, await this.#feed.head());
  }

  /**
   * Subscribes from `after` (replaying the visible events after it from the
   * log), or from the present when `after` is undefined.
   */
  async subscribe(subscriber: HubSubscriber, after?: number): Promise<HubSubscription> {
    // Counted while it starts, so that the hub stays attached meanwhile.
    this.#starting++;
    let from: number;
    try {
      await this.start();
      from = after ?? (await this.present());
    } catch (error) {
      this.#starting--;
      this.#detachIfIdle();
      throw error;
    }
    this.#starting--;
    const entry: Entry = { subscriber, cursor: from, live: false, closed: false };
    this.#entries.add(entry);
    const subscription: HubSubscription = {
      get cursor() {
        return entry.cursor;
      },
      close: () => {
        entry.closed = true;
        this.#entries.delete(entry);
        this.#detachIfIdle();
      },
    };
    if (from >= this.#head) {
      entry.live = true;
      return subscription;
    }
    try {
      // Replay from the log until the ring of recent events covers the rest.
      while (!entry.closed) {
        if (this.#floor <= entry.cursor) {
          for (const event of this.#ring) if (event.sequence > entry.cursor) this.#offer(entry, event);
          entry.cursor = Math.max(entry.cursor, this.#head);
          entry.live = true;
          break;
        }
        const batch = await this.#feed.after(entry.cursor, BATCH);
        if (entry.closed) break;
        for (const event of batch) this.#offer(entry, event);
        if (batch.length === 0) entry.cursor = Math.max(entry.cursor, this.#floor);
      }
    } catch (error) {
      subscription.close();
      throw error;
    }
    return subscription;
  }

  #publish(event: StoredEvent): void {
    if (event.sequence <= this.#head) return;
    this.#head = event.sequence;
    this.#ring.push(event);
    if (this.#ring.length > RING) this.#floor = this.#ring.splice(0, this.#ring.length - RING).at(-1)!.sequence;
    for (const entry of this.#entries) if (entry.live) this.#offer(entry, event);
  }

  #offer(entry: Entry, event: StoredEvent): void {
    if (entry.closed || event.sequence <= entry.cursor) return;
    entry.cursor = event.sequence;
    if (!canSee(entry.subscriber.principal, event) || !entry.subscriber.accepts(event)) return;
    try {
      entry.subscriber.deliver(event);
    } catch (error) {
      this.#onError(error);
    }
  }
}

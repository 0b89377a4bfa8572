import type { EventFeed, EventLog } from '../../domain/events/index.ts';
import type { Transactor } from '../../domain/shared/transactor.ts';
import type { RealtimeBus } from './bus.ts';

export interface LiveEventFeed extends EventFeed {
  /** Tells every process (this one at once) that events committed. */
  signalCommit(): void;
  close(): void;
}

/**
 * The EventFeed over the log and a bus: wake-ups come from the bus (every
 * process), from this process's own commits at once, and from a safety poll
 * every `pollMs`, so a lost signal only delays an event.
 */
export function createEventFeed(log: Pick<EventLog, 'after' | 'head'>, bus: RealtimeBus, options: { pollMs: number }): LiveEventFeed {
  const listeners = new Set<() => void>();
  const wake = () => {
    for (const listener of listeners) listener();
  };
  const unsubscribe = bus.subscribe((topic) => {
    if (topic === 'commit') wake();
  });
  let poll: NodeJS.Timeout | undefined;
  return {
    after: (sequence, limit) => log.after(sequence, limit),
    head: () => log.head(),
    onCommit(listener) {
      listeners.add(listener);
      if (!poll && options.pollMs > 0) {
        poll = setInterval(wake, options.pollMs);
        poll.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && poll) {
          clearInterval(poll);
          poll = undefined;
        }
      };
    },
    signalCommit() {
      wake();
      if (bus.kind !== 'in-process') bus.publish('commit', '').catch(() => {});
    },
    close() {
      unsubscribe();
      if (poll) clearInterval(poll);
      listeners.clear();
    },
  };
}

/** Wraps the log so that every append signals the feed once its transaction has committed. */
export function signallingEventLog(log: EventLog, transactor: Transactor, feed: () => Pick<LiveEventFeed, 'signalCommit'>): EventLog {
  return {
    ...log,
    async append(event, now) {
      const stored = await log.append(event, now);
      transactor.afterCommit(() => feed().signalCommit());
      return stored;
    },
  };
}

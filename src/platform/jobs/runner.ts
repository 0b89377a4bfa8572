import { randomUUID } from 'node:crypto';
import type { Clock } from '../../domain/shared/clock.ts';
import type { Settlement, WorkItem, WorkQueue } from './work-queue.ts';

/** What a handler learns besides its item. */
export interface WorkContext {
  /** Aborted when this worker has lost the item's lease (another worker may run it) or is stopping for good. */
  signal: AbortSignal;
  now(): Date;
}

/** Does the work of one item; resolves to how it ends (nothing = done). A throw is retried with backoff. */
export type WorkHandler = (item: WorkItem, context: WorkContext) => Promise<Settlement | void>;

/** Work that runs once per period across every worker (a sweep). */
export interface PeriodicWork {
  name: string;
  everyMs: number;
  run(context: WorkContext): Promise<void>;
}

export type WorkOutcome = 'done' | 'failed' | 'parked' | 'retry' | 'error' | 'lost';

export interface RunnerObserver {
  attempt(kind: string): void;
  outcome(kind: string, outcome: WorkOutcome): void;
  error(kind: string, error: unknown): void;
}

export interface RunnerOptions {
  queue: WorkQueue;
  clock: Clock;
  handlers: Readonly<Record<string, WorkHandler>>;
  periodic?: readonly PeriodicWork[];
  /** Items in flight in this process at most. */
  concurrency?: number;
  /** Items of one group in flight across every worker at most. */
  groupLimit?: number;
  leaseMs?: number;
  pollMs?: number;
  /** Attempts before an item that keeps throwing is failed. */
  maxAttempts?: number;
  observer?: RunnerObserver;
  workerId?: string;
}

export const PERIODIC_KIND_PREFIX = 'periodic.';

/** Runs the queue's work in this process until stopped. */
export class WorkRunner {
  readonly workerId: string;
  readonly #o: Required<Omit<RunnerOptions, 'observer' | 'workerId' | 'periodic'>> & { observer: RunnerObserver | undefined; periodic: readonly PeriodicWork[] };
  readonly #handlers = new Map<string, WorkHandler>();
  readonly #inFlight = new Map<string, { controller: AbortController; done: Promise<void> }>();
  #timer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(options: RunnerOptions) {
    this.workerId = options.workerId ?? `wkr_${randomUUID()}`;
    this.#o = {
      concurrency: 16,
      groupLimit: 4,
      leaseMs: 30_000,
      pollMs: 1_000,
      maxAttempts: 10,
      periodic: [],
      ...options,
      observer: options.observer,
    };
    for (const [kind, handler] of Object.entries(options.handlers)) this.#handlers.set(kind, handler);
    for (const work of this.#o.periodic) {
      const everyMs = work.everyMs;
      this.#handlers.set(PERIODIC_KIND_PREFIX + work.name, async (_item, context) => {
        await work.run(context);
        return { state: 'queued', runAt: new Date(context.now().getTime() + everyMs) };
      });
    }
  }

  get kinds(): string[] {
    return [...this.#handlers.keys()];
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    const now = this.#o.clock.now();
    for (const work of this.#o.periodic) {
      await this.#o.queue.enqueue({ kind: PERIODIC_KIND_PREFIX + work.name, uniqueKey: `periodic:${work.name}`, runAt: now }, now);
    }
    this.#heartbeat = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.#o.leaseMs / 3)));
    this.#heartbeat.unref();
    this.poke();
  }

  /** Looks for due work now (e.g. after enqueueing in this process). */
  poke(): void {
    if (this.#stopped) return;
    if (this.#polling) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#polling = this.#poll().finally(() => {
      this.#polling = undefined;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.poke();
      } else {
        this.#timer = setTimeout(() => this.poke(), this.#o.pollMs);
        this.#timer.unref();
      }
    });
  }

  /** Stops claiming, waits up to `graceMs` for work in flight, then abandons the rest (its leases expire). */
  async stop(graceMs = 5_000): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#polling;
    const pending = [...this.#inFlight.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending.map((p) => p.done)), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const p of this.#inFlight.values()) p.controller.abort(new Error('worker stopping'));
    clearInterval(this.#heartbeat);
  }

  async #poll(): Promise<void> {
    const free = this.#o.concurrency - this.#inFlight.size;
    if (free <= 0) return;
    let items: WorkItem[];
    try {
      items = await this.#o.queue.claim({
        workerId: this.workerId,
        kinds: this.kinds,
        limit: free,
        leaseMs: this.#o.leaseMs,
        now: this.#o.clock.now(),
        groupLimit: this.#o.groupLimit,
      });
    } catch (error) {
      this.#o.observer?.error('claim', error);
      return;
    }
    for (const item of items) this.#run(item);
    // A full batch: there may be more.
    if (items.length === free) this.#again = true;
  }

  #run(item: WorkItem): void {
    const controller = new AbortController();
    const done = this.#execute(item, controller).finally(() => {
      this.#inFlight.delete(item.id);
      this.poke();
    });
    this.#inFlight.set(item.id, { controller, done });
  }

  async #execute(item: WorkItem, controller: AbortController): Promise<void> {
    const { queue, clock, observer } = this.#o;
    const handler = this.#handlers.get(item.kind)!;
    observer?.attempt(item.kind);
    let settlement: Settlement;
    let outcome: WorkOutcome;
    try {
      settlement = (await handler(item, { signal: controller.signal, now: () => clock.now() })) ?? { state: 'done' };
      outcome = settlement.state === 'queued' ? (item.kind.startsWith(PERIODIC_KIND_PREFIX) ? 'done' : 'retry') : settlement.state;
    } catch (error) {
      observer?.error(item.kind, error);
      const message = error instanceof Error ? error.message : String(error);
      outcome = 'error';
      if (item.kind.startsWith(PERIODIC_KIND_PREFIX)) {
        const every = this.#o.periodic.find((p) => PERIODIC_KIND_PREFIX + p.name === item.kind)!.everyMs;
        settlement = { state: 'queued', runAt: new Date(clock.now().getTime() + every), error: message };
      } else if (item.attempts >= this.#o.maxAttempts) {
        settlement = { state: 'failed', error: message };
      } else {
        const backoff = Math.min(1_000 * 2 ** (item.attempts - 1), 5 * 60_000);
        settlement = { state: 'queued', runAt: new Date(clock.now().getTime() + backoff), error: message };
      }
    }
    if (controller.signal.aborted && this.#stopped) return;
    try {
      const held = await queue.settle(this.workerId, item.id, settlement, clock.now());
      observer?.outcome(item.kind, held ? outcome : 'lost');
    } catch (error) {
      // The lease runs out and another worker runs the item again.
      observer?.error(item.kind, error);
    }
  }

  async #renew(): Promise<void> {
    if (this.#inFlight.size === 0) return;
    const ids = [...this.#inFlight.keys()];
    try {
      const held = new Set(await this.#o.queue.renew(this.workerId, ids, this.#o.leaseMs, this.#o.clock.now()));
      for (const id of ids) if (!held.has(id)) this.#inFlight.get(id)?.controller.abort(new Error('lease lost'));
    } catch (error) {
      this.#o.observer?.error('renew', error);
    }
  }
}

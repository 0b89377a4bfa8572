/**
 * The durable work queue: background work as rows that any number of worker
 * processes share. A worker claims due items under a lease, renews the lease
 * while it works and settles each item afterwards; nothing is held in a
 * transaction while the work runs. An item whose lease expires (its worker
 * died) is due again, and another worker takes it over: work runs at least
 * once, so handlers are written to be repeatable.
 */

export type WorkState = 'queued' | 'running' | 'done' | 'failed' | 'parked';

export interface WorkItem {
  id: string;
  kind: string;
  uniqueKey: string | null;
  groupKey: string | null;
  payload: Record<string, unknown>;
  /** Claims so far, this one included. */
  attempts: number;
  runAt: Date;
  createdAt: Date;
}

export interface NewWorkItem {
  kind: string;
  payload?: Record<string, unknown>;
  runAt: Date;
  /** At most one item with this key ever exists (enqueueing another is a no-op). */
  uniqueKey?: string;
  /** Items of one group are bounded in flight together (`groupLimit` of the claim). */
  groupKey?: string;
}

export interface ClaimRequest {
  workerId: string;
  kinds: readonly string[];
  limit: number;
  leaseMs: number;
  now: Date;
  /** At most this many items of one group running at once, across every worker. */
  groupLimit: number;
}

export interface QueueStat {
  kind: string;
  state: WorkState;
  count: number;
  /** Seconds since the oldest due item (queued and due, or running with an expired lease) became due; 0 when none. */
  lagSeconds: number;
}

export interface WorkQueue {
  /** Adds an item; inside the caller's transaction when there is one. An existing `uniqueKey` is left as it is. */
  enqueue(item: NewWorkItem, now: Date): Promise<void>;
  /** Claims due items (queued and due, or running under an expired lease) in one short transaction. */
  claim(request: ClaimRequest): Promise<WorkItem[]>;
  /** Extends the leases this worker still holds; answers the ids it still holds. */
  renew(workerId: string, ids: readonly string[], leaseMs: number, now: Date): Promise<string[]>;
  /** Settles an item this worker holds; false when the lease was lost (another worker took it over). */
  settle(workerId: string, id: string, outcome: Settlement, now: Date): Promise<boolean>;
  /** Makes items due now: parked ones of a group (`parked`), or one item whatever its state. */
  wake(filter: { uniqueKey: string } | { groupKey: string; kind: string; state: 'parked' }, now: Date): Promise<number>;
  stats(now: Date): Promise<QueueStat[]>;
}

export type Settlement =
  | { state: 'done' }
  | { state: 'failed'; error: string }
  | { state: 'parked' }
  /** Due again at `runAt` (a retry, or the next period of periodic work). */
  | { state: 'queued'; runAt: Date; error?: string };

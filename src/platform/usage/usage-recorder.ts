import { STATUS_CLASSES, type UsageCount, type UsageFlusher, type UsageRepository } from '../../domain/usage/index.ts';

export interface UsageSample {
  userId: string;
  apiKeyId: string | null;
  apiVersion: string;
  status: number;
  /** The rate-limit policy that refused a 429. */
  rateLimitPolicy?: string | undefined;
  /** Epoch milliseconds when the request was answered. */
  at: number;
}

export interface UsageRecorderOptions {
  store: UsageRepository;
  /** How often the counts are written (milliseconds). */
  flushIntervalMs: number;
  /** Told when a write failed; the counts are kept for the next one. */
  onError?: (error: unknown) => void;
}

/**
 * minute → caller → API key ('' for a session) → version → one count per status class (STATUS_CLASSES order),
 * and for 429s, how many each rate-limit policy refused.
 */
interface Cell {
  perClass: number[];
  rejectedBy: Map<string, number> | null;
}
type Counts = Map<number, Map<string, Map<string, Map<string, Cell>>>>;
const newCell = (): Cell => ({ perClass: [0, 0, 0, 0, 0, 0], rejectedBy: null });
const REJECTED = 4;

function classIndex(status: number): number {
  if (status === 429) return 4;
  if (status >= 500) return 5;
  if (status >= 400) return 3;
  if (status >= 300) return 2;
  return status >= 200 ? 1 : 0;
}

function child<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

export class UsageRecorder implements UsageFlusher {
  readonly #options: UsageRecorderOptions;
  #counts: Counts = new Map();
  #writing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: UsageRecorderOptions) {
    this.#options = options;
  }

  /** Starts the periodic writes; the timer never holds the process open. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.flush().catch(() => undefined), this.#options.flushIntervalMs);
    this.#timer.unref();
  }

  record(sample: UsageSample): void {
    // Nested maps over the strings the request already holds: no key is built, so no string is hashed anew.
    const byCaller = child(this.#counts, sample.at - (sample.at % 60_000), () => new Map());
    const byKey = child(byCaller, sample.userId, () => new Map());
    const byVersion = child(byKey, sample.apiKeyId ?? '', () => new Map());
    const cell = child(byVersion, sample.apiVersion, newCell);
    const index = classIndex(sample.status);
    if (index === REJECTED && sample.rateLimitPolicy) {
      cell.rejectedBy ??= new Map();
      cell.rejectedBy.set(sample.rateLimitPolicy, (cell.rejectedBy.get(sample.rateLimitPolicy) ?? 0) + 1);
    } else {
      cell.perClass[index]! += 1;
    }
  }

  /** Requests counted and not yet written. */
  get pending(): number {
    let total = 0;
    for (const row of rowsOf(this.#counts)) total += row.count;
    return total;
  }

  /** Writes what has been counted so far (after any write under way). */
  flush(): Promise<void> {
    const run = this.#writing.then(() => this.#write());
    this.#writing = run.catch(() => undefined);
    return run;
  }

  /** Stops the timer and writes the rest. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush().catch(() => undefined);
  }

  async #write(): Promise<void> {
    if (this.#counts.size === 0) return;
    const batch = this.#counts;
    this.#counts = new Map();
    try {
      await this.#options.store.add(rowsOf(batch));
    } catch (error) {
      // Put the counts back (added to whatever arrived meanwhile) for the next write.
      for (const row of rowsOf(batch)) {
        const cell = child(child(child(child(this.#counts, row.bucket.getTime(), () => new Map()), row.userId, () => new Map()), row.apiKeyId, () => new Map()), row.apiVersion, newCell);
        if (row.rateLimitPolicy) {
          cell.rejectedBy ??= new Map();
          cell.rejectedBy.set(row.rateLimitPolicy, (cell.rejectedBy.get(row.rateLimitPolicy) ?? 0) + row.count);
        } else {
          cell.perClass[STATUS_CLASSES.indexOf(row.statusClass)]! += row.count;
        }
      }
      this.#options.onError?.(error);
      throw error;
    }
  }
}

function rowsOf(counts: Counts): UsageCount[] {
  const rows: UsageCount[] = [];
  for (const [minute, byCaller] of counts) {
    for (const [userId, byKey] of byCaller) {
      for (const [apiKeyId, byVersion] of byKey) {
        for (const [apiVersion, cell] of byVersion) {
          const bucket = new Date(minute);
          cell.perClass.forEach((count, i) => {
            if (count > 0) rows.push({ bucket, userId, apiKeyId, apiVersion, statusClass: STATUS_CLASSES[i]!, rateLimitPolicy: '', count });
          });
          for (const [rateLimitPolicy, count] of cell.rejectedBy ?? []) rows.push({ bucket, userId, apiKeyId, apiVersion, statusClass: '429', rateLimitPolicy, count });
        }
      }
    }
  }
  return rows;
}

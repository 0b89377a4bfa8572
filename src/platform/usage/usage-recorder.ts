import { statusClassOf, type StatusClass, type UsageCount, type UsageFlusher, type UsageRepository } from '../../domain/usage/index.ts';

export interface UsageSample {
  userId: string;
  apiKeyId: string | null;
  apiVersion: string;
  status: number;
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

const SEPARATOR = '\u0000';

/**
 * Counts answered requests in memory — one Map increment per request — and
 * adds them to the shared store in one batch per interval and at close. A
 * failed write keeps its counts for the next one, so nothing is lost to a
 * passing database fault; writes never overlap.
 */
export class UsageRecorder implements UsageFlusher {
  readonly #options: UsageRecorderOptions;
  #counts = new Map<string, number>();
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
    const minute = sample.at - (sample.at % 60_000);
    const key = `${minute}${SEPARATOR}${sample.userId}${SEPARATOR}${sample.apiKeyId ?? ''}${SEPARATOR}${sample.apiVersion}${SEPARATOR}${statusClassOf(sample.status)}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** Requests counted and not yet written. */
  get pending(): number {
    let total = 0;
    for (const count of this.#counts.values()) total += count;
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
    const rows: UsageCount[] = [];
    for (const [key, count] of batch) {
      const [minute, userId, apiKeyId, apiVersion, statusClass] = key.split(SEPARATOR) as [string, string, string, string, StatusClass];
      rows.push({ bucket: new Date(Number(minute)), userId, apiKeyId, apiVersion, statusClass, count });
    }
    try {
      await this.#options.store.add(rows);
    } catch (error) {
      // Put the counts back (added to whatever arrived meanwhile) for the next write.
      for (const [key, count] of batch) this.#counts.set(key, (this.#counts.get(key) ?? 0) + count);
      this.#options.onError?.(error);
      throw error;
    }
  }
}

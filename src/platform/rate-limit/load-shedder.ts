import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** One reading of the process's health. */
export interface LoadSample {
  /** p99 event-loop delay over the last period, ms. */
  eventLoopDelayMs: number;
  /** Used heap / heap size limit, 0–1. */
  heapRatio: number;
}

/** Where readings come from; tests inject a fake one. */
export interface LoadSampler {
  start(): void;
  sample(): LoadSample;
  stop(): void;
}

export interface LoadShedderOptions {
  /** Shed while the p99 event-loop delay exceeds this (ms); 0 disables the check. */
  eventLoopDelayMs: number;
  /** Shed while heap use exceeds this fraction of the limit; 0 disables the check. */
  heapRatio: number;
  retryAfterSeconds: number;
  /** How often to sample (ms). */
  intervalMs?: number;
  sampler?: LoadSampler;
}

export type ShedReason = 'event_loop_delay' | 'heap';

/** perf_hooks' event-loop delay histogram and V8's heap statistics, read once per period. */
export function createProcessSampler(resolutionMs = 10): LoadSampler {
  let histogram: IntervalHistogram | undefined;
  return {
    start() {
      histogram = monitorEventLoopDelay({ resolution: resolutionMs });
      histogram.enable();
    },
    sample() {
      // The histogram records whole timer periods; the lag is what exceeds the resolution.
      const p99 = histogram && histogram.count > 0 ? histogram.percentile(99) / 1e6 - resolutionMs : 0;
      histogram?.reset();
      const heap = getHeapStatistics();
      return { eventLoopDelayMs: Math.max(0, p99), heapRatio: heap.used_heap_size / heap.heap_size_limit };
    },
    stop() {
      histogram?.disable();
      histogram = undefined;
    },
  };
}

/**
 * Decides, once per period rather than per request, whether the process is
 * overloaded; the adapter only reads `reason`. A request is never slowed
 * down by the measurement.
 */
export class LoadShedder {
  readonly retryAfterSeconds: number;
  readonly #options: LoadShedderOptions;
  #sampler: LoadSampler;
  #timer: NodeJS.Timeout | undefined;
  /** Why the process sheds load right now, or null. */
  reason: ShedReason | null = null;
  last: LoadSample = { eventLoopDelayMs: 0, heapRatio: 0 };
  /** Consecutive periods whose event-loop delay passed the threshold. */
  #lagging = 0;

  constructor(options: LoadShedderOptions) {
    this.#options = options;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.#sampler = options.sampler ?? createProcessSampler();
  }

  /** Starts periodic sampling (when the app is ready, so boot work is not counted as lag). */
  start(): void {
    if (this.#timer) return;
    this.#sampler.start();
    this.#timer = setInterval(() => this.evaluate(), this.#options.intervalMs ?? 500);
    this.#timer.unref();
  }

  /** Replaces the sampler (tests). */
  useSampler(sampler: LoadSampler): void {
    const running = this.#timer !== undefined;
    this.stop();
    this.#sampler = sampler;
    if (running) this.start();
  }

  /**
   * Takes a sample and updates `reason`. Event-loop lag sheds only when two
   * periods in a row show it: one stall (a full GC, code compiled on first
   * use after start) is over before shedding could help, and shedding on it
   * refused the first requests a new process took on a busy machine.
   */
  evaluate(): ShedReason | null {
    const sample = this.#sampler.sample();
    this.last = sample;
    const { eventLoopDelayMs, heapRatio } = this.#options;
    this.#lagging = eventLoopDelayMs > 0 && sample.eventLoopDelayMs > eventLoopDelayMs ? this.#lagging + 1 : 0;
    if (this.#lagging >= 2) this.reason = 'event_loop_delay';
    else if (heapRatio > 0 && sample.heapRatio > heapRatio) this.reason = 'heap';
    else this.reason = null;
    return this.reason;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sampler.stop();
  }
}

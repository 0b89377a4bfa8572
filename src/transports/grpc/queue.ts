import { AppError } from '../../domain/shared/errors.ts';

/**
 * A bounded hand-over from callbacks (the hub, the chat relay) to a stream
 * handler: `take` waits for the next item or the end. A reader that falls
 * `max` items behind is ended with UNAVAILABLE (it reconnects) rather than
 * making the process hold an unbounded backlog.
 */
export class BoundedQueue<T> {
  readonly #items: T[] = [];
  readonly #max: number;
  #wake: (() => void) | null = null;
  #ended: unknown = null;
  #done = false;

  constructor(max: number) {
    this.#max = max;
  }

  push(item: T): void {
    if (this.#done) return;
    if (this.#items.length >= this.#max) {
      this.end(new AppError('SERVICE_UNAVAILABLE', `The stream fell ${this.#max} messages behind; reconnect`));
      return;
    }
    this.#items.push(item);
    this.#wake?.();
  }

  /** Ends the queue: readers get what is left, then `error` thrown (or the end). */
  end(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#ended = error ?? null;
    this.#wake?.();
  }

  /** The next item; undefined once ended and drained, or when `signal` aborts. */
  async take(signal: AbortSignal): Promise<T | undefined> {
    for (;;) {
      if (this.#items.length > 0) return this.#items.shift();
      if (this.#done) {
        if (this.#ended) throw this.#ended;
        return undefined;
      }
      if (signal.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#wake = null;
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#wake = wake;
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }
}

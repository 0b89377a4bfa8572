import { AppError } from '../../domain/shared/errors.ts';
import type { Principal } from '../../domain/shared/principal.ts';

/** Counts open streams per principal on this process; the one past the cap is 429 TOO_MANY_STREAMS. */
export class StreamCounter {
  readonly #open = new Map<string, number>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Who a stream counts against: the API key, or the user for a session. */
  static keyOf(principal: Principal): string {
    return principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`;
  }

  /** Takes a slot or throws; returns the release function (idempotent). */
  acquire(principal: Principal): () => void {
    const key = StreamCounter.keyOf(principal);
    const open = this.#open.get(key) ?? 0;
    if (open >= this.#max) {
      throw new AppError('TOO_MANY_STREAMS', `At most ${this.#max} event streams may be open at once for one caller on one server; close one first`, { retryAfterSeconds: 5 });
    }
    this.#open.set(key, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(key) ?? 1) - 1;
      if (left <= 0) this.#open.delete(key);
      else this.#open.set(key, left);
    };
  }
}

/**
 * The bound on a connection's unsent data (STOA_STREAM_MAX_BUFFERED_BYTES),
 * one rule for every push transport: an adapter asks after each write, and
 * drops the connection when the answer is true. The largest amount any
 * connection has held is kept, so the bound is observable from the server
 * (memory stays within it plus one message, whatever a client does).
 */
export class SendBuffers {
  readonly limit: number;
  #peak = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** True when a connection holding `buffered` unsent bytes must be dropped. */
  exceeded(buffered: number): boolean {
    if (buffered > this.#peak) this.#peak = buffered;
    return buffered > this.limit;
  }

  /** The most unsent bytes one connection of this process has held. */
  get peakBytes(): number {
    return this.#peak;
  }
}

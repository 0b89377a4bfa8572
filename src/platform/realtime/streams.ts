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

/**
 * A domain operation as every transport sees it: a stable name
 * (`orders.create`), whatever URL, mutation or RPC carries it, and the
 * cross-cutting rules that belong to the operation rather than to a route.
 */
export interface Operation {
  /** Stable, transport-neutral: `<resource>.<verb>`. Part of the idempotency fingerprint, so never renamed. */
  readonly name: string;
  /**
   * `required`: a call without an idempotency key is refused on every
   * transport (the operation has a side effect outside the database, or one a
   * client must never repeat by accident). `optional`: a key is honoured when sent.
   */
  readonly idempotencyKey: 'required' | 'optional';
}

/** Declares an operation (frozen: descriptors are shared by every transport). */
export function defineOperation(operation: Operation): Operation {
  return Object.freeze({ ...operation });
}

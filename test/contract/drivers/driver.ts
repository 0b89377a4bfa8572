import type { SignedUp } from '../../helpers/app.ts';
import type { Case, Operation } from '../case.ts';
import type { ContractWorld } from '../world.ts';

/** A caller as a transport sees it: a bearer access token, an API key, or nothing. */
export interface Actor {
  name: string;
  credential: { type: 'access_token'; token: string } | { type: 'api_key'; key: string } | null;
  /** The user it acts as (an API key: its owner); absent for anonymous. Stream drivers write their sentinels as this user. */
  user?: SignedUp;
}

export interface FieldError {
  field: string;
  code: string;
}

/** The outcome of one call in transport-neutral terms. */
export type Outcome =
  | { ok: true; data: unknown }
  | { ok: false; code: string; fields: FieldError[]; details: Record<string, unknown> };

export interface CallOptions {
  /** Sent as the operation's idempotency key; a driver whose transport requires one for the operation makes one up when absent. */
  idempotencyKey?: string | undefined;
}

/**
 * One transport under the contract: it maps each operation to its own
 * protocol and maps the answer back. Drivers translate only; they never
 * decide an outcome.
 */
export interface Driver {
  name: string;
  setup(world: ContractWorld): Promise<void>;
  call(actor: Actor, operation: Operation, input: Record<string, unknown>, options?: CallOptions): Promise<Outcome>;
  /**
   * Why this transport cannot express a case as the table writes it, or
   * undefined to run it. A skipped case is reported as skipped, with the
   * reason; a row that fails is never skipped to make it pass.
   */
  skip?(c: Case): string | undefined;
}

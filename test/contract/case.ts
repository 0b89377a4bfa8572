/**
 * The vocabulary of the contract tables: operations, actors, references to
 * things the world made, and expectations. Everything here is
 * transport-neutral: inputs and data are canonical snake_case JSON, errors are
 * registry codes with field codes on dotted snake_case paths.
 */

/** The operations the tables exercise; each driver maps every one of them. */
export const OPERATIONS = [
  'users.create',
  'users.get',
  'users.update',
  'users.delete',
  'users.list',
  'posts.create',
  'posts.get',
  'posts.update',
  'posts.delete',
  'comments.create',
  'comments.update',
  'comments.delete',
  'follows.create',
  'follows.delete',
  'products.create',
  'orders.create',
  'orders.get',
  'orders.update',
  'orders.cancel',
  'orders.list',
  'charges.create',
  'charges.get',
  'charges.list',
  'events.read',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/**
 * Who calls. `newcomer` is a user signed up for the case alone (the same one
 * throughout the case), so a case may change it freely. Ada's keys:
 * `adaReadOnlyKey` every read scope, `adaKey` every read and write scope,
 * `adaPostsKey` `posts:read` alone.
 */
export const ACTORS = ['ada', 'bob', 'admin', 'anonymous', 'newcomer', 'adaReadOnlyKey', 'adaKey', 'adaPostsKey'] as const;
export type ActorName = (typeof ACTORS)[number];
/** The actors that are a user of their own (an API key acts as its owner, `ada`). */
export type UserName = 'ada' | 'bob' | 'admin' | 'newcomer';

/** Things the world can make. See `FIXTURES` in world.ts for what each is. */
export type FixtureName =
  | 'product'
  | 'pricyProduct'
  | 'usdProduct'
  | 'scarceProduct'
  | 'soldOutProduct'
  | 'deletedProduct'
  | 'adaPost'
  | 'bobPost'
  | 'bobComment'
  | 'adaOrder'
  | 'bobOrder'
  | 'adaCharge';

/** The key that marks a placeholder; a symbol, so no input or data can hold one by accident. */
export const PLACEHOLDER: unique symbol = Symbol('placeholder');

/** A value the runner fills in before a call or a comparison. */
export type Placeholder =
  | { [PLACEHOLDER]: 'ref'; name: FixtureName | `${UserName}.${'id' | 'email'}`; map?: (value: string) => unknown }
  | { [PLACEHOLDER]: 'fresh'; name: FixtureName }
  | { [PLACEHOLDER]: 'output'; step: number; path: string }
  | { [PLACEHOLDER]: 'email' }
  | { [PLACEHOLDER]: 'caseStart' };

/** The id of a fixture made once per world (shared by every case: never change it), or an actor's id or email. */
export function ref(name: FixtureName | `${UserName}.${'id' | 'email'}`, map?: (value: string) => unknown): Placeholder {
  return { [PLACEHOLDER]: 'ref', name, ...(map ? { map } : {}) };
}

/** The id of a fixture made for this case (every `fresh(name)` in one case is the same one). */
export function fresh(name: FixtureName): Placeholder {
  return { [PLACEHOLDER]: 'fresh', name };
}

/** A value from the data of an earlier step of this case (`given[step]`), by dotted path. */
export function output(step: number, path: string): Placeholder {
  return { [PLACEHOLDER]: 'output', step, path };
}

/** A fresh, valid email address, the same one wherever it appears in the case. */
export const newEmail: Placeholder = { [PLACEHOLDER]: 'email' };

/**
 * The head of the event log (a sequence) when the case began, before its
 * `given` steps: `events.read` after it sees the events the case committed.
 */
export const caseStart: Placeholder = { [PLACEHOLDER]: 'caseStart' };

export function isPlaceholder(value: unknown): value is Placeholder {
  return typeof value === 'object' && value !== null && PLACEHOLDER in value;
}

/** What a check sees besides the data: the resolved input and the data of the `given` steps. */
export interface CheckContext {
  input: Record<string, unknown>;
  given: unknown[];
}

/**
 * A matcher over data: a predicate, or a value matched partially (objects
 * match when every listed key matches, arrays item by item with the same
 * length, anything else by strict equality; placeholders are resolved first).
 */
export type Matcher = ((value: unknown, ctx: CheckContext) => boolean) | Placeholder | string | number | boolean | null | readonly Matcher[] | { readonly [key: string]: Matcher };


export interface FieldExpectation {
  field: string;
  code: string;
}

export type Expectation =
  /** Success; `true` accepts any data (also none), otherwise the data must match. */
  | { ok: true | Matcher }
  /** Failure with this registry code; when `fields` is given, exactly these field errors (in any order). `details` matches the error's extra members. */
  | { error: string; fields?: FieldExpectation[]; details?: Record<string, Matcher> };

export interface Step {
  actor: ActorName;
  operation: Operation;
  input?: Record<string, unknown>;
  /** A case-local key name: steps of one case with the same name send the same idempotency key. */
  idempotencyKey?: string;
}

export interface Case extends Step {
  name: string;
  /** Calls made first, in order; each must succeed unless it says what to expect. */
  given?: Array<Step & { expect?: Expectation }>;
  expect: Expectation;
  /** Calls made after, to see what the call changed (or did not); `output(given.length, …)` is the call's own data. */
  then?: Array<Step & { expect: Expectation }>;
}

/** A table of cases for one area of the domain. */
export interface Table {
  area: string;
  cases: Case[];
}

/** A predicate on strings. */
export function matching(pattern: RegExp): (value: unknown) => boolean {
  return (value) => typeof value === 'string' && pattern.test(value);
}

/** The value the case sent as `input[key]`. */
export function sameAsInput(key: string): (value: unknown, ctx: CheckContext) => boolean {
  return (value, ctx) => value === ctx.input[key];
}

/** The value at `path` in the data of the given step. */
export function sameAsGiven(step: number, path: string): (value: unknown, ctx: CheckContext) => boolean {
  return (value, ctx) => value === dig(ctx.given[step], path);
}

/** Absent (undefined). */
export const absent = (value: unknown): boolean => value === undefined;

export function dig(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (v === null || v === undefined ? undefined : (v as Record<string, unknown>)[key]), value);
}

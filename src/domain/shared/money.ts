/**
 * Money is an integer amount in minor units plus an ISO 4217 currency code.
 * Bounds keep every order total inside JavaScript's safe integer range:
 * MONEY_MAX × QUANTITY_MAX × ORDER_ITEMS_MAX < 2^53.
 */
export const MONEY_MAX = 10_000_000_000;

const CURRENCY_SHAPE = /^[A-Z]{3}$/;
// ICU's list of ISO 4217 codes in circulation; a build without it falls back to the shape check.
const KNOWN_CURRENCIES: ReadonlySet<string> = new Set(typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('currency') : []);

/** The codes `isCurrencyCode` takes, for documents; empty when the build has no list (then any three capitals). */
export const CURRENCY_CODES: readonly string[] = [...KNOWN_CURRENCIES].sort();

/** True for an ISO 4217 code in upper case (`EUR`, `USD`). */
export function isCurrencyCode(value: unknown): value is string {
  return typeof value === 'string' && CURRENCY_SHAPE.test(value) && (KNOWN_CURRENCIES.size === 0 || KNOWN_CURRENCIES.has(value));
}

/** True for a whole, non-negative amount of minor units within MONEY_MAX. */
export function isAmount(value: unknown, max = MONEY_MAX): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

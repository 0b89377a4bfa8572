/**
 * GraphQL names fields in camelCase; the domain's inputs, field errors and
 * sort fields are canonical snake_case (as REST v2 and protobuf). These
 * translate at the edge, both ways.
 */

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * A GraphQL input as the domain's canonical input: keys in snake_case at
 * every depth; absent and null members left out (an optional field sent as
 * null is an optional field not sent).
 */
export function canonicalInput(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalInput);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member === undefined || member === null) continue;
    out[snakeCase(key)] = canonicalInput(member);
  }
  return out;
}

/** A canonical (snake_case) value with its keys in camelCase at every depth: a recorded outcome read back as GraphQL objects. */
export function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) out[camelCase(key)] = camelKeys(member);
  return out;
}

/** A canonical dotted field path (`items.0.product_id`) in GraphQL's names (`items.0.productId`). */
export function graphqlPath(field: string): string {
  return field
    .split('.')
    .map((part) => camelCase(part))
    .join('.');
}

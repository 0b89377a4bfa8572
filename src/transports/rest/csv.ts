type Json = Record<string, unknown>;

/** The columns under a key: null for a leaf (one column), or the keys of a nested object. */
type Shape = Map<string, Shape | null>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);
const isScalarList = (value: unknown): value is unknown[] => Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object');

/** Merges a row's keys into the shape; a key first seen in a later row joins its siblings. */
function merge(shape: Shape, row: Json): void {
  for (const [key, value] of Object.entries(row)) {
    // Lists of objects (an order's items) have no flat form: they are left out.
    if (Array.isArray(value) && !isScalarList(value)) continue;
    const known = shape.get(key);
    if (isObject(value)) {
      const nested = known ?? new Map();
      shape.set(key, nested);
      merge(nested, value);
    } else if (known === undefined) {
      shape.set(key, null);
    }
  }
}

function columnsOf(shape: Shape, prefix = ''): string[] {
  return [...shape].flatMap(([key, nested]) => (nested ? columnsOf(nested, `${prefix}${key}.`) : [`${prefix}${key}`]));
}

function valueAt(row: Json, path: readonly string[]): unknown {
  let value: unknown = row;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  return value;
}

function cell(value: unknown): string {
  if (value === null || value === undefined || isObject(value)) return '';
  // A list of scalars (an API key's scopes) is one cell, space-separated.
  const text = isScalarList(value) ? value.map((v) => (v === null ? '' : String(v))).join(' ') : String(value);
  // Cells a spreadsheet would run as a formula are prefixed with a quote (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(text) && typeof value !== 'number' ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * RFC 4180 CSV with a header row and flat columns: nested objects become dotted
 * columns (`links.self`, `author.display_name`), lists of scalars one
 * space-separated cell, and lists of objects are left out. Columns follow the
 * rows' key order (which `fields` already set); `fields` names the columns of
 * an empty page.
 */
export function toCsv(rows: readonly Json[], fields?: readonly string[]): string {
  const shape: Shape = new Map();
  for (const row of rows) merge(shape, row);
  const columns = rows.length > 0 ? columnsOf(shape) : [...(fields ?? [])];
  const paths = columns.map((c) => c.split('.'));
  const lines = [columns.map(cell).join(',')];
  for (const row of rows) lines.push(paths.map((path) => cell(valueAt(row, path))).join(','));
  return lines.join('\r\n') + '\r\n';
}

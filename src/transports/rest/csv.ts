type Json = Record<string, unknown>;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // Cells a spreadsheet would run as a formula are prefixed with a quote (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(text) && typeof value === 'string' ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** RFC 4180 CSV with a header row; nested values are written as JSON. */
export function toCsv(rows: readonly Json[], fields?: readonly string[]): string {
  const columns: string[] = fields ? fields.filter((f) => !f.includes('.')) : [];
  if (!fields) {
    for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  }
  if (fields) for (const f of fields) if (f.includes('.') && !columns.includes(f.split('.')[0]!)) columns.push(f.split('.')[0]!);
  const lines = [columns.map(cell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => cell(row[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

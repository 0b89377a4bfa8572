/** True when `error` is PostgreSQL's unique_violation (pg and PGlite both carry the SQLSTATE in `code`). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e !== null && typeof e === 'object' && e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** Recognises PostgreSQL errors by SQLSTATE, on both postgres.js and PGlite. */
function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error || (e && typeof e === "object"); ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
    if (e === undefined) break;
  }
  return undefined;
}

export const isUniqueViolation = (error: unknown) => sqlState(error) === "23505";
export const isForeignKeyViolation = (error: unknown) => sqlState(error) === "23503";

/** The constraint a violation names, when the driver reports it. */
export function constraintOf(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    const c =
      (e as { constraint?: unknown; constraint_name?: unknown }).constraint ??
      (e as { constraint_name?: unknown }).constraint_name;
    if (typeof c === "string") return c;
  }
  return undefined;
}

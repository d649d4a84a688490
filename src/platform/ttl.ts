/** Redis takes whole milliseconds (PX, PEXPIRE): both adapters accept exactly that. */
export function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1)
    throw new TypeError("ttlMs must be a positive integer");
}

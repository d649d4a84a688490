/**
 * Retry delay for the attempt that just failed (1 for the first failure): exponential, capped,
 * with "equal jitter" — half of the delay is fixed, half random — so that jobs that failed together
 * (say, while the Docker engine restarted) do not all come back at the same instant, while each
 * still waits at least half of its exponential delay.
 */
export function backoffDelay(
  failedAttempts: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

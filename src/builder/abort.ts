import { DomainError } from "../domain/index.js";

/**
 * Why a signal stopped the work: its reason when that is a DomainError (the build's own deadline
 * aborts with one), otherwise a cancellation, which a later retry may well get past.
 */
export function stopReason(signal: AbortSignal): DomainError {
  const reason: unknown = signal.reason;
  if (reason instanceof DomainError) return reason;
  return new DomainError("unavailable", "the build was cancelled", { cause: reason });
}

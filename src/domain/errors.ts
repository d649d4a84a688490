/**
 * Domain errors. Code inside the platform throws these; one interceptor at the API edge
 * (src/api/errors.ts) turns them into Connect codes. The message is written for a person and is
 * safe to show; the optional cause is logged and never sent to the client.
 */
export type DomainErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "unauthenticated"
  | "failed_precondition"
  | "aborted"
  | "resource_exhausted"
  | "unavailable"
  | "unimplemented"
  | "deadline_exceeded"
  | "internal";

/**
 * What an error means, beyond its kind, for code that acts on it: set where the error is made,
 * so that no caller reads it from the message.
 * - image_missing: the image to run is not on the engine that was to run it, and could not be
 *   brought there (no engine it can be copied from has it).
 * - node_unavailable: the node a replica was placed on is down or drained as its orchestrator
 *   sees it now; placing the replica again, on a node that is up, may succeed.
 */
export type DomainErrorReason = "image_missing" | "node_unavailable";

export class DomainError extends Error {
  override readonly name = "DomainError";
  readonly reason: DomainErrorReason | undefined;
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    options?: { cause?: unknown; reason?: DomainErrorReason },
  ) {
    super(message, options);
    this.reason = options?.reason;
  }
}

/** Whether `error` is a DomainError that says `reason`. */
export const hasReason = (error: unknown, reason: DomainErrorReason): boolean =>
  error instanceof DomainError && error.reason === reason;

export const invalidArgument = (message: string) => new DomainError("invalid_argument", message);
export const notFound = (what: string) => new DomainError("not_found", `${what} not found`);
export const alreadyExists = (message: string) => new DomainError("already_exists", message);
export const permissionDenied = (message: string) => new DomainError("permission_denied", message);
export const unauthenticated = (message: string) => new DomainError("unauthenticated", message);
export const failedPrecondition = (message: string) =>
  new DomainError("failed_precondition", message);
/** Refused because of something under way (another backup running): a later retry may succeed. */
export const aborted = (message: string) => new DomainError("aborted", message);
export const resourceExhausted = (message: string) =>
  new DomainError("resource_exhausted", message);
export const unavailable = (message: string, cause?: unknown) =>
  new DomainError("unavailable", message, { cause });
export const unimplemented = (message: string) => new DomainError("unimplemented", message);
/** An image that is on no engine it could be run or copied from: `not_found`, image_missing. */
export const imageMissing = (message: string, cause?: unknown) =>
  new DomainError("not_found", message, { cause, reason: "image_missing" });

/**
 * An error that a retry cannot fix (bad input, a missing resource). Job workers and loops
 * stop retrying when they see one, like BullMQ's UnrecoverableError.
 */
export function isTerminal(error: unknown): boolean {
  return (
    error instanceof DomainError &&
    (error.kind === "invalid_argument" ||
      error.kind === "not_found" ||
      error.kind === "permission_denied" ||
      error.kind === "failed_precondition" ||
      error.kind === "unimplemented")
  );
}

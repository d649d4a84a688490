/**
 * The one place where errors become Connect codes. Domain errors keep their message (written
 * for people); anything else is logged with its cause and reaches the client as a bare
 * "internal error", so that no stack, SQL or path leaks.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { DomainError, type DomainErrorKind } from "../domain/index.js";

const CODES: Record<DomainErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  unimplemented: Code.Unimplemented,
  deadline_exceeded: Code.DeadlineExceeded,
  internal: Code.Internal,
};

export function toConnectError(error: unknown, logger: Logger): ConnectError {
  if (error instanceof DomainError) {
    if (error.kind === "internal" || error.kind === "unavailable") {
      logger.warn({ err: error.cause ?? error }, error.message);
    }
    return new ConnectError(error.message, CODES[error.kind]);
  }
  if (error instanceof ConnectError) {
    // Raised by the Connect runtime itself (bad JSON, unknown field, cancelled): safe to pass on.
    return error;
  }
  logger.error({ err: error }, "unexpected error");
  return new ConnectError("internal error", Code.Internal);
}

/** HTTP statuses of the REST alias, the same mapping the Connect protocol uses. */
const HTTP: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.FailedPrecondition]: 400,
  [Code.OutOfRange]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.Aborted]: 409,
  [Code.ResourceExhausted]: 429,
  [Code.Canceled]: 499,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 504,
};

export const httpStatusOf = (code: Code) => HTTP[code] ?? 500;

/** Connect's wire name of a code: "invalid_argument", "not_found", … */
export const codeName = (code: Code) =>
  Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();

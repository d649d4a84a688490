/**
 * What a failed Docker API call means for the platform. dockerode rejects with a plain Error that
 * carries `statusCode` and the engine's JSON (`{ message }`) for HTTP errors, or a Node system
 * error (`code`: ENOENT, ECONNREFUSED, …) when it could not reach the engine at all.
 */
import { DomainError, unavailable } from "../domain/index.js";

const CONNECTION_CODES = new Set([
  "ENOENT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EACCES",
  "EPERM",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
  "ENOTSOCK",
]);

/** The HTTP status the engine answered with, if it answered. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** The engine's own message ("No such container: …"), or the error's message. */
export function reasonOf(error: unknown): string {
  const json = (error as { json?: unknown } | null)?.json;
  if (json && typeof json === "object" && "message" in json && typeof json.message === "string") {
    return json.message.trim();
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = error.message.trim();
    return code && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}

export function isConnectionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && CONNECTION_CODES.has(code);
}

export function isAbort(error: unknown): error is Error {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}

/** Publishing a host port failed because something else holds it. */
export function isPortInUse(error: unknown): boolean {
  const reason = reasonOf(error);
  return /address already in use|port is already allocated/i.test(reason);
}

/**
 * Turns an engine failure into a DomainError. `what` names the object for a 404 ("container x");
 * `action` says what was being done, for everything else ("create container x").
 */
export function engineError(
  error: unknown,
  endpoint: string,
  action: string,
  what?: string,
): Error {
  if (error instanceof DomainError || isAbort(error)) return error;
  if (isConnectionError(error)) {
    return unavailable(`no Docker engine at ${endpoint}: ${reasonOf(error)}`, error);
  }
  const status = statusOf(error);
  const reason = reasonOf(error);
  if (status === 404 && what) {
    return new DomainError("not_found", `${what} not found`, { cause: error });
  }
  if (status === 400) {
    return new DomainError("invalid_argument", `Docker engine refused to ${action}: ${reason}`, {
      cause: error,
    });
  }
  if (isPortInUse(error)) {
    return new DomainError("resource_exhausted", `could not ${action}: ${reason}`, {
      cause: error,
    });
  }
  return unavailable(`Docker engine at ${endpoint} failed to ${action}: ${reason}`, error);
}

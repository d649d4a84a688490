/**
 * The API's clients: the generated ConnectRPC services over the Connect protocol, on this origin,
 * with the session's token on every call. An Unauthenticated answer ends the session.
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService } from "../../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import { DeploymentService } from "../../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeService } from "../../src/gen/obiente/cloud/node/v1/node_pb.js";
import { OrganizationService } from "../../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../../src/gen/obiente/cloud/project/v1/project_pb.js";
import { session } from "./auth.js";

type Listener = () => void;
const signedOutListeners = new Set<Listener>();

/** Called when the API no longer accepts the session's token (expired, revoked). */
export function onSessionEnded(listener: Listener): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

/** Ends the session if `error` says the token is no longer good. Returns the error. */
export function checkAuth(error: unknown): unknown {
  if (ConnectError.from(error).code === Code.Unauthenticated && session.get()) {
    session.clear();
    for (const listener of signedOutListeners) listener();
  }
  return error;
}

const auth: Interceptor = (next) => async (req) => {
  const token = session.token();
  if (token) req.header.set("authorization", `Bearer ${token}`);
  try {
    return await next(req);
  } catch (error) {
    throw checkAuth(error);
  }
};

const transport = createConnectTransport({
  baseUrl: location.origin,
  interceptors: [auth],
  // Unknown fields from a newer server are ignored, not an error.
  jsonOptions: { ignoreUnknownFields: true },
});

export const api = {
  auth: createClient(AuthService, transport),
  organizations: createClient(OrganizationService, transport),
  projects: createClient(ProjectService, transport),
  deployments: createClient(DeploymentService, transport),
  nodes: createClient(NodeService, transport),
};

export { Code, ConnectError };

/**
 * A URL the API made (a webhook's, a deploy hook's): it gives the full URL when it knows its
 * public address (PUBLIC_URL), else only the path, which is on this origin, the API's.
 */
export const absoluteUrl = (url: string, path: string) => url || `${location.origin}${path}`;

export const codeOf = (error: unknown) => ConnectError.from(error).code;
export const isUnimplemented = (error: unknown) => codeOf(error) === Code.Unimplemented;
export const isAbort = (error: unknown) =>
  (error instanceof DOMException && error.name === "AbortError") ||
  (error instanceof ConnectError && error.code === Code.Canceled);

/** A sentence for people, from any error. */
export function errorMessage(error: unknown): string {
  if (error instanceof ConnectError) {
    if (error.code === Code.Unavailable && /fetch|network|load failed/i.test(error.rawMessage)) {
      return "The API cannot be reached. Check your connection; the server may be restarting.";
    }
    if (error.code === Code.Unknown && /fetch|network/i.test(error.rawMessage)) {
      return "The API cannot be reached. Check your connection; the server may be restarting.";
    }
    if (error.code === Code.ResourceExhausted) return `Too many requests: ${error.rawMessage}`;
    if (error.code === Code.PermissionDenied) return `Not allowed: ${error.rawMessage}`;
    return sentence(error.rawMessage || Code[error.code]);
  }
  if (error instanceof TypeError && /fetch/i.test(error.message)) {
    return "The API cannot be reached. Check your connection; the server may be restarting.";
  }
  return sentence(error instanceof Error ? error.message : String(error));
}

const sentence = (s: string) =>
  s ? s.charAt(0).toUpperCase() + s.slice(1) : "Something went wrong";

/** A fetch of a plain JSON route of the API (/health, /metrics/observability), with the token. */
/** A GET of the API's own with the session's token; the response as it came. */
export function getAuthorized(path: string, signal?: AbortSignal): Promise<Response> {
  const token = session.token();
  return fetch(path, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(signal ? { signal } : {}),
  });
}

export async function getJson<T>(
  path: string,
  signal?: AbortSignal,
): Promise<{ status: number; body: T | undefined }> {
  const token = session.token();
  const response = await fetch(path, {
    headers: { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(signal ? { signal } : {}),
  });
  const text = await response.text();
  let body: T | undefined;
  try {
    body = text ? (JSON.parse(text) as T) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

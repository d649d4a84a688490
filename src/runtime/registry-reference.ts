/**
 * REGISTRY's value, `host[:port][/namespace]`: what the configuration checks and the pusher
 * (registry.ts) builds repository names from. Pure, so that the configuration can use it.
 */

// A host name or IPv4 address (or [IPv6]), and an optional port.
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;
/** A path component of a repository name, as Docker allows it. */
export const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export interface RegistryReference {
  /** `host[:port]`. */
  host: string;
  /** The path below the host (`team/apps`), or "". */
  namespace: string;
}

/** REGISTRY split into host and namespace, or what is wrong with it (for a person). */
export function parseRegistry(
  text: string,
): { ok: true; value: RegistryReference } | { ok: false; problem: string } {
  const problem = (what: string) => ({ ok: false as const, problem: what });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return problem(
      "host[:port][/namespace] without a scheme (a plain-HTTP registry is REGISTRY_INSECURE=true)",
    );
  }
  const [host = "", ...path] = text.replace(/\/+$/, "").split("/");
  if (!HOST.test(host)) {
    return problem(`host[:port][/namespace], and "${host}" is not a host[:port]`);
  }
  // Docker reads a first component without a dot or a port as a Docker Hub namespace.
  if (!/[.:]/.test(host) && host !== "localhost") {
    return problem(
      `host[:port][/namespace] whose host has a dot or a port (registry.example.com, 10.0.0.5:5000) or is localhost; Docker would read "${host}" as a Docker Hub namespace (use docker.io/${host})`,
    );
  }
  const port = /:(\d+)$/.exec(host)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) {
    return problem(`host[:port][/namespace] with a port in 1-65535, got ${port}`);
  }
  const bad = path.find((component) => !PATH_COMPONENT.test(component));
  if (bad !== undefined) {
    return problem(
      `host[:port][/namespace] with a namespace of lowercase letters, digits and . _ - (got ${bad ? `"${bad}"` : "an empty part"})`,
    );
  }
  return { ok: true, value: { host, namespace: path.join("/") } };
}

/**
 * The request headers by which proxies tell an app who its client is (address, host, scheme, path
 * prefix). The edge is where requests enter the platform: whatever a client sends under these names
 * is made up, and an app that believes it (rate limits, audit logs, "secure" cookies, redirects,
 * allow-lists by address) is misled. Every edge drops them and sets its own from the connection it
 * accepted. Pure.
 */

/**
 * Names apps and their libraries read for the client's address or the original request, besides
 * every `x-forwarded-*` (matched by prefix where an edge can, see `isClientClaim`). Lower case.
 */
export const CLIENT_CLAIM_HEADERS = [
  "forwarded",
  "forwarded-for",
  "x-forwarded",
  "x-real-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "true-client-ip",
  "cf-connecting-ip",
  "fastly-client-ip",
  "x-original-forwarded-for",
] as const;

/**
 * The `x-forwarded-*` names in use, for edges that cannot drop by prefix (Caddy's and Traefik's
 * header rules take names). Caddy and Traefik set For, Proto and Host themselves (Traefik also Port,
 * Server, Uri and Method) and drop a client's values of those.
 */
export const X_FORWARDED_HEADERS = [
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-forwarded-prefix",
  "x-forwarded-server",
  "x-forwarded-ssl",
  "x-forwarded-scheme",
  "x-forwarded-protocol",
  "x-forwarded-uri",
  "x-forwarded-method",
] as const;

const CLAIMS = new Set<string>(CLIENT_CLAIM_HEADERS);

/** Whether a (lower-case) request header name is a claim about the client the edge must not pass. */
export function isClientClaim(name: string): boolean {
  return CLAIMS.has(name) || name.startsWith("x-forwarded-");
}

export interface ClientConnection {
  /** The peer's address as the socket reports it ("127.0.0.1", "::1", "::ffff:10.0.0.5"). */
  address: string;
  /** The request's Host header, as the client sent it (undefined without one). */
  host: string | undefined;
  /** Whether the client reached the edge over TLS. */
  encrypted: boolean;
}

/** The headers the edge adds in place of the client's claims. */
export function edgeForwardedHeaders(client: ClientConnection): Record<string, string> {
  const proto = client.encrypted ? "https" : "http";
  const address = unmapped(client.address);
  const headers: Record<string, string> = {
    "x-forwarded-for": address,
    "x-forwarded-proto": proto,
    "x-real-ip": address,
    forwarded: forwardedElement(address, client.host, proto),
  };
  if (client.host !== undefined) headers["x-forwarded-host"] = client.host;
  return headers;
}

/** "::ffff:10.0.0.5" (an IPv4 peer of a dual-stack socket) → "10.0.0.5", as Caddy and Traefik say. */
function unmapped(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match?.[1] ?? address;
}

/**
 * One RFC 7239 forwarded-element: `for=192.0.2.60;host=example.com;proto=http`. IPv6 addresses are
 * bracketed and quoted; values that are not tokens (a host with a port) are quoted.
 */
export function forwardedElement(address: string, host: string | undefined, proto: string): string {
  const node = address.includes(":") ? `"[${address}]"` : forwardedValue(address);
  const pairs = [`for=${node}`];
  if (host !== undefined) pairs.push(`host=${forwardedValue(host)}`);
  pairs.push(`proto=${proto}`);
  return pairs.join(";");
}

/** A token as is, anything else as an RFC 9110 quoted-string. */
function forwardedValue(value: string): string {
  if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) return value;
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

/**
 * The route table: what every edge (Traefik, Caddy, the built-in proxy) serves, computed from the
 * store's `deployment_routing` rows and the live `deployment_locations`. Pure and deterministic, so
 * the adapters can turn the same state into the same configuration on every node and every retry.
 */

/** A `deployment_routing` row, as the store reads it. */
export interface RoutingRow {
  domain: string;
  pathPrefix: string;
  deploymentId: string;
  /** The container's port; the edge reaches it through the location's published port. */
  targetPort: number;
  tls: boolean;
  lbAlgorithm: string;
  weights: Record<string, number>;
}

/** A `deployment_locations` row: one replica of a deployment on one node. */
export interface LocationRow {
  deploymentId: string;
  nodeId: string;
  /** The node's address, reachable from the edge. */
  address: string;
  /** The port the container is published on, on that node. */
  port: number;
  status: string;
  healthStatus: string;
}

/** A `domains` row: a domain of a deployment, routed only once verified. */
export interface DomainRow {
  domain: string;
  deploymentId: string;
  /** "pending", "verified" or "unverified"; the platform's default domains are "verified". */
  status: string;
}

export interface Route {
  /** Lower case, no port, no trailing dot. */
  domain: string;
  /** Starts with "/"; matched as a plain string prefix of the request path, like Traefik and Caddy. */
  pathPrefix: string;
  deploymentId: string;
  tls: boolean;
  lbAlgorithm: string;
  weights: Record<string, number>;
  /** `address:port` of the live replicas, sorted; empty when none is live (the edge answers 502). */
  upstreams: string[];
}

export interface RouteTable {
  /** Sorted by domain, then longest path prefix first: the first match for a request wins. */
  routes: Route[];
}

export const emptyRouteTable: RouteTable = { routes: [] };

/**
 * A replica takes traffic when its container runs and is healthy, or has no health check at all
 * ("none"); "starting", "unhealthy" and "unknown" replicas do not.
 */
export function isLive(location: LocationRow): boolean {
  return (
    location.status === "running" &&
    (location.healthStatus === "healthy" || location.healthStatus === "none") &&
    location.address !== "" &&
    location.port > 0
  );
}

/**
 * With `domains`, a routing row is kept only when its domain is verified for its deployment: a
 * custom domain whose ownership is not proven (pending) or no longer proven (unverified) is not
 * served, and gets no certificate, whatever routing rows say.
 */
export function routeTable(
  routes: RoutingRow[],
  locations: LocationRow[],
  domains?: readonly DomainRow[],
): RouteTable {
  const verified = domains
    ? new Set(
        domains
          .filter((d) => d.status === "verified")
          .map((d) => `${d.deploymentId} ${normalizeHost(d.domain)}`),
      )
    : undefined;
  const upstreamsByDeployment = new Map<string, Set<string>>();
  for (const location of locations) {
    if (!isLive(location)) continue;
    let upstreams = upstreamsByDeployment.get(location.deploymentId);
    if (!upstreams) {
      upstreams = new Set();
      upstreamsByDeployment.set(location.deploymentId, upstreams);
    }
    upstreams.add(hostPort(location.address, location.port));
  }

  const routed = verified
    ? routes.filter((row) => verified.has(`${row.deploymentId} ${normalizeHost(row.domain)}`))
    : routes;
  const table = routed.map(
    (row): Route => ({
      domain: normalizeHost(row.domain),
      pathPrefix: normalizePathPrefix(row.pathPrefix),
      deploymentId: row.deploymentId,
      tls: row.tls,
      lbAlgorithm: row.lbAlgorithm,
      weights: sortedRecord(row.weights),
      upstreams: [...(upstreamsByDeployment.get(row.deploymentId) ?? [])].sort(compareStrings),
    }),
  );
  table.sort(compareRoutes);
  return { routes: table };
}

/** Domain order, then the longest path prefix first (ties broken by the prefix itself). */
export function compareRoutes(a: Route, b: Route): number {
  return (
    compareStrings(a.domain, b.domain) ||
    b.pathPrefix.length - a.pathPrefix.length ||
    compareStrings(a.pathPrefix, b.pathPrefix) ||
    compareStrings(a.deploymentId, b.deploymentId)
  );
}

/** "Example.COM:8080" → "example.com", "[::1]:80" → "[::1]", "example.com." → "example.com". */
export function normalizeHost(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith("[")) {
    const end = name.indexOf("]");
    name = end === -1 ? name : name.slice(0, end + 1);
  } else {
    const colon = name.indexOf(":");
    if (colon !== -1) name = name.slice(0, colon);
  }
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

export function normalizePathPrefix(prefix: string): string {
  if (prefix === "") return "/";
  return prefix.startsWith("/") ? prefix : `/${prefix}`;
}

function hostPort(address: string, port: number): string {
  return address.includes(":") && !address.startsWith("[")
    ? `[${address}]:${port}`
    : `${address}:${port}`;
}

function sortedRecord(record: Record<string, number>): Record<string, number> {
  const sorted: Record<string, number> = {};
  for (const key of Object.keys(record).sort(compareStrings)) {
    const value = record[key];
    if (value !== undefined) sorted[key] = value;
  }
  return sorted;
}

/** Code-unit order: the same on every machine, whatever the locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Traefik as the edge (the production edge of the design): the whole dynamic configuration that
 * Traefik's HTTP provider polls from the API, and the equivalent Docker labels the runtime puts on
 * containers and services.
 */
import { createHash } from "node:crypto";
import type { Route, RouteTable } from "./route-table.js";

export interface TraefikOptions {
  /** Entry point for plain HTTP routes (default "web"). */
  httpEntryPoint?: string;
  /** Entry point for TLS routes (default "websecure"). */
  httpsEntryPoint?: string;
  /** Certificate resolver of the static configuration, for TLS routes (default "letsencrypt"). */
  certResolver?: string;
  /**
   * Where a route without a live replica points. Traefik needs at least one server per service; a
   * closed port makes Traefik answer 502, like the other edges (default "http://127.0.0.1:1").
   */
  unavailableUrl?: string;
}

export interface TraefikDynamicConfig {
  http: {
    routers: Record<string, TraefikRouter>;
    services: Record<
      string,
      { loadBalancer: { servers: { url: string }[]; passHostHeader: boolean } }
    >;
  };
}

export interface TraefikRouter {
  rule: string;
  service: string;
  entryPoints: string[];
  tls?: { certResolver: string };
}

export function traefikDynamicConfig(
  table: RouteTable,
  options: TraefikOptions = {},
): TraefikDynamicConfig {
  const config: TraefikDynamicConfig = { http: { routers: {}, services: {} } };
  for (const route of table.routes) {
    const name = routeName(route);
    const router: TraefikRouter = {
      rule: routeRule(route),
      service: name,
      entryPoints: [
        route.tls ? (options.httpsEntryPoint ?? "websecure") : (options.httpEntryPoint ?? "web"),
      ],
    };
    if (route.tls) router.tls = { certResolver: options.certResolver ?? "letsencrypt" };
    config.http.routers[name] = router;
    const urls =
      route.upstreams.length === 0
        ? [options.unavailableUrl ?? "http://127.0.0.1:1"]
        : route.upstreams.map((upstream) => `http://${upstream}`);
    config.http.services[name] = {
      loadBalancer: { servers: urls.map((url) => ({ url })), passHostHeader: true },
    };
  }
  return config;
}

/**
 * Stable and unique per (domain, path prefix): readable, plus a short hash since the slug alone
 * could collide ("a-b.com" and "a.b-com"). Traefik's default priority is the rule's length, so a
 * longer path prefix of the same host wins.
 */
export function routeName(route: Pick<Route, "domain" | "pathPrefix">): string {
  const slug = `${route.domain}${route.pathPrefix === "/" ? "" : route.pathPrefix}`
    .replace(/[^a-z0-9]+/gi, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  const hash = createHash("sha256")
    .update(`${route.domain}\n${route.pathPrefix}`)
    .digest("hex")
    .slice(0, 8);
  return `${slug}-${hash}`;
}

function routeRule(route: Route): string {
  const host = `Host(\`${route.domain}\`)`;
  return route.pathPrefix === "/" ? host : `${host} && PathPrefix(\`${route.pathPrefix}\`)`;
}

export interface TraefikLabelsInput {
  deploymentId: string;
  domains: string[];
  /** The container's port. */
  port: number;
  tls: boolean;
  /** Default "letsencrypt". */
  certResolver?: string;
  /** Default "web" / "websecure" by tls. */
  entryPoint?: string;
}

/** The Docker labels by which Traefik's Docker/Swarm provider routes to one deployment. */
export function traefikLabels(input: TraefikLabelsInput): Record<string, string> {
  const name = `deployment-${input.deploymentId}`;
  const router = `traefik.http.routers.${name}`;
  const rule = [...new Set(input.domains.map((d) => d.toLowerCase()))]
    .sort()
    .map((domain) => `Host(\`${domain}\`)`)
    .join(" || ");
  const labels: Record<string, string> = {
    "traefik.enable": "true",
    [`${router}.entrypoints`]: input.entryPoint ?? (input.tls ? "websecure" : "web"),
    [`${router}.rule`]: rule,
    [`${router}.service`]: name,
    [`traefik.http.services.${name}.loadbalancer.server.port`]: String(input.port),
  };
  if (input.tls) {
    labels[`${router}.tls`] = "true";
    labels[`${router}.tls.certresolver`] = input.certResolver ?? "letsencrypt";
  }
  return Object.fromEntries(
    Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

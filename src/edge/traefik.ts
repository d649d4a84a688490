/**
 * Traefik as the edge (the production edge of the design): the whole dynamic configuration that
 * Traefik's HTTP provider polls from the API, and the equivalent Docker labels the runtime puts on
 * containers and services.
 */
import { createHash } from "node:crypto";
import type { EdgeTls } from "./edge-tls.js";
import { CLIENT_CLAIM_HEADERS, X_FORWARDED_HEADERS } from "./forwarded-headers.js";
import type { Route, RouteTable } from "./route-table.js";

export interface TraefikOptions {
  /** Entry point, TLS and certificate resolver of every router (edgeTls of the configuration). */
  tls: EdgeTls;
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
    middlewares: Record<string, { headers: { customRequestHeaders: Record<string, string> } }>;
  };
}

export interface TraefikRouter {
  rule: string;
  service: string;
  entryPoints: string[];
  middlewares: string[];
  tls?: { certResolver?: string };
}

/** The middleware every router goes through (see CLIENT_CLAIM_REMOVALS). */
export const CLIENT_CLAIMS_MIDDLEWARE = "obiente-client-claims";

/**
 * Traefik drops a client's X-Forwarded-For, -Host, -Proto, -Port, -Server, -Uri, -Method and
 * X-Real-Ip and sets its own (the stack trusts no forwarded headers on its entry points); it passes
 * the other claims a client makes about itself (Forwarded, X-Forwarded-Prefix, True-Client-IP, …).
 * A headers middleware removes them: an empty custom request header value deletes the header.
 */
const TRAEFIK_SETS = new Set([
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-forwarded-server",
  "x-forwarded-uri",
  "x-forwarded-method",
  "x-real-ip",
]);
const CLIENT_CLAIM_REMOVALS: Record<string, string> = Object.fromEntries(
  [...CLIENT_CLAIM_HEADERS, ...X_FORWARDED_HEADERS]
    .filter((name) => !TRAEFIK_SETS.has(name))
    .map((name) => [canonicalHeader(name), ""]),
);

/**
 * Every router follows the edge's one TLS decision (`options.tls`), whatever its routing row says,
 * so that the provider and the Docker labels of `traefikLabels` always agree: with TLS, on the
 * HTTPS entry point with the certificate resolver; without, on the HTTP entry point.
 */
export function traefikDynamicConfig(
  table: RouteTable,
  options: TraefikOptions,
): TraefikDynamicConfig {
  const config: TraefikDynamicConfig = {
    http: {
      routers: {},
      services: {},
      middlewares: {
        [CLIENT_CLAIMS_MIDDLEWARE]: { headers: { customRequestHeaders: CLIENT_CLAIM_REMOVALS } },
      },
    },
  };
  for (const route of table.routes) {
    const name = routeName(route);
    const router: TraefikRouter = {
      rule: routeRule(route),
      service: name,
      entryPoints: [options.tls.entryPoint],
      middlewares: [CLIENT_CLAIMS_MIDDLEWARE],
    };
    if (options.tls.enabled) router.tls = routerTls(options.tls);
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

/** A router's TLS section; without a resolver, Traefik serves its default certificate. */
function routerTls(tls: EdgeTls): { certResolver?: string } {
  return tls.certResolver ? { certResolver: tls.certResolver } : {};
}

/** "x-forwarded-prefix" → "X-Forwarded-Prefix" (Traefik's labels keep the name as written). */
function canonicalHeader(name: string): string {
  return name.replace(
    /(^|-)([a-z])/g,
    (_, dash: string, letter: string) => dash + letter.toUpperCase(),
  );
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
  /** Entry point, TLS and certificate resolver (edgeTls of the configuration). */
  tls: EdgeTls;
}

/**
 * The Docker labels by which Traefik's Docker/Swarm provider routes to one deployment: the same
 * router as the HTTP provider's (entry point, TLS, resolver, the client-claims middleware).
 */
export function traefikLabels(input: TraefikLabelsInput): Record<string, string> {
  const name = `deployment-${input.deploymentId}`;
  const router = `traefik.http.routers.${name}`;
  const middleware = `${name}-client-claims`;
  const rule = [...new Set(input.domains.map((d) => d.toLowerCase()))]
    .sort()
    .map((domain) => `Host(\`${domain}\`)`)
    .join(" || ");
  const labels: Record<string, string> = {
    "traefik.enable": "true",
    [`${router}.entrypoints`]: input.tls.entryPoint,
    [`${router}.rule`]: rule,
    [`${router}.service`]: name,
    [`${router}.middlewares`]: middleware,
    [`traefik.http.services.${name}.loadbalancer.server.port`]: String(input.port),
  };
  for (const [header, value] of Object.entries(CLIENT_CLAIM_REMOVALS)) {
    labels[`traefik.http.middlewares.${middleware}.headers.customrequestheaders.${header}`] = value;
  }
  if (input.tls.enabled) {
    labels[`${router}.tls`] = "true";
    if (input.tls.certResolver) labels[`${router}.tls.certresolver`] = input.tls.certResolver;
  }
  return Object.fromEntries(
    Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

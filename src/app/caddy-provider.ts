/**
 * Caddy's configuration, pulled (CADDY_MODE=pull): every Caddy of the edge, one per edge node,
 * fetches its whole configuration here every few seconds with Caddy's HTTP config loader
 * (`admin.config.load`, deploy/images/caddy). The answer is the route table as the push mode
 * would send it (src/edge/caddy.ts), plus:
 * - the loader's own settings again (the URL it came to, its token, its interval), since a loaded
 *   configuration replaces everything and Caddy keeps pulling only if it says to;
 * - the platform's API on CADDY_API_DOMAIN, sent to every API replica the name
 *   CADDY_API_UPSTREAM resolves to (Caddy resolves it again every second), a failed idempotent
 *   request tried again on another replica.
 * A new edge node, or a restarted Caddy, configures itself; a failed pull keeps what it has.
 */
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/index.js";
import { loadRouteTable } from "../controller/index.js";
import type { AppContext } from "../core/index.js";
import { constantTimeEqual } from "../crypto/index.js";
import { caddyConfig, type RouteTable } from "../edge/index.js";

export const CADDY_PROVIDER_PATH = "/api/v1/caddy/config";
/**
 * Caddy's Prometheus metrics, on a listener of their own: the admin API (which serves them too)
 * stays on the container's loopback. The stack's network only: the port is not published.
 */
export const CADDY_METRICS_PORT = 9180;
/** The header the Caddy image sends its pull interval in (CADDY_LOAD_INTERVAL). */
export const LOAD_INTERVAL_HEADER = "x-obiente-load-interval";
const DEFAULT_LOAD_INTERVAL = "2s";

export interface CaddyPullOptions {
  httpPort: number;
  httpsPort: number;
  /** Caddy's admin API (on the loopback of its container: nothing else may load a configuration). */
  adminListen: string;
  acme?: { ca: string; email?: string; trustedRootsPemFiles?: string[] };
  /** Where Caddy pulls from, as it asked (http://host:port/api/v1/caddy/config). */
  loaderUrl: string;
  /** The Authorization header Caddy sent (the provider token), sent again on the next pull. */
  authorization?: string;
  /** How long Caddy waits between pulls, e.g. "2s". */
  loadInterval: string;
  api?: { domain: string; upstream: string; tls: boolean };
}

/** The whole configuration a pulling Caddy gets. Pure: the same table gives the same bytes. */
export function caddyPullConfig(
  table: RouteTable,
  options: CaddyPullOptions,
): Record<string, unknown> {
  const api = options.api;
  // The API's domain goes through caddyConfig as a route of its own, so that it gets the
  // listeners, certificate and redirects a deployment's route would; its handler is replaced.
  const routes = api
    ? [
        {
          domain: api.domain,
          pathPrefix: "/",
          deploymentId: "",
          tls: api.tls,
          lbAlgorithm: "round_robin",
          weights: {},
          upstreams: [api.upstream],
        },
        ...table.routes.filter((route) => route.domain !== api.domain),
      ]
    : table.routes;
  const config = caddyConfig(
    { routes },
    {
      httpPort: options.httpPort,
      httpsPort: options.httpsPort,
      adminListen: options.adminListen,
      ...(options.acme ? { acme: options.acme } : {}),
    },
  ) as { admin: Record<string, unknown>; apps: { http: { servers: Record<string, Server> } } };
  if (api) {
    for (const server of Object.values(config.apps.http.servers)) {
      const route = server.routes.find((r) => r.match?.[0]?.host?.[0] === api.domain);
      if (route) route.handle = [apiProxy(api.upstream)];
    }
  }
  const load: Record<string, unknown> = { module: "http", url: options.loaderUrl, timeout: "5s" };
  if (options.authorization) {
    load.header = {
      Authorization: [options.authorization],
      [LOAD_INTERVAL_HEADER]: [options.loadInterval],
    };
  } else {
    load.header = { [LOAD_INTERVAL_HEADER]: [options.loadInterval] };
  }
  config.apps.http.servers.metrics = {
    listen: [`:${CADDY_METRICS_PORT}`],
    routes: [{ handle: [{ handler: "metrics" }] }],
    automatic_https: { disable: true },
  } as unknown as Server;
  config.admin = {
    ...config.admin,
    config: { persist: false, load, load_delay: options.loadInterval },
  };
  return config;
}

interface Server {
  routes: Array<{ match?: Array<{ host?: string[] }>; handle?: unknown[] }>;
}

/**
 * Every replica the name resolves to, asked again every second (an API replica that goes away
 * leaves Swarm's DNS); a replica that fails is left out for 10 s; a GET, HEAD or OPTIONS that
 * fails on one replica (refused, reset, no answer) is tried on another for up to 5 s. Other
 * methods are tried again only when the connection could not even be made, since the request
 * may have been received.
 */
function apiProxy(upstream: string): Record<string, unknown> {
  const colon = upstream.lastIndexOf(":");
  return {
    handler: "reverse_proxy",
    dynamic_upstreams: {
      source: "a",
      name: upstream.slice(0, colon),
      port: upstream.slice(colon + 1),
      refresh: "1s",
    },
    load_balancing: {
      selection_policy: { policy: "round_robin" },
      try_duration: "5s",
      try_interval: "100ms",
      retry_match: [{ method: ["GET", "HEAD", "OPTIONS"] }],
    },
    health_checks: { passive: { fail_duration: "10s", max_fails: 1 } },
  };
}

export function registerCaddyProvider(app: FastifyInstance, ctx: AppContext, config: Config) {
  app.get(CADDY_PROVIDER_PATH, async (req, reply) => {
    const token = config.CADDY_PROVIDER_TOKEN;
    const authorization = req.headers.authorization;
    if (token && !constantTimeEqual(authorization ?? "", `Bearer ${token}`)) {
      return reply
        .status(401)
        .send({ code: "unauthenticated", message: "send the provider token" });
    }
    const interval = req.headers[LOAD_INTERVAL_HEADER];
    const loadInterval =
      typeof interval === "string" && /^\d{1,6}(ms|s|m)$/.test(interval)
        ? interval
        : DEFAULT_LOAD_INTERVAL;
    const table = await loadRouteTable(ctx.db);
    const acme = config.ACME_CA
      ? {
          ca: config.ACME_CA,
          ...(config.ACME_EMAIL ? { email: config.ACME_EMAIL } : {}),
          ...(config.ACME_CA_ROOT ? { trustedRootsPemFiles: [config.ACME_CA_ROOT] } : {}),
        }
      : undefined;
    return caddyPullConfig(table, {
      httpPort: config.CADDY_HTTP_PORT,
      httpsPort: config.CADDY_HTTPS_PORT,
      adminListen: new URL(config.CADDY_ADMIN_URL).host,
      ...(acme ? { acme } : {}),
      // The URL Caddy came to: the name it reaches the API by is the one to keep using.
      loaderUrl: `http://${req.headers.host ?? `${config.HOST}:${config.PORT}`}${CADDY_PROVIDER_PATH}`,
      ...(token && authorization ? { authorization } : {}),
      loadInterval,
      ...(config.CADDY_API_DOMAIN
        ? {
            api: {
              domain: config.CADDY_API_DOMAIN,
              upstream: config.CADDY_API_UPSTREAM,
              tls: acme !== undefined,
            },
          }
        : {}),
    });
  });
}

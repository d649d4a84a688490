/**
 * Caddy as the edge: the route table becomes one whole Caddy JSON configuration, pushed to Caddy's
 * admin API with `POST /load` on every change. Caddy's configuration is never read back and
 * patched, so what Caddy serves is always a function of the table alone.
 */
import http from "node:http";
import { DomainError } from "../domain/index.js";
import type { EdgeAdapter } from "./edge-adapter.js";
import { CLIENT_CLAIM_HEADERS, X_FORWARDED_HEADERS } from "./forwarded-headers.js";
import { noDeploymentPage, notRunningPage } from "./pages.js";
import { compareStrings, type Route, type RouteTable } from "./route-table.js";

export interface CaddyAcmeOptions {
  /** The ACME directory URL, e.g. "https://acme-v02.api.letsencrypt.org/directory". */
  ca: string;
  email?: string;
  /**
   * PEM files (paths on Caddy's machine) of roots to trust for the ACME server's own HTTPS, for a
   * private CA such as Pebble. Caddy takes files here, not inline PEM.
   */
  trustedRootsPemFiles?: string[];
}

export interface CaddyConfigOptions {
  httpPort: number;
  httpsPort: number;
  /** Issue certificates for TLS routes from this ACME CA; without it, Caddy's default issuers. */
  acme?: CaddyAcmeOptions;
  /** The admin API's listen address, e.g. "127.0.0.1:2019": kept in every pushed configuration. */
  adminListen: string;
  /** The interface the edge listens on (default: all). */
  bindHost?: string;
}

const SERVER = "edge";

/** Route table's lbAlgorithm → Caddy's selection policy (Caddy 2.6 has no weighted policy). */
const LB_POLICIES: Record<string, string> = {
  round_robin: "round_robin",
  least_conn: "least_conn",
  least_connections: "least_conn",
  random: "random",
  ip_hash: "ip_hash",
  first: "first",
};

/**
 * The client's claims about itself never reach an app. Caddy's proxy drops a client's
 * X-Forwarded-For, -Proto and -Host (no trusted_proxies are configured) and sets its own before
 * these rules run, so those three are left alone; X-Real-IP is set to the peer (Caddy applies
 * `set` before `delete`, so it is not in the deleted list); the rest are deleted.
 */
const CADDY_SETS = new Set([
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-real-ip",
]);
const CLIENT_CLAIMS = {
  delete: [...CLIENT_CLAIM_HEADERS, ...X_FORWARDED_HEADERS].filter((name) => !CADDY_SETS.has(name)),
  set: { "X-Real-IP": ["{http.request.remote.host}"] },
};

/**
 * One server listening on the HTTP port, and on the HTTPS port when a route uses TLS. Each route
 * matches its host and path prefix (TLS routes only over HTTPS, so that Caddy's automatic
 * HTTP→HTTPS redirect answers plain HTTP for them); a route without live upstream answers 502, an
 * upstream failure too (through the server's error routes), an unknown host 404.
 */
export function caddyConfig(
  table: RouteTable,
  options: CaddyConfigOptions,
): Record<string, unknown> {
  const tlsHosts = uniqueSorted(table.routes.filter((r) => r.tls).map((r) => r.domain));
  const plainHosts = uniqueSorted(
    table.routes.filter((r) => !r.tls && !tlsHosts.includes(r.domain)).map((r) => r.domain),
  );
  const listen = [`${options.bindHost ?? ""}:${options.httpPort}`];
  if (tlsHosts.length > 0) listen.push(`${options.bindHost ?? ""}:${options.httpsPort}`);

  const server: Record<string, unknown> = {
    listen,
    routes: [...table.routes.map(caddyRoute), unknownHostRoute()],
    errors: { routes: uniqueSorted(table.routes.map((r) => r.domain)).map(upstreamErrorRoute) },
    // Plain-HTTP hosts get neither a certificate nor a redirect.
    automatic_https: tlsHosts.length === 0 ? { disable: true } : { skip: plainHosts },
  };

  const apps: Record<string, unknown> = {
    http: {
      http_port: options.httpPort,
      https_port: options.httpsPort,
      servers: { [SERVER]: server },
    },
  };
  if (options.acme && tlsHosts.length > 0) {
    const issuer: Record<string, unknown> = { module: "acme", ca: options.acme.ca };
    if (options.acme.email) issuer.email = options.acme.email;
    if (options.acme.trustedRootsPemFiles?.length) {
      issuer.trusted_roots_pem_files = [...options.acme.trustedRootsPemFiles];
    }
    apps.tls = { automation: { policies: [{ subjects: tlsHosts, issuers: [issuer] }] } };
  }
  return { admin: { listen: options.adminListen }, apps };
}

function caddyRoute(route: Route): Record<string, unknown> {
  const match: Record<string, unknown> = { host: [route.domain] };
  if (route.pathPrefix !== "/") match.path = [`${route.pathPrefix}*`];
  if (route.tls) match.protocol = "https";
  const handle =
    route.upstreams.length === 0
      ? [htmlResponse(502, notRunningPage(route.domain))]
      : [
          {
            handler: "reverse_proxy",
            upstreams: route.upstreams.map((dial) => ({ dial })),
            load_balancing: loadBalancing(route),
            headers: { request: CLIENT_CLAIMS },
          },
        ];
  return { match: [match], handle, terminal: true };
}

function loadBalancing(route: Route): Record<string, unknown> {
  const policy = { selection_policy: { policy: LB_POLICIES[route.lbAlgorithm] ?? "round_robin" } };
  // When an upstream refuses the connection, try the next one at once (no try_duration: a route
  // whose only replica is down answers 502 right away instead of after waiting).
  const retries = route.upstreams.length - 1;
  return retries > 0 ? { ...policy, retries } : policy;
}

/** An upstream that fails answers with the "not running" page, keeping Caddy's status (502…). */
function upstreamErrorRoute(host: string): Record<string, unknown> {
  return {
    match: [{ host: [host] }],
    handle: [htmlResponse("{http.error.status_code}", notRunningPage(host))],
    terminal: true,
  };
}

function unknownHostRoute(): Record<string, unknown> {
  // Caddy's Host placeholder is safe in HTML: Go rejects Host headers with <, > or quotes.
  return { handle: [htmlResponse(404, noDeploymentPage("{http.request.host}"))], terminal: true };
}

function htmlResponse(status: number | string, body: string): Record<string, unknown> {
  return {
    handler: "static_response",
    status_code: status,
    headers: { "Content-Type": ["text/html; charset=utf-8"], "Cache-Control": ["no-store"] },
    body,
  };
}

function uniqueSorted(values: string[]): string[] {
  return [...new Set(values)].sort(compareStrings);
}

export interface CaddyEdgeOptions extends Omit<CaddyConfigOptions, "adminListen"> {
  /** Caddy's admin API, e.g. "http://127.0.0.1:2019". */
  adminUrl: string;
  /** Defaults to the adminUrl's host:port, so that a push never moves the admin API. */
  adminListen?: string;
  /** Per request to the admin API (default 30 s). */
  timeoutMs?: number;
}

/** Pushes the whole configuration to a running Caddy on every apply(). */
export class CaddyEdge implements EdgeAdapter {
  private readonly configOptions: CaddyConfigOptions;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: CaddyEdgeOptions) {
    this.configOptions = {
      ...options,
      adminListen: options.adminListen ?? new URL(options.adminUrl).host,
    };
  }

  /** The configuration apply() would push for this table. */
  config(table: RouteTable): Record<string, unknown> {
    return caddyConfig(table, this.configOptions);
  }

  /**
   * Resolves once Caddy runs the new configuration (certificates are obtained in the background).
   * Calls are pushed one after the other, in call order, so the last call wins.
   */
  apply(table: RouteTable): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the Caddy edge is closed"));
    const body = JSON.stringify(this.config(table));
    const push = this.queue.then(() => this.load(body));
    // The queue only orders the pushes: push's failure goes to this call's caller.
    this.queue = push.catch(() => undefined);
    return push;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  /**
   * POST /load on a connection of its own: Caddy restarts its admin endpoint after each load and
   * closes the kept-alive connections, so a pooled connection would fail the next push.
   */
  private async load(body: string): Promise<void> {
    let response: { status: number; body: string };
    try {
      response = await postFresh(
        new URL("/load", this.options.adminUrl),
        body,
        this.options.timeoutMs ?? 30_000,
      );
    } catch (error) {
      throw new DomainError("unavailable", "the Caddy admin API is unreachable", { cause: error });
    }
    if (response.status < 200 || response.status >= 300) {
      throw new DomainError(
        "unavailable",
        `Caddy refused the configuration (HTTP ${response.status}): ${response.body.slice(0, 2000)}`,
      );
    }
  }
}

function postFresh(
  url: URL,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("error", reject);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`no answer from ${url.host} in ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * The api role: one Fastify server for the Connect protocol, gRPC-Web, the REST alias and /health
 * over HTTP/1.1, and a second listener speaking cleartext HTTP/2 (h2c) for gRPC clients, which
 * need HTTP/2. The second listener hands its RPCs to the same Fastify instance (one set of
 * routes, hooks and Connect handlers in memory rather than two: docs/benchmarks.md, "Footprint"),
 * so both go through the same interceptors, behind the same bounds: a budget per client address
 * spent before anything else (address-limit.ts), and a largest body (RPC_MAX_BODY_BYTES) that
 * holds for a compressed message and for the message once inflated.
 * Prometheus's /metrics is served on a listener of its own (src/metrics/listener.ts); here only
 * when METRICS_TOKEN is set, to scrapers that send it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createH2cServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { cors as connectCors } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import fastifyCors from "@fastify/cors";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { Gauge, type Registry } from "prom-client";
import type { Authenticator } from "../auth/index.js";
import type { TrustProxy } from "../config/index.js";
import { type AppContext, VERSION } from "../core/index.js";
import { AuthService } from "../gen/obiente/cloud/auth/v1/auth_pb.js";
import { BackupService } from "../gen/obiente/cloud/backup/v1/backup_pb.js";
import { DeploymentService } from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeService } from "../gen/obiente/cloud/node/v1/node_pb.js";
import { OrganizationService } from "../gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../gen/obiente/cloud/project/v1/project_pb.js";
import { metricsAuthorized } from "../metrics/index.js";
import { rateLimitStoreOptions } from "../platform/index.js";
import { addAddressLimit } from "./address-limit.js";
import { authHandlers } from "./handlers/auth.js";
import { backupHandlers } from "./handlers/backup.js";
import { deploymentHandlers } from "./handlers/deployment.js";
import { nodeHandlers } from "./handlers/node.js";
import { organizationHandlers } from "./handlers/organization.js";
import { projectHandlers } from "./handlers/project.js";
import type { Domain } from "./handlers/services.js";
import { checkHealth } from "./health.js";
import {
  authInterceptor,
  clientIpKey,
  errorInterceptor,
  metricsInterceptor,
} from "./interceptors.js";
import { ApiMetrics } from "./metrics.js";
import { registerRestRoutes, requestAuthenticator } from "./rest.js";
import { registerWebhookRoutes } from "./webhook-routes.js";

export { VERSION };

export interface ApiServerOptions {
  ctx: AppContext;
  authenticator: Authenticator;
  /** The domain services the handlers call (src/app/domain-services.ts). */
  domain: Domain;
  /** Extra routes (the Traefik HTTP provider's endpoint, the dashboard), registered last. */
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
  /** Extra checks for /health (the metrics system, the runtime), by name. */
  healthChecks?: Record<string, () => Promise<{ ok: boolean; detail?: string }>>;
  /** The metrics system's report for /metrics/observability. */
  observability?: () => unknown;
  /** The process's Prometheus registry, where the API's metrics go (its own one otherwise). */
  registry?: Registry;
}

export interface ApiServer {
  readonly http: FastifyInstance;
  readonly metrics: ApiMetrics;
  readonly domain: Domain;
  /** Listens on host:port (HTTP/1.1) and host:grpcPort (h2c); returns the bound ports. */
  listen(host: string, port: number, grpcPort: number): Promise<{ port: number; grpcPort: number }>;
  close(): Promise<void>;
}

const RPC_PATH = /^\/obiente\.cloud\./;
/** How long calls in flight (streams above all) have to finish once the server closes. */
const SHUTDOWN_GRACE_MS = 2_000;
/** An HTTP/2 session idle this long is closed (what Fastify does for its own HTTP/2 servers). */
const H2C_SESSION_TIMEOUT_MS = 72_000;

export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { ctx, authenticator } = options;
  const { config, logger } = ctx;
  const startedAt = Date.now();
  const { domain } = options;
  const metrics = new ApiMetrics(options.registry ? { registry: options.registry } : {});
  registerPlatformGauges(metrics, ctx);
  const trustProxy = trustProxyOption(config.TRUST_PROXY);
  const addressLimit = {
    limiter: ctx.services.rateLimiter,
    max: config.RATE_LIMIT_ADDRESS_MAX ?? 4 * config.RATE_LIMIT_MAX,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
  };

  const interceptors: Interceptor[] = [
    metricsInterceptor(metrics),
    errorInterceptor(logger),
    authInterceptor(authenticator, {
      limiter: ctx.services.rateLimiter,
      max: config.RATE_LIMIT_MAX,
      windowMs: config.RATE_LIMIT_WINDOW_MS,
    }),
  ];
  const routes = (router: ConnectRouter) => {
    router.service(OrganizationService, organizationHandlers(domain));
    router.service(ProjectService, projectHandlers(domain));
    router.service(DeploymentService, deploymentHandlers(domain));
    router.service(NodeService, nodeHandlers(domain));
    router.service(AuthService, authHandlers(domain));
    router.service(BackupService, backupHandlers(domain));
  };
  const connectOptions = {
    routes,
    interceptors,
    // Parse JSON strictly: an unknown field is an error, not silently dropped.
    jsonOptions: { ignoreUnknownFields: false },
    // Connect's default is 4 GiB. The bound holds for the bytes read and, for a compressed
    // message, for the inflated size too: zlib stops (ResourceExhausted) once the output passes
    // it, rather than inflating a bomb whole. It is checked while the message is read, before
    // any interceptor (authentication included) runs.
    readMaxBytes: config.RPC_MAX_BODY_BYTES,
    contextValues: (req: { ip: string }) => {
      const values = new Map();
      return {
        get: (key: { id: symbol; defaultValue: unknown }) =>
          values.has(key.id)
            ? values.get(key.id)
            : key.id === clientIpKey.id
              ? req.ip
              : key.defaultValue,
        set(key: { id: symbol }, value: unknown) {
          values.set(key.id, value);
          return this;
        },
        delete(key: { id: symbol }) {
          values.delete(key.id);
          return this;
        },
      } as never;
    },
    shutdownTimeoutMs: SHUTDOWN_GRACE_MS,
  };

  const authenticate = requestAuthenticator(authenticator);

  // HTTP/1.1: Connect, gRPC-Web, REST, health, metrics.
  const http = Fastify({
    loggerInstance: logger.child({ component: "api" }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy,
    bodyLimit: config.RPC_MAX_BODY_BYTES,
  });
  addAddressLimit(http, addressLimit);
  await http.register(helmet, {
    // The API answers JSON; the dashboard's own policy is set where it is served.
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"] } },
  });
  await http.register(fastifyCors, {
    // Same-origin only unless the operator lists origins (CORS_ORIGINS).
    origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false,
    methods: [...connectCors.allowedMethods, "DELETE"],
    allowedHeaders: [...connectCors.allowedHeaders, "Authorization"],
    exposedHeaders: [...connectCors.exposedHeaders],
    maxAge: 7200,
  });
  await http.register(rateLimit, {
    global: true,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    // RPCs are limited by an interceptor, which answers in the RPC protocol's own terms.
    allowList: (req) => RPC_PATH.test(req.url),
    // Per authenticated user, else per address: a made-up token is no key of its own, or each
    // guess would come with a fresh budget. The request's authentication is done once, here,
    // and reused by the REST handlers.
    keyGenerator: async (req) => {
      if (RPC_PATH.test(req.url) || req.headers.authorization === undefined) return `ip:${req.ip}`;
      try {
        return `user:${(await authenticate(req)).userId}`;
      } catch {
        return `ip:${req.ip}`;
      }
    },
    ...rateLimitStoreOptions(ctx.services),
    errorResponseBuilder: (_req, context) => ({
      statusCode: 429,
      code: "resource_exhausted",
      message: `rate limit exceeded: at most ${context.max} requests per ${context.after}`,
    }),
  });
  await http.register(fastifyConnectPlugin, connectOptions);
  registerRestRoutes(http, {
    domain,
    authenticate,
    logger,
    ...(options.observability ? { observability: options.observability } : {}),
    rpcMetrics: async () => {
      const families = await Promise.all(
        ["obiente_rpc_requests_total", "obiente_rpc_duration_seconds"].map((name) =>
          metrics.registry.getSingleMetricAsString(name).catch(() => ""),
        ),
      );
      return `${families.filter((text) => text.length > 0).join("\n")}\n`;
    },
  });

  await registerWebhookRoutes(http, {
    gitLoop: domain.gitLoop,
    maxBodyBytes: config.WEBHOOK_MAX_BODY_BYTES,
    logger,
  });

  // Liveness, for what restarts processes (the image's HEALTHCHECK, Swarm): this process
  // answers. It does not ask the database or Redis: restarting the API cures neither, and during
  // their failover it would take every API replica down at once and keep them down after.
  http.get("/health/live", async (_req, reply) =>
    reply.send({
      status: "ok",
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    }),
  );
  const optional = new Set(Object.keys(options.healthChecks ?? {}));
  // Readiness, for load balancers and people: whether this process can serve the API now.
  http.get("/health", async (_req, reply) => {
    const report = await checkHealth(ctx, VERSION, startedAt, options.healthChecks ?? {});
    // 503 only when this process cannot serve the API at all (its database or its platform
    // services); a degraded engine or metrics system is reported with 200, so that a load
    // balancer keeps sending the calls the API can still answer.
    const essential = Object.entries(report.checks).filter(([name]) => !optional.has(name));
    return reply.status(essential.every(([, c]) => c.ok) ? 200 : 503).send(report);
  });
  const metricsToken = config.METRICS_TOKEN;
  if (metricsToken) {
    // Tenants' deployment and project ids are in there: only for scrapers holding the token.
    http.get("/metrics", async (req, reply) => {
      if (!metricsAuthorized(req.headers.authorization, metricsToken)) {
        return reply
          .status(401)
          .header("www-authenticate", "Bearer")
          .send({ code: "unauthenticated", message: "send the metrics token (METRICS_TOKEN)" });
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  } else {
    http.get("/metrics", async (_req, reply) =>
      reply.status(404).send({
        code: "not_found",
        message:
          "Prometheus metrics are served on the metrics listener (METRICS_HOST:METRICS_PORT), or here with METRICS_TOKEN set",
      }),
    );
  }
  await options.extraRoutes?.(http);
  http.addHook("onResponse", async (req, reply) => {
    if (RPC_PATH.test(req.url)) return;
    metrics.http.observe(
      { route: req.routeOptions.url ?? "unknown", status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // h2c: gRPC (and Connect over HTTP/2), through the Fastify instance above. Only the RPCs: the
  // REST alias, the dashboard and /health are for HTTP/1.1 clients.
  const grpc = createH2cServer((req, res) => {
    if (RPC_PATH.test(req.url)) {
      // Fastify's handler serves HTTP/2 requests too (it tells them by httpVersionMajor, as for
      // its own HTTP/2 servers); its type names the HTTP/1.1 server's.
      http.routing(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      return;
    }
    res.writeHead(404, { "content-type": "application/json; charset=utf-8" });
    res.end(
      JSON.stringify({
        code: "not_found",
        message: `${req.method} ${req.url}: this listener (GRPC_PORT) serves the RPCs only`,
      }),
    );
  });
  // Node before 24 does not close HTTP/2 sessions when the server closes: an idle gRPC client
  // would keep the server open. They are closed by hand, see close().
  const sessions = new Set<Http2Session>();
  grpc.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.setTimeout(H2C_SESSION_TIMEOUT_MS, () => session.close());
  });

  let closing: Promise<void> | undefined;
  return {
    http,
    metrics,
    domain,
    async listen(host, port, grpcPort) {
      await http.listen({ host, port });
      await new Promise<void>((resolve, reject) => {
        grpc.once("error", reject);
        grpc.listen(grpcPort, host, () => {
          grpc.off("error", reject);
          resolve();
        });
      });
      return {
        port: (http.server.address() as AddressInfo).port,
        grpcPort: (grpc.address() as AddressInfo).port,
      };
    },
    /**
     * Stops accepting calls, gives the calls in flight SHUTDOWN_GRACE_MS (then streams are
     * ended), and closes connections as soon as they are idle, rather than waiting for clients
     * to hang up: keep-alive HTTP/1.1 connections and HTTP/2 sessions (which are sent GOAWAY at
     * once). Whatever is still open a second after the grace period is cut.
     */
    close() {
      closing ??= (async () => {
        for (const session of sessions) session.close();
        const idle = setInterval(() => http.server.closeIdleConnections(), 100);
        const cut = setTimeout(() => {
          http.server.closeAllConnections();
          for (const session of sessions) session.destroy();
        }, SHUTDOWN_GRACE_MS + 1_000);
        const grpcClosed = new Promise<void>((resolve) => {
          if (!grpc.listening) resolve();
          else grpc.close(() => resolve());
        });
        try {
          await Promise.all([http.close(), grpcClosed]);
        } finally {
          clearInterval(idle);
          clearTimeout(cut);
        }
      })();
      return closing;
    },
  };
}

/**
 * Fastify's form of TRUST_PROXY. A hop count trusts that many proxies whatever their address
 * (Fastify itself takes a number as "trust nobody"): right only when nothing but the proxies can
 * reach the API, which docs/security-api.md says.
 */
function trustProxyOption(
  trust: TrustProxy,
): false | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false) return false;
  if (typeof trust === "number") return (_address, hop) => hop < trust;
  return trust;
}

/** Gauges read at scrape time from the platform services. */
function registerPlatformGauges(metrics: ApiMetrics, ctx: AppContext) {
  new Gauge({
    name: "obiente_cache_hits_total",
    help: "API response cache hits in this process",
    registers: [metrics.registry],
    collect() {
      this.set(ctx.services.cache.stats().hits);
    },
  });
  new Gauge({
    name: "obiente_cache_misses_total",
    help: "API response cache misses in this process",
    registers: [metrics.registry],
    collect() {
      this.set(ctx.services.cache.stats().misses);
    },
  });
}

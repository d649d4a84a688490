/**
 * The api role: one Fastify server for the Connect protocol, gRPC-Web, the REST alias, /health
 * and /metrics over HTTP/1.1, and a second listener speaking cleartext HTTP/2 (h2c) for gRPC
 * clients, which need HTTP/2. Both serve the same routes through the same interceptors.
 */
import { readFileSync } from "node:fs";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { cors as connectCors } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import fastifyCors from "@fastify/cors";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { Gauge } from "prom-client";
import type { AppContext } from "../app/context.js";
import type { Authenticator } from "../auth/authenticator.js";
import { AuthService } from "../gen/obiente/cloud/auth/v1/auth_pb.js";
import { DeploymentService } from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { NodeService } from "../gen/obiente/cloud/node/v1/node_pb.js";
import { OrganizationService } from "../gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../gen/obiente/cloud/project/v1/project_pb.js";
import { rateLimitStoreOptions } from "../platform/index.js";
import type { UrlOf } from "./convert.js";
import { authHandlers } from "./handlers/auth.js";
import { deploymentHandlers } from "./handlers/deployment.js";
import { nodeHandlers } from "./handlers/node.js";
import { organizationHandlers } from "./handlers/organization.js";
import { projectHandlers } from "./handlers/project.js";
import { type Domain, domainServices } from "./handlers/services.js";
import { checkHealth } from "./health.js";
import {
  authInterceptor,
  clientIpKey,
  errorInterceptor,
  metricsInterceptor,
  rateLimitInterceptor,
} from "./interceptors.js";
import { ApiMetrics } from "./metrics.js";
import { registerRestRoutes } from "./rest.js";

export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

export interface ApiServerOptions {
  ctx: AppContext;
  authenticator: Authenticator;
  /** The URL of a deployment's domain, as the edge serves it. */
  urlOf?: UrlOf;
  /** Extra checks for /health (the metrics system, the runtime), by name. */
  healthChecks?: Record<string, () => Promise<{ ok: boolean; detail?: string }>>;
}

export interface ApiServer {
  readonly http: FastifyInstance;
  readonly grpc: FastifyInstance;
  readonly metrics: ApiMetrics;
  readonly domain: Domain;
  /** Listens on host:port (HTTP/1.1) and host:grpcPort (h2c); returns the bound ports. */
  listen(host: string, port: number, grpcPort: number): Promise<{ port: number; grpcPort: number }>;
  close(): Promise<void>;
}

const RPC_PATH = /^\/obiente\.cloud\./;

export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { ctx, authenticator } = options;
  const { config, logger } = ctx;
  const startedAt = Date.now();
  const urlOf = options.urlOf ?? ((d: string) => `http://${d}`);
  const domain = domainServices(ctx, urlOf);
  const metrics = new ApiMetrics();
  registerPlatformGauges(metrics, ctx);

  const interceptors: Interceptor[] = [
    metricsInterceptor(metrics),
    errorInterceptor(logger),
    rateLimitInterceptor(ctx.services.rateLimiter, {
      max: config.RATE_LIMIT_MAX,
      windowMs: config.RATE_LIMIT_WINDOW_MS,
    }),
    authInterceptor(authenticator),
  ];
  const routes = (router: ConnectRouter) => {
    router.service(OrganizationService, organizationHandlers(domain));
    router.service(ProjectService, projectHandlers(domain));
    router.service(DeploymentService, deploymentHandlers(domain));
    router.service(NodeService, nodeHandlers(domain));
    router.service(AuthService, authHandlers(domain));
  };
  const connectOptions = {
    routes,
    interceptors,
    // Parse JSON strictly: an unknown field is an error, not silently dropped.
    jsonOptions: { ignoreUnknownFields: false },
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
    shutdownTimeoutMs: 2_000,
  };

  // HTTP/1.1: Connect, gRPC-Web, REST, health, metrics.
  const http = Fastify({
    loggerInstance: logger.child({ component: "api" }) as FastifyBaseLogger,
    disableRequestLogging: true,
    trustProxy: config.TRUST_PROXY,
    bodyLimit: 1024 * 1024,
  });
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
    keyGenerator: (req) =>
      req.headers.authorization ? `tok:${req.headers.authorization.slice(-24)}` : `ip:${req.ip}`,
    ...rateLimitStoreOptions(ctx.services),
    errorResponseBuilder: (_req, context) => ({
      statusCode: 429,
      code: "resource_exhausted",
      message: `rate limit exceeded: at most ${context.max} requests per ${context.after}`,
    }),
  });
  await http.register(fastifyConnectPlugin, connectOptions);
  registerRestRoutes(http, { domain, authenticator, logger });

  http.get("/health", async (_req, reply) => {
    const report = await checkHealth(ctx, VERSION, startedAt, options.healthChecks ?? {});
    return reply.status(report.status === "ok" ? 200 : 503).send(report);
  });
  http.get("/metrics", async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  http.addHook("onResponse", async (req, reply) => {
    if (RPC_PATH.test(req.url)) return;
    metrics.http.observe(
      { route: req.routeOptions.url ?? "unknown", status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // h2c: gRPC (and Connect over HTTP/2).
  const grpc = Fastify({
    http2: true,
    loggerInstance: logger.child({ component: "grpc" }) as FastifyBaseLogger,
    disableRequestLogging: true,
  });
  await grpc.register(fastifyConnectPlugin, connectOptions);

  let closing: Promise<void> | undefined;
  return {
    http,
    grpc: grpc as unknown as FastifyInstance,
    metrics,
    domain,
    async listen(host, port, grpcPort) {
      await http.listen({ host, port });
      await grpc.listen({ host, port: grpcPort });
      const portOf = (app: { server: { address(): unknown } }) =>
        (app.server.address() as { port: number }).port;
      return { port: portOf(http), grpcPort: portOf(grpc) };
    },
    close() {
      closing ??= Promise.all([http.close(), grpc.close()]).then(() => undefined);
      return closing;
    },
  };
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

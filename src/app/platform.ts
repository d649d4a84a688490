/**
 * The composition root: reads the configuration's choices (PGlite or PostgreSQL, in-process
 * services or Redis, which roles) and starts what this process runs. `obiente up` runs every
 * role here on the embedded defaults.
 */
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { bootstrap } from "../accounts/bootstrap.js";
import { storeAuthLookups } from "../accounts/lookups.js";
import { registerDashboard } from "../api/dashboard.js";
import { type ApiServer, createApiServer } from "../api/server.js";
import { Authenticator } from "../auth/authenticator.js";
import { OidcVerifier } from "../auth/oidc-verifier.js";
import type { Config } from "../config/config.js";
import { SecretBox } from "../crypto/secret-box.js";
import { createPlatformServices } from "../platform/index.js";
import { type Database, migrate, openDatabase } from "../store/index.js";
import { registerCaddyProvider } from "./caddy-provider.js";
import type { AppContext } from "./context.js";
import { type Deploying, startDeploying } from "./deploying.js";
import { loadMasterKey } from "./master-key.js";
import { type RunningMetrics, serveAgentMetrics, startMetrics } from "./metrics.js";
import { registerTraefikProvider } from "./traefik-provider.js";

/** The roles that need the container engine, the builder or the edge. */
const needsDeploying = (config: Config) =>
  config.ROLES.some((role) => role === "controller" || role === "agent" || role === "edge");

export interface RunningPlatform {
  readonly ctx: AppContext;
  readonly database: Database;
  readonly api?: ApiServer;
  readonly deploying?: Deploying;
  readonly metrics: RunningMetrics;
  /** Bound ports, when the api role runs. */
  readonly ports?: { http: number; grpc: number };
  /** The first-start administrator token, when this start created it. */
  readonly bootstrapToken?: string;
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.LOG_LEVEL, base: { pid: process.pid } });
}

export async function startPlatform(
  config: Config,
  logger = createLogger(config),
): Promise<RunningPlatform> {
  const dataDir = resolve(config.DATA_DIR);
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => logger.warn({ err: error }, "error while closing"));
    }
  };
  try {
    const database = await openDatabase(
      config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: join(dataDir, "data") },
    );
    cleanups.push(() => database.close());
    const { applied } = await migrate(database);
    if (applied.length > 0) logger.info({ applied }, "database migrated");

    const masterKey = await loadMasterKey(
      { fromEnv: config.SECRETS_MASTER_KEY, dataDir, shared: config.DATABASE_URL !== undefined },
      logger,
    );
    const services = await createPlatformServices({
      ...(config.REDIS_URL ? { redisUrl: config.REDIS_URL } : {}),
      keyPrefix: config.REDIS_KEY_PREFIX,
      cacheTtlMs: config.CACHE_TTL_SECONDS * 1000,
      logger,
    });
    cleanups.push(() => services.close());

    const ctx: AppContext & { database: Database } = {
      config,
      db: database.db,
      database,
      services,
      secrets: new SecretBox(masterKey),
      logger,
      now: () => new Date(),
    };

    const first = await bootstrap(database.db, config.BOOTSTRAP_ADMIN_EMAIL);

    const deploying = needsDeploying(config) ? await startDeploying(ctx, config) : undefined;
    if (deploying) cleanups.push(() => deploying.close());
    const metrics = await startMetrics(ctx, config, database, deploying);
    cleanups.push(() => metrics.close());
    const metricsHealth = async () => {
      const { status, reasons } = metrics.system.health();
      return {
        ok: status === "healthy",
        ...(reasons.length ? { detail: reasons.join("; ") } : {}),
      };
    };

    let api: ApiServer | undefined;
    let ports: { http: number; grpc: number } | undefined;
    if (config.ROLES.includes("api")) {
      const authenticator = new Authenticator({
        lookups: storeAuthLookups(database.db),
        ...(config.OIDC_ISSUER
          ? {
              oidc: new OidcVerifier({
                issuer: config.OIDC_ISSUER,
                audience: config.OIDC_AUDIENCE ?? [],
                ...(config.OIDC_JWKS_URI ? { jwksUri: config.OIDC_JWKS_URI } : {}),
                ...(config.OIDC_ALGORITHMS ? { algorithms: config.OIDC_ALGORITHMS } : {}),
              }),
            }
          : {}),
        onBackgroundError: (error) =>
          logger.warn({ err: error }, "recording a token's last use failed"),
      });
      api = await createApiServer({
        ctx,
        authenticator,
        ...(metrics.system.service ? { metrics: metrics.system.service } : {}),
        healthChecks: { metrics: metricsHealth },
        observability: () => metrics.system.observability(),
        ...(deploying
          ? {
              urlOf: deploying.urlOf,
              logs: deploying.logs,
              healthChecks: {
                metrics: metricsHealth,
                docker: async () => {
                  try {
                    await deploying.runtime.ping();
                    return { ok: true };
                  } catch (error) {
                    return {
                      ok: false,
                      detail: error instanceof Error ? error.message : String(error),
                    };
                  }
                },
              },
            }
          : {}),
        extraRoutes: async (app: FastifyInstance) => {
          if (config.EDGE === "traefik") registerTraefikProvider(app, ctx, config);
          if (config.EDGE === "caddy" && config.CADDY_MODE === "pull") {
            registerCaddyProvider(app, ctx, config);
          }
          await registerDashboard(app, {
            oidc: { issuer: config.OIDC_ISSUER, clientId: config.OIDC_CLIENT_ID },
          });
        },
      });
      cleanups.push(() => api?.close() ?? Promise.resolve());
      metrics.system.registerPrometheus(api.metrics.registry);
      const bound = await api.listen(config.HOST, config.PORT, config.GRPC_PORT);
      ports = { http: bound.port, grpc: bound.grpcPort };
    }

    if (!api && metrics.system.collector) {
      const served = await serveAgentMetrics(
        metrics.system,
        config.HOST,
        config.AGENT_METRICS_PORT,
      );
      cleanups.push(() => served.close());
      logger.info({ url: `http://${config.HOST}:${served.port}/metrics` }, "agent metrics");
    }

    if (first) announceBootstrap(first.email, first.token, config, ports?.http ?? config.PORT);
    // Logged after the banner: tests (and people) who wait for this line find the token before it.
    if (ports)
      logger.info(
        { url: `http://${config.HOST}:${ports.http}`, grpcPort: ports.grpc },
        "api listening",
      );

    return {
      ctx,
      database,
      ...(api ? { api } : {}),
      ...(deploying ? { deploying } : {}),
      metrics,
      ...(ports ? { ports } : {}),
      ...(first ? { bootstrapToken: first.token } : {}),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The first start's token, printed once to stdout, apart from the JSON logs. */
function announceBootstrap(email: string, token: string, config: Config, port: number) {
  const lines = [
    "",
    "  Obiente Cloud is set up. An administrator was created:",
    `    user:  ${email}`,
    `    token: ${token}`,
    "",
    "  This token is shown once and only its hash is kept. Use it as",
    `    export OBIENTE_TOKEN=${token}`,
    `    obiente login --api http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${port} --token $OBIENTE_TOKEN`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

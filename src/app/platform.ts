/**
 * The composition root: reads the configuration's choices (PGlite or PostgreSQL, in-process
 * services or Redis, which roles) and starts what this process runs. `obiente up` runs every
 * role here on the embedded defaults.
 */
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { BootstrapTokenExpiry, bootstrap, writeBootstrapTokenFile } from "../accounts/index.js";
import type { ApiServer } from "../api/index.js";
import type { Config } from "../config/index.js";
import type { AppContext } from "../core/index.js";
import { sealGitCredentials } from "../deployments/index.js";
import { edgeTls, edgeUrl } from "../edge/index.js";
import { processRegistry, serveMetrics } from "../metrics/index.js";
import { createPlatformServices } from "../platform/index.js";
import { type Database, migrate, openDatabase } from "../store/index.js";
import type { Deploying } from "./deploying.js";
import { loadSecretBox } from "./master-key.js";
import { type RunningMetrics, startMetrics } from "./metrics.js";

// What a role needs is imported where the role starts (import() below), so that a process loads
// only the roles and adapters it runs: no Docker client (dockerode), builder, controller or edge
// without those roles, no Fastify or Connect server without the api role, no OIDC client without
// an issuer, no Traefik provider without EDGE=traefik. The types stay static.

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
  /** The port of this process's Prometheus listener (METRICS_HOST). */
  readonly metricsPort: number;
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

    const secrets = await loadSecretBox(
      {
        fromEnv: config.SECRETS_MASTER_KEY,
        previous: config.SECRETS_MASTER_KEY_PREVIOUS,
        dataDir,
        shared: config.DATABASE_URL !== undefined,
      },
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
      secrets,
      logger,
      now: () => new Date(),
    };

    // Credentials still written in repository URLs (older deployments) move to the sealed table.
    const sealed = await sealGitCredentials(ctx);
    if (sealed > 0) logger.info({ deployments: sealed }, "git credentials moved out of URLs");

    const first = await bootstrap(database.db, config.BOOTSTRAP_ADMIN_EMAIL);
    const tokenFile = first ? await writeBootstrapTokenFile(dataDir, first.token) : undefined;
    const bootstrapExpiry = new BootstrapTokenExpiry({
      db: database.db,
      ttlMs: config.BOOTSTRAP_TOKEN_TTL_HOURS * 3_600_000,
      dataDir,
      logger,
    });
    await bootstrapExpiry.start();
    cleanups.push(() => bootstrapExpiry.close());

    const deploying = needsDeploying(config)
      ? await (await import("./deploying.js")).startDeploying(ctx, config)
      : undefined;
    if (deploying) cleanups.push(() => deploying.close());
    const metrics = await startMetrics(ctx, config, database, deploying);
    cleanups.push(() => metrics.close());
    const registry = processRegistry();
    metrics.system.registerPrometheus(registry);
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
      const [
        { createApiServer },
        { Authenticator },
        { storeAuthLookups },
        { registerDashboard },
        { domainServices },
      ] = await Promise.all([
        import("../api/server.js"),
        import("../auth/authenticator.js"),
        import("../accounts/lookups.js"),
        import("../api/dashboard.js"),
        import("./domain-services.js"),
      ]);
      const oidc = config.OIDC_ISSUER
        ? new (await import("../auth/oidc-verifier.js")).OidcVerifier({
            issuer: config.OIDC_ISSUER,
            audience: config.OIDC_AUDIENCE ?? [],
            ...(config.OIDC_JWKS_URI ? { jwksUri: config.OIDC_JWKS_URI } : {}),
            ...(config.OIDC_ALGORITHMS ? { algorithms: config.OIDC_ALGORITHMS } : {}),
          })
        : undefined;
      const registerTraefikProvider =
        config.EDGE === "traefik"
          ? (await import("./traefik-provider.js")).registerTraefikProvider
          : undefined;
      const registerCaddyProvider =
        config.EDGE === "caddy" && config.CADDY_MODE === "pull"
          ? (await import("./caddy-provider.js")).registerCaddyProvider
          : undefined;
      const authenticator = new Authenticator({
        lookups: storeAuthLookups(database.db, { signup: config.SIGNUP }),
        ...(oidc ? { oidc } : {}),
        onBackgroundError: (error) =>
          logger.warn({ err: error }, "recording a token's last use failed"),
      });
      api = await createApiServer({
        ctx,
        authenticator,
        registry,
        domain: domainServices(
          ctx,
          // The API alone (ROLES=api, as in the stack) shows the same URLs as the edge serves.
          deploying?.urlOf ?? ((domain: string) => edgeUrl(edgeTls(config), domain)),
          deploying?.logs,
          metrics.system.service,
        ),
        healthChecks: { metrics: metricsHealth },
        observability: () => metrics.system.observability(),
        ...(deploying
          ? {
              healthChecks: {
                metrics: metricsHealth,
                ...(deploying.firewall
                  ? { isolation: async () => deploying.firewall?.health() ?? { ok: true } }
                  : {}),
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
          registerTraefikProvider?.(app, ctx, config);
          registerCaddyProvider?.(app, ctx, config);
          await registerDashboard(app, {
            oidc: { issuer: config.OIDC_ISSUER, clientId: config.OIDC_CLIENT_ID },
          });
        },
      });
      cleanups.push(() => api?.close() ?? Promise.resolve());
      const bound = await api.listen(config.HOST, config.PORT, config.GRPC_PORT);
      ports = { http: bound.port, grpc: bound.grpcPort };
    }

    const metricsListener = await serveMetrics(registry, {
      host: config.METRICS_HOST,
      port: config.METRICS_PORT,
      token: config.METRICS_TOKEN,
    });
    cleanups.push(() => metricsListener.close());
    logger.info(
      { url: `http://${config.METRICS_HOST}:${metricsListener.port}/metrics` },
      "prometheus metrics",
    );

    if (first && tokenFile) {
      announceBootstrap(first.email, first.token, tokenFile, config, ports?.http ?? config.PORT);
    }
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
      metricsPort: metricsListener.port,
      ...(first ? { bootstrapToken: first.token } : {}),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The first start's token, printed once to stdout, apart from the JSON logs, and kept in a file
 * only this user may read until it lapses.
 */
function announceBootstrap(
  email: string,
  token: string,
  file: string,
  config: Config,
  port: number,
) {
  const lines = [
    "",
    "  Obiente Cloud is set up. An administrator was created:",
    `    user:  ${email}`,
    `    token: ${token}`,
    `    file:  ${file} (mode 0600)`,
    "",
    "  This token is shown once and the database keeps only its hash. It stops working",
    `  ${config.BOOTSTRAP_TOKEN_TTL_HOURS} h after another administrator token or an OIDC administrator exists. Use it as`,
    `    export OBIENTE_TOKEN=${token}`,
    `    obiente login --api http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${port} --token $OBIENTE_TOKEN`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

/**
 * Wires the roles that deploy: the agent (the local engine's heartbeat), the edge (built-in
 * proxy, Caddy or Traefik) and the controller (jobs, deployer, reconciler). A missing Docker
 * engine does not stop the platform: the node shows as down with the reason, and deployments
 * fail at once saying where the engine was looked for.
 */
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import Dockerode from "dockerode";
import { Heartbeat } from "../agent/heartbeat.js";
import { BUILD_ID_LABEL, buildImage, DEPLOYMENT_ID_LABEL } from "../builder/index.js";
import type { Config } from "../config/config.js";
import { Controller } from "../controller/controller.js";
import { Deployer } from "../controller/deployer.js";
import { installationId } from "../controller/installation.js";
import type { BuilderPort, ContainerRef, EdgePort, RuntimePort } from "../controller/ports.js";
import { Reconciler } from "../controller/reconciler.js";
import { RouteSync } from "../controller/routing.js";
import { BuiltinEdge } from "../edge/builtin-edge.js";
import { CaddyEdge } from "../edge/caddy.js";
import { traefikLabels } from "../edge/traefik.js";
import { DEFAULT_DOCKER_HOST, dockerOptions } from "../runtime/docker-host.js";
import { DockerRuntime } from "../runtime/docker-runtime.js";
import type { AppContext } from "./context.js";

export interface Deploying {
  runtime: DockerRuntime;
  routes: RouteSync;
  deployer: Deployer;
  reconciler: Reconciler;
  heartbeat: Heartbeat;
  edgePort: number | undefined;
  /** The URL a domain is served at through this platform's edge. */
  urlOf(domain: string): string;
  close(): Promise<void>;
}

export async function startDeploying(ctx: AppContext, config: Config): Promise<Deploying> {
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) =>
        ctx.logger.warn({ err: error }, "error while closing"),
      );
    }
  };
  try {
    const docker = new Dockerode(dockerOptions(config.DOCKER_HOST ?? DEFAULT_DOCKER_HOST).options);
    const runtime = new DockerRuntime({
      docker,
      portRange: config.PORT_RANGE,
      hostAddress: config.HOST_ADDRESS,
      logger: ctx.logger,
    });

    // The edge.
    const edges: EdgePort[] = [];
    let edgePort: number | undefined;
    if (config.ROLES.includes("edge") && config.EDGE === "builtin") {
      const edge = new BuiltinEdge({
        host: config.EDGE_HOST,
        port: config.EDGE_PORT,
        logger: ctx.logger,
      });
      edgePort = (await edge.start()).port;
      cleanups.push(() => edge.close());
      edges.push(edge);
      ctx.logger.info({ url: `http://${config.EDGE_HOST}:${edgePort}` }, "built-in edge listening");
    } else if (config.EDGE === "caddy") {
      const edge = new CaddyEdge({
        adminUrl: config.CADDY_ADMIN_URL,
        httpPort: config.CADDY_HTTP_PORT,
        httpsPort: config.CADDY_HTTPS_PORT,
        ...(config.ACME_CA
          ? {
              acme: {
                ca: config.ACME_CA,
                ...(config.ACME_EMAIL ? { email: config.ACME_EMAIL } : {}),
                ...(config.ACME_CA_ROOT ? { trustedRootsPemFiles: [config.ACME_CA_ROOT] } : {}),
              },
            }
          : {}),
      });
      cleanups.push(() => edge.close());
      edges.push(edge);
    }
    // Traefik reads the route table from the API (see src/app/platform.ts), nothing to push.
    const routes = new RouteSync(ctx.db, edges, ctx.logger);

    const heartbeat = new Heartbeat({
      db: ctx.db,
      engine: runtime,
      address: config.HOST_ADDRESS,
      intervalMs: 5_000,
      maxDeployments: 50,
      logger: ctx.logger,
    });
    if (config.ROLES.includes("agent")) {
      await heartbeat.start();
      cleanups.push(() => heartbeat.close());
    }

    const workRoot = resolve(config.DATA_DIR, "builds");
    await mkdir(workRoot, { recursive: true });
    const builder: BuilderPort = {
      build: (request) =>
        buildImage({
          docker,
          buildId: request.buildId,
          deploymentId: request.deploymentId,
          gitRepo: request.gitRepo,
          branch: request.branch,
          workRoot,
          limits: {
            timeoutMs: config.BUILD_TIMEOUT_SECONDS * 1000,
            maxRepoBytes: config.BUILD_MAX_REPO_MB * 1024 * 1024,
          },
          images: { nodeImage: config.NODE_BASE_IMAGE, staticImage: config.STATIC_BASE_IMAGE },
          allowFile: config.GIT_ALLOW_FILE,
          onLog: request.onLog,
          ...(request.signal ? { signal: request.signal } : {}),
        }),
      // Fix: added, so that the deployer can remove what a build cut short by a crash left.
      discard: async (buildId) => {
        if (!/^[0-9a-f-]{36}$/.test(buildId)) return; // a UUID: never a path outside workRoot
        await rm(join(workRoot, buildId), { recursive: true, force: true });
        const images = await docker.listImages({
          all: true,
          filters: { label: [`${BUILD_ID_LABEL}=${buildId}`] },
        });
        for (const image of images) {
          await docker
            .getImage(image.Id)
            .remove({ force: true })
            .catch(() => undefined);
        }
      },
    };

    const networkLocks = new Map<string, Promise<void>>();
    const runtimePort: RuntimePort = {
      endpoint: runtime.endpoint,
      hostAddress: config.HOST_ADDRESS,
      ping: () => runtime.ping(),
      // Fix: one at a time per network. Deployments of one project converging at once (the job
      // worker runs two) each found the project's network missing and each created it; Docker
      // allows twins of a name, and a container started on that name before the runtime removed
      // the twin failed with "network … is ambiguous", failing its deployment.
      ensureNetwork: (name, labels) => {
        const previous = networkLocks.get(name) ?? Promise.resolve();
        const next = previous
          .catch(() => undefined)
          .then(async () => {
            await runtime.ensureNetwork(name, labels);
          });
        networkLocks.set(name, next);
        void next
          .finally(() => {
            if (networkLocks.get(name) === next) networkLocks.delete(name);
          })
          .catch(() => undefined);
        return next;
      },
      run: (spec) => runtime.run(spec),
      waitHealthy: (id, options) => runtime.waitHealthy(id, options),
      stop: (id) => runtime.stop(id, { timeoutSec: config.STOP_TIMEOUT_SECONDS }),
      remove: (id) => runtime.remove(id),
      removeImage: async (id) => {
        await runtime.removeImage(id);
      },
      // Fix: added, for the deployer to clean up after a deployment deleted while it deployed.
      removeImagesOf: async (deploymentId) => {
        const images = await docker.listImages({
          all: true,
          filters: { label: [`${DEPLOYMENT_ID_LABEL}=${deploymentId}`] },
        });
        for (const image of images) {
          await docker
            .getImage(image.Id)
            .remove({ force: true })
            .catch(() => undefined);
        }
      },
      list: async (filter) =>
        (await runtime.list(filter)).map(
          (c): ContainerRef => ({
            id: c.id,
            name: c.name,
            state: c.state,
            health: c.health,
            labels: c.labels,
            hostPort: c.hostPort,
          }),
        ),
    };

    const tls = config.EDGE === "caddy" ? config.ACME_CA !== undefined : config.EDGE === "traefik";
    const installation = await installationId(ctx.db);
    const deployer = new Deployer({
      installationId: installation,
      ctx,
      runtime: runtimePort,
      builder,
      routes,
      nodeId: () => heartbeat.nodeId,
      extraLabels: (deployment, domains, port) =>
        traefikLabels({
          deploymentId: deployment.id,
          domains,
          port,
          tls,
          certResolver: config.TRAEFIK_CERT_RESOLVER,
        }),
      defaults: {
        cpuMillicores: config.DEFAULT_CPU_MILLICORES,
        memoryMb: config.DEFAULT_MEMORY_MB,
      },
      healthTimeoutMs: config.HEALTH_TIMEOUT_SECONDS * 1000,
    });
    const reconciler = new Reconciler({
      db: ctx.db,
      runtime: runtimePort,
      deployer,
      routes,
      intervalMs: config.RECONCILE_INTERVAL_SECONDS * 1000,
      orphanPolicy: config.ORPHAN_POLICY,
      installationId: installation,
      logger: ctx.logger,
    });
    if (config.ROLES.includes("controller")) {
      const controller = new Controller({ ctx, deployer, reconciler });
      controller.start();
      cleanups.push(() => controller.close());
      // The edge starts empty: give it the routes recorded before this start.
      await routes.sync().catch(() => undefined);
    }

    const urlOf = (domain: string) => {
      if (config.EDGE === "builtin")
        return `http://${domain}${edgePort && edgePort !== 80 ? `:${edgePort}` : ""}`;
      if (config.EDGE === "caddy") {
        return config.ACME_CA
          ? `https://${domain}${config.CADDY_HTTPS_PORT !== 443 ? `:${config.CADDY_HTTPS_PORT}` : ""}`
          : `http://${domain}${config.CADDY_HTTP_PORT !== 80 ? `:${config.CADDY_HTTP_PORT}` : ""}`;
      }
      return `${tls ? "https" : "http"}://${domain}`;
    };
    return { runtime, routes, deployer, reconciler, heartbeat, edgePort, urlOf, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export const buildsFolder = (config: Config) => join(resolve(config.DATA_DIR), "builds");

/**
 * Wires the roles that deploy: the agent (the local engine's heartbeat), the edge (built-in
 * proxy, Caddy or Traefik) and the controller (jobs, deployer, reconciler). A missing Docker
 * engine does not stop the platform: the node shows as down with the reason, and deployments
 * fail at once saying where the engine was looked for.
 *
 * Cluster mode (RUNTIME=swarm): DOCKER_HOST is a Swarm manager's engine, which also builds.
 * Each replica is a Swarm service pinned to the node the scheduler chose, its image copied to
 * that node's engine first (SWARM_NODE_SOCKETS), or pushed to a registry (REGISTRY). An
 * agent runs on every node against that node's engine: where the engine is a manager, it records
 * every node of the Swarm (src/agent/swarm-nodes.ts); on every node, its metrics go under the
 * node's Swarm node id (src/agent/swarm-membership.ts, src/app/metrics.ts).
 *
 * The engine clients load dockerode, so src/runtime's index offers their types only: they are
 * imported from their modules here, where the engines start, in a module that only the roles
 * running an engine load (with import(), src/app/platform.ts).
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import Dockerode from "dockerode";
import {
  clusterFromDb,
  Heartbeat,
  type NetworkFirewall,
  SwarmMembership,
  SwarmNodeSync,
  startNetworkIsolation,
} from "../agent/index.js";
import { ImageBuilder } from "../builder/index.js";
import type { Config } from "../config/index.js";
import {
  BuildStep,
  type ClusterOptions,
  Controller,
  clusterOptionsOf,
  DatabaseDeploymentRecords,
  Deployer,
  installationId,
  Placer,
  Reconciler,
  RouteSync,
  removeAbandoned,
} from "../controller/index.js";
import type { AppContext } from "../core/index.js";
import { DeploymentService, detectOptionsOf } from "../deployments/index.js";
import { DomainRecheck, dnsTxtLookup } from "../domains/index.js";
import {
  BuiltinEdge,
  CaddyEdge,
  type EdgeAdapter,
  edgeTls,
  edgeUrl,
  traefikLabels,
} from "../edge/index.js";
import { Periodic } from "../platform/index.js";
import { DockerRuntime } from "../runtime/docker-runtime.js";
import {
  DEFAULT_DOCKER_HOST,
  DockerRuntimePort,
  dockerOptions,
  engineCredentials,
  type LogLine,
  type LogOptions,
  type RuntimePort,
  SwarmRuntimePort,
  swarmCluster,
} from "../runtime/index.js";
import { RegistryImages } from "../runtime/registry.js";
import { SwarmRuntime } from "../runtime/swarm-runtime.js";
import { buildStepDeps, controllerDeps, deploymentRecordsDeps } from "./controller-deps.js";
import { deploymentServiceDeps } from "./service-deps.js";

export {
  type ClusterConfig,
  type ClusterOptions,
  clusterOptionsOf,
  placementGuard,
} from "../controller/index.js";

/** Reads a deployment's log lines, whatever runs it (a container, or a Swarm service). */
export interface DeploymentLogs {
  list(filter: { deploymentId: string }): Promise<Array<{ id: string }>>;
  logs(id: string, options: LogOptions): AsyncIterable<LogLine>;
}

export interface Deploying {
  /** The local engine (DOCKER_HOST): on a cluster, the manager's own containers only. */
  runtime: DockerRuntime;
  /** The Swarm, in cluster mode. */
  swarm: SwarmRuntime | undefined;
  /** Where a deployment's logs come from: its containers, or its Swarm services. */
  logs: DeploymentLogs;
  /** The agent's record of the Swarm's nodes, in cluster mode with the agent role. */
  nodeSync: SwarmNodeSync | undefined;
  /** The agent's isolation rules on this node (NETWORK_ISOLATION=on, agent role). */
  firewall: NetworkFirewall | undefined;
  /**
   * This node's id, under which its metrics are recorded: the local engine's Swarm node id in
   * cluster mode, the engine's id otherwise ("local" until the engine has answered).
   */
  nodeId(): string;
  /** Cluster mode: the leading controller (undefined without the controller role). */
  controller: Controller | undefined;
  routes: RouteSync;
  deployer: Deployer;
  reconciler: Reconciler;
  heartbeat: Heartbeat;
  /** This installation's id (label cloud.obiente.installation on its containers). */
  installation: string;
  edgePort: number | undefined;
  /** The URL a domain is served at through this platform's edge. */
  urlOf(domain: string): string;
  close(): Promise<void>;
}

export async function startDeploying(
  ctx: AppContext,
  config: Config,
  cluster: ClusterOptions = clusterOptionsOf(config),
): Promise<Deploying> {
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) =>
        ctx.logger.warn({ err: error }, "error while closing"),
      );
    }
  };
  try {
    // Every engine the platform talks to, and how it proves itself to the remote ones.
    const engines = [
      config.DOCKER_HOST ?? DEFAULT_DOCKER_HOST,
      ...Object.values(cluster.nodeSockets),
    ];
    const credentials = engineCredentials(config, engines);
    const docker = new Dockerode(
      dockerOptions(config.DOCKER_HOST ?? DEFAULT_DOCKER_HOST, credentials).options,
    );
    const runtime = new DockerRuntime({
      docker,
      portRange: config.PORT_RANGE,
      hostAddress: config.HOST_ADDRESS,
      logger: ctx.logger,
    });

    // The edge.
    const edges: EdgeAdapter[] = [];
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
    } else if (config.EDGE === "caddy" && config.CADDY_MODE === "push") {
      // In pull mode the Caddies fetch the table from the API (src/app/caddy-provider.ts).
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
      maxDeployments: cluster.maxDeploymentsPerNode,
      logger: ctx.logger,
    });
    // REGISTRY: images go to the nodes through it (pushed by the building engine) rather than
    // engine to engine.
    const registry =
      cluster.runtime === "swarm" && config.REGISTRY
        ? new RegistryImages({
            source: docker,
            settings: {
              ...config.REGISTRY,
              username: config.REGISTRY_USERNAME,
              password: config.REGISTRY_PASSWORD,
              insecure: config.REGISTRY_INSECURE,
            },
            logger: ctx.logger,
          })
        : undefined;
    if (registry) {
      ctx.logger.info(
        { registry: registry.host, credentials: config.REGISTRY_USERNAME !== undefined },
        "images reach the nodes through the registry",
      );
    }
    const swarm =
      cluster.runtime === "swarm"
        ? new SwarmRuntime({
            docker,
            portRange: config.PORT_RANGE,
            ...(registry ? { registryAuth: registry.auth } : {}),
            stopGraceMs: config.STOP_TIMEOUT_SECONDS * 1000,
            logger: ctx.logger,
          })
        : undefined;
    const clusterPort = swarm ? swarmCluster(swarm) : undefined;
    const membership = swarm
      ? new SwarmMembership({ engine: runtime, logger: ctx.logger })
      : undefined;
    const nodeId = () => membership?.nodeId ?? heartbeat.nodeId;
    let nodeSync: SwarmNodeSync | undefined;
    let firewall: NetworkFirewall | undefined;
    if (config.ROLES.includes("agent")) {
      if (clusterPort && membership) {
        const sync = new SwarmNodeSync({
          db: ctx.db,
          cluster: clusterPort,
          membership,
          queue: ctx.services.queue,
          intervalMs: cluster.heartbeatIntervalMs,
          maxDeployments: cluster.maxDeploymentsPerNode,
          logger: ctx.logger,
        });
        await sync.start();
        cleanups.push(() => sync.close());
        nodeSync = sync;
      } else {
        await heartbeat.start();
        cleanups.push(() => heartbeat.close());
      }
      // Before anything is built or deployed: tenants' networks are under the rules from the start.
      firewall = await startNetworkIsolation({
        docker,
        settings: config,
        engines,
        cluster: clusterFromDb(ctx.db, nodeId),
        swarm: cluster.runtime === "swarm",
        services: [
          config.DATABASE_URL,
          config.METRICS_DATABASE_URL,
          config.REDIS_URL,
          config.REGISTRY ? `https://${config.REGISTRY.host}` : undefined,
          config.OIDC_ISSUER,
        ].filter((url): url is string => url !== undefined),
        logger: ctx.logger,
      });
      const started = firewall;
      if (started) cleanups.push(() => started.close());
    }

    const workRoot = buildsFolder(config);
    await mkdir(workRoot, { recursive: true });
    const builder = new ImageBuilder({
      docker,
      workRoot,
      // Build steps run on the build network, under the isolation rules.
      buildNetwork: async () => (await runtime.ensureBuildNetwork()).name,
      settings: {
        limits: {
          timeoutMs: config.BUILD_TIMEOUT_SECONDS * 1000,
          maxRepoBytes: config.BUILD_MAX_REPO_MB * 1024 * 1024,
          maxRepoFiles: config.BUILD_MAX_FILES,
          maxDiskBytes: config.BUILD_MAX_DISK_MB * 1024 * 1024,
          cpus: config.BUILD_CPUS,
          memoryBytes: config.BUILD_MEMORY_MB * 1024 * 1024,
          maxLogChars: config.BUILD_LOG_MAX_KB * 1024,
        },
        knownHostsFile: join(resolve(config.DATA_DIR), "ssh", "known_hosts"),
        images: detectOptionsOf(config),
        allowFile: config.GIT_ALLOW_FILE,
      },
      caBundleFile: config.BUILD_CA_BUNDLE,
      logger: ctx.logger,
    });
    const runtimePort: RuntimePort = swarm
      ? new SwarmRuntimePort({
          swarm,
          source: docker,
          engine: (endpoint) => new Dockerode(dockerOptions(endpoint, credentials).options),
          nodeSockets: cluster.nodeSockets,
          registry,
          hostAddress: config.HOST_ADDRESS,
          logger: ctx.logger,
        })
      : new DockerRuntimePort({
          runtime,
          docker,
          hostAddress: config.HOST_ADDRESS,
          stopTimeoutSec: config.STOP_TIMEOUT_SECONDS,
          logger: ctx.logger,
        });
    const placer =
      cluster.runtime === "swarm"
        ? new Placer({
            db: ctx.db,
            strategy: cluster.strategy,
            heartbeatTimeoutMs: cluster.heartbeatTimeoutMs,
            defaults: {
              cpuMillicores: config.DEFAULT_CPU_MILLICORES,
              memoryMb: config.DEFAULT_MEMORY_MB,
            },
            logger: ctx.logger,
          })
        : undefined;

    // TLS, the Traefik names and the URLs shown, decided once (src/edge/edge-tls.ts).
    const tls = edgeTls(config, edgePort);
    const installation = await installationId(ctx.db);
    const records = new DatabaseDeploymentRecords(deploymentRecordsDeps(ctx, tls));
    const deployer = new Deployer({
      installationId: installation,
      runtime: runtimePort,
      records,
      builds: new BuildStep(
        buildStepDeps(ctx, {
          builder,
          records,
          removeImage: (imageId) => runtimePort.removeImage(imageId),
          abandon: (deploymentId) => removeAbandoned(runtimePort, ctx.logger, deploymentId),
        }),
      ),
      routes,
      nodeId,
      edgeLabels: (deployment, domains, port) =>
        traefikLabels({
          deploymentId: deployment.id,
          domains,
          port,
          tls,
        }),
      defaults: {
        cpuMillicores: config.DEFAULT_CPU_MILLICORES,
        memoryMb: config.DEFAULT_MEMORY_MB,
      },
      healthTimeoutMs: config.HEALTH_TIMEOUT_SECONDS * 1000,
      logger: ctx.logger,
      now: ctx.now,
      ...(placer ? { placer } : {}),
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
      ...(placer && clusterPort ? { cluster: { placer, nodes: clusterPort } } : {}),
    });
    const domainRecheck = new DomainRecheck({
      db: ctx.db,
      lookup: dnsTxtLookup({
        ...(config.DNS_RESOLVERS ? { servers: config.DNS_RESOLVERS } : {}),
        timeoutMs: config.DNS_TIMEOUT_MS,
      }),
      logger: ctx.logger,
      recheckAfterMs: config.DOMAIN_RECHECK_HOURS * 3_600_000,
      graceMs: config.DOMAIN_GRACE_HOURS * 3_600_000,
      // The recheck removed the routing rows: the edges drop the routes.
      onUnrouted: () => routes.sync(),
    });
    // Idle previews go after PREVIEW_TTL_HOURS; looked for every quarter of an hour at most.
    // Removing a preview is the deployments service's deletion (audit, quotas, the deploy job).
    const deploymentService = new DeploymentService(deploymentServiceDeps(ctx));
    const previewExpiry = new Periodic({
      name: "preview expiry",
      intervalMs: Math.min(15 * 60_000, config.PREVIEW_TTL_HOURS * 3_600_000),
      run: async () => {
        const removed = await deploymentService.expireIdlePreviews();
        if (removed > 0) ctx.logger.info({ removed }, "idle previews removed");
      },
      logger: ctx.logger,
    });
    let controller: Controller | undefined;
    if (config.ROLES.includes("controller")) {
      controller = new Controller(
        controllerDeps(ctx, { deployer, reconciler, leaderLoops: [domainRecheck, previewExpiry] }),
      );
      controller.start();
      const started = controller;
      cleanups.push(() => started.close());
      // Routes recorded under an earlier configuration take this one's TLS.
      await deployer
        .alignRouteTls()
        .catch((error: unknown) =>
          ctx.logger.warn({ err: error }, "aligning the routes' TLS with the configuration failed"),
        );
      // The edge starts empty: give it the routes recorded before this start. A failure is
      // logged by RouteSync, and the reconciler's next pass syncs again.
      await routes.sync().catch(() => undefined);
    }

    const urlOf = (domain: string) => edgeUrl(tls, domain);
    const logs: DeploymentLogs = swarm
      ? { list: (filter) => swarm.list(filter), logs: (id, options) => swarm.logs(id, options) }
      : {
          list: (filter) => runtime.list(filter),
          logs: (id, options) => runtime.logs(id, options),
        };
    return {
      runtime,
      swarm,
      logs,
      nodeSync,
      firewall,
      nodeId,
      controller,
      routes,
      deployer,
      reconciler,
      heartbeat,
      installation,
      edgePort,
      urlOf,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

export const buildsFolder = (config: Config) => join(resolve(config.DATA_DIR), "builds");

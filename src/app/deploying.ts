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
 */
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import Dockerode from "dockerode";
import type { Logger } from "pino";
import type { NetworkFirewall } from "../agent/firewall.js";
import { Heartbeat } from "../agent/heartbeat.js";
import { clusterFromDb, startNetworkIsolation } from "../agent/network-isolation.js";
import { SwarmMembership } from "../agent/swarm-membership.js";
import { SwarmNodeSync } from "../agent/swarm-nodes.js";
import { BUILD_ID_LABEL, buildImage, DEPLOYMENT_ID_LABEL } from "../builder/index.js";
import type { Config } from "../config/config.js";
import { BuildStep } from "../controller/build-step.js";
import { type ClusterOptions, clusterOptionsOf } from "../controller/cluster.js";
import { Controller } from "../controller/controller.js";
import { Deployer } from "../controller/deployer.js";
import { DatabaseDeploymentRecords } from "../controller/deployment-records.js";
import { installationId } from "../controller/installation.js";
import { Placer } from "../controller/placement.js";
import type {
  BuilderPort,
  ClusterPort,
  ContainerRef,
  EdgePort,
  RuntimePort,
} from "../controller/ports.js";
import { Reconciler } from "../controller/reconciler.js";
import { removeAbandoned } from "../controller/roll.js";
import { RouteSync } from "../controller/routing.js";
import { DeploymentService } from "../deployments/service.js";
import { DomainRecheck, dnsTxtLookup } from "../domains/index.js";
import { BuiltinEdge } from "../edge/builtin-edge.js";
import { CaddyEdge } from "../edge/caddy.js";
import { edgeTls, edgeUrl } from "../edge/edge-tls.js";
import { traefikLabels } from "../edge/traefik.js";
import { DEFAULT_DOCKER_HOST, dockerOptions } from "../runtime/docker-host.js";
import { DockerRuntime, type LogOptions } from "../runtime/docker-runtime.js";
import { engineCredentials } from "../runtime/engine-credentials.js";
import { driftFilters, engineEvents } from "../runtime/engine-events.js";
import type { LogLine } from "../runtime/log-stream.js";
import { LABELS } from "../runtime/names.js";
import { RegistryImages } from "../runtime/registry.js";
import { SwarmRuntime } from "../runtime/swarm-runtime.js";
import type { AppContext } from "./context.js";

export {
  type ClusterConfig,
  type ClusterOptions,
  clusterOptionsOf,
  placementGuard,
} from "../controller/cluster.js";

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
    const clusterPort = swarm ? swarmClusterPort(swarm) : undefined;
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
        logger: ctx.logger,
      });
      const started = firewall;
      if (started) cleanups.push(() => started.close());
    }

    const workRoot = resolve(config.DATA_DIR, "builds");
    await mkdir(workRoot, { recursive: true });
    const builder: BuilderPort = {
      build: async (request) =>
        buildImage({
          // Build steps run on the build network, under the isolation rules.
          networkMode: (await runtime.ensureBuildNetwork()).name,
          docker,
          buildId: request.buildId,
          deploymentId: request.deploymentId,
          gitRepo: request.gitRepo,
          branch: request.branch,
          workRoot,
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
          images: { nodeImage: config.NODE_BASE_IMAGE, staticImage: config.STATIC_BASE_IMAGE },
          allowFile: config.GIT_ALLOW_FILE,
          ...(request.httpCredential ? { httpCredential: request.httpCredential } : {}),
          ...(request.sshKey ? { sshKey: request.sshKey } : {}),
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

    // Fix: one at a time per network. Deployments of one project converging at once (the job
    // worker runs two) each found the project's network missing and each created it; Docker
    // allows twins of a name, and a container started on that name before the runtime removed
    // the twin failed with "network … is ambiguous", failing its deployment.
    const networkLocks = new Map<string, Promise<void>>();
    const ensureNetworkOnce =
      (ensure: (name: string, labels: Record<string, string>) => Promise<unknown>) =>
      (name: string, labels: Record<string, string>): Promise<void> => {
        const previous = networkLocks.get(name) ?? Promise.resolve();
        const next = previous
          .catch(() => undefined)
          .then(async () => {
            await ensure(name, labels);
          });
        networkLocks.set(name, next);
        void next
          .finally(() => {
            if (networkLocks.get(name) === next) networkLocks.delete(name);
          })
          .catch(() => undefined);
        return next;
      };
    const dockerPort: RuntimePort = {
      endpoint: runtime.endpoint,
      hostAddress: config.HOST_ADDRESS,
      ping: () => runtime.ping(),
      ensureNetwork: ensureNetworkOnce((name, labels) => runtime.ensureNetwork(name, labels)),
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
      events: (signal) => engineEvents(docker, driftFilters(`${LABELS.deployment}=true`), signal),
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

    const runtimePort: RuntimePort = swarm
      ? swarmRuntimePort(swarm, {
          source: docker,
          engine: (endpoint) => new Dockerode(dockerOptions(endpoint, credentials).options),
          nodeSockets: cluster.nodeSockets,
          registry,
          hostAddress: config.HOST_ADDRESS,
          ensureNetwork: ensureNetworkOnce((name, labels) => swarm.ensureNetwork(name, labels)),
          logger: ctx.logger,
        })
      : dockerPort;
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
    const deploymentService = new DeploymentService(ctx);
    const records = new DatabaseDeploymentRecords(ctx, {
      envFor: (deploymentId) => deploymentService.envFor(deploymentId),
    });
    const deployer = new Deployer({
      installationId: installation,
      runtime: runtimePort,
      records,
      builds: new BuildStep({
        ctx,
        builder,
        records,
        removeImage: (imageId) => runtimePort.removeImage(imageId),
        abandon: (deploymentId) => removeAbandoned(runtimePort, ctx.logger, deploymentId),
      }),
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
    let controller: Controller | undefined;
    if (config.ROLES.includes("controller")) {
      controller = new Controller({ ctx, deployer, reconciler, leaderLoops: [domainRecheck] });
      controller.start();
      const started = controller;
      cleanups.push(() => started.close());
      // Routes recorded under an earlier configuration take this one's TLS.
      await deployer
        .alignRouteTls()
        .catch((error: unknown) =>
          ctx.logger.warn({ err: error }, "aligning the routes' TLS with the configuration failed"),
        );
      // The edge starts empty: give it the routes recorded before this start.
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

/** The Swarm's nodes for the agent and the controller. */
function swarmClusterPort(swarm: SwarmRuntime): ClusterPort {
  return {
    nodes: async () =>
      (await swarm.nodes()).map((node) => ({
        id: node.id,
        hostname: node.hostname,
        address: node.address,
        availability: node.availability,
        state: node.state,
        role: node.role,
        labels: node.labels,
        cpuCores: node.nanoCpus / 1e9,
        memoryBytes: node.memoryBytes,
        message: node.message,
      })),
    setNodeAvailability: (id, availability) => swarm.setNodeAvailability(id, availability),
    setNodeLabels: (id, labels) => swarm.setNodeLabels(id, labels),
  };
}

/**
 * The deployer's runtime on a Swarm: a replica is a service pinned to its node. Images are
 * copied from the engine that built them (the manager's) to the node's engine, found in
 * SWARM_NODE_SOCKETS by node id or hostname; a node without an entry is expected to have it
 * (the task fails there if not). With REGISTRY, the image is pushed instead, and the service names it by
 * digest for the nodes to pull. Stopping is removing: Swarm stops the task with its grace period.
 */
function swarmRuntimePort(
  swarm: SwarmRuntime,
  options: {
    source: Dockerode;
    /** A client of a node's engine (SWARM_NODE_SOCKETS), with the engines' credentials. */
    engine: (endpoint: string) => Dockerode;
    nodeSockets: Record<string, string>;
    /** When set, images reach the nodes through it instead of through nodeSockets. */
    registry: RegistryImages | undefined;
    hostAddress: string;
    ensureNetwork: RuntimePort["ensureNetwork"];
    logger: Logger;
  },
): RuntimePort {
  const hostnames = new Map<string, string>();
  const clients = new Map<string, Dockerode>();
  const client = (endpoint: string): Dockerode => {
    let docker = clients.get(endpoint);
    if (!docker) {
      docker = options.engine(endpoint);
      clients.set(endpoint, docker);
    }
    return docker;
  };
  const engineOf = async (nodeId: string): Promise<Dockerode | undefined> => {
    const byId = options.nodeSockets[nodeId];
    if (byId) return client(byId);
    let hostname = hostnames.get(nodeId);
    if (hostname === undefined) {
      hostname = (await swarm.node(nodeId)).hostname;
      hostnames.set(nodeId, hostname);
    }
    const byName = options.nodeSockets[hostname];
    return byName === undefined ? undefined : client(byName);
  };
  const engines = () => [...new Set(Object.values(options.nodeSockets))];
  const removeImages = async (filter: (docker: Dockerode) => Promise<string[]>) => {
    const clients = [options.source, ...engines().map(client)];
    await Promise.all(
      clients.map(async (docker) => {
        for (const id of await filter(docker).catch(() => [])) {
          await docker
            .getImage(id)
            .remove({ force: true })
            .catch(() => undefined);
        }
      }),
    );
  };
  return {
    endpoint: swarm.endpoint,
    hostAddress: options.hostAddress,
    ping: () => swarm.ping(),
    ensureNetwork: options.ensureNetwork,
    prepareImage: async (imageId, nodeId, signal) => {
      if (options.registry) {
        await options.registry.reference(imageId, signal);
        return;
      }
      const target = await engineOf(nodeId);
      if (target === undefined) {
        options.logger.debug(
          { nodeId },
          "no engine known for the node: it must hold the image already",
        );
        return;
      }
      await swarm.ensureImage(imageId, nodeId, {
        sourceDocker: options.source,
        targetDockerForNode: () => target,
        ...(signal ? { signal } : {}),
      });
    },
    run: async (spec) => {
      if (spec.nodeId === undefined) throw new Error("a Swarm replica needs the node it goes to");
      // Through a registry, the service names the pushed image by digest: the nodes pull it.
      const image = options.registry ? await options.registry.reference(spec.image) : spec.image;
      const service = await swarm.run({ ...spec, image, nodeId: spec.nodeId });
      return {
        id: service.id,
        hostPort: service.hostPort,
        created: service.created,
        nodeId: service.nodeId,
        address: service.address,
      };
    },
    waitHealthy: (id, waitOptions) => swarm.waitRunning(id, waitOptions),
    // No drift events on a Swarm: the platform's own migrations change services and nodes all
    // the time, and passes woken by them raced the migrations (test/cluster-failover.test.ts).
    // Node changes reach the controller as jobs (NODE_CHANGED_JOB); the interval does the rest.
    stop: async () => undefined,
    remove: (id) => swarm.remove(id),
    removeImage: (id) => removeImages(async () => [id]),
    removeImagesOf: (deploymentId) =>
      removeImages(async (docker) =>
        (
          await docker.listImages({
            all: true,
            filters: { label: [`${DEPLOYMENT_ID_LABEL}=${deploymentId}`] },
          })
        ).map((image) => image.Id),
      ),
    list: async (filter) =>
      (await swarm.list(filter)).map(
        (service): ContainerRef => ({
          id: service.id,
          name: service.name,
          state: service.state,
          // Swarm counts a task with a health check as running only once it is healthy.
          health: "none",
          labels: service.labels,
          hostPort: service.hostPort,
          nodeId: service.nodeId,
        }),
      ),
  };
}

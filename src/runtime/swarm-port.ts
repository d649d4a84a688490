/**
 * The controller's runtime (RuntimePort) on a Swarm, and the Swarm's nodes (ClusterPort).
 *
 * A replica is a service pinned to its node. Images are copied from the engine that built them
 * (the manager's) to the node's engine, found in SWARM_NODE_SOCKETS by node id or hostname; a
 * node without an entry is expected to have it (the task fails there if not). With REGISTRY,
 * the image is pushed instead, and the service names it by digest for the nodes to pull.
 * Stopping is removing: Swarm stops the task with its grace period.
 */
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { LABELS } from "../domain/index.js";
import { KeyLock } from "../platform/index.js";
import { reasonOf } from "./engine-errors.js";
import { removeImages, removeImagesLabelled } from "./image-cleanup.js";
import type { RegistryImages } from "./registry.js";
import type { ClusterPort, ContainerRef, RunSpec, RuntimePort, Started } from "./runtime-port.js";
import type { SwarmRuntime } from "./swarm-runtime.js";

export interface SwarmRuntimePortOptions {
  swarm: SwarmRuntime;
  /** The engine that builds, and so has the images first (the manager's). */
  source: Dockerode;
  /** A client of a node's engine (SWARM_NODE_SOCKETS), with the engines' credentials. */
  engine: (endpoint: string) => Dockerode;
  /** Node id or hostname → that node's engine. */
  nodeSockets: Record<string, string>;
  /** When set, images reach the nodes through it instead of through nodeSockets. */
  registry: RegistryImages | undefined;
  hostAddress: string;
  logger: Logger;
}

export class SwarmRuntimePort implements RuntimePort {
  readonly endpoint: string;
  readonly hostAddress: string;
  /** One at a time per network: two creations at once would make twins of one name. */
  private readonly networks = new KeyLock();
  private readonly hostnames = new Map<string, string>();
  private readonly clients = new Map<string, Dockerode>();

  constructor(private readonly options: SwarmRuntimePortOptions) {
    this.endpoint = options.swarm.endpoint;
    this.hostAddress = options.hostAddress;
  }

  ping(): Promise<void> {
    return this.options.swarm.ping();
  }

  ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    return this.networks.run(name, async () => {
      await this.options.swarm.ensureNetwork(name, labels);
    });
  }

  async prepareImage(imageId: string, nodeId: string, signal?: AbortSignal): Promise<void> {
    if (this.options.registry) {
      await this.options.registry.reference(imageId, signal);
      return;
    }
    const target = await this.engineOf(nodeId);
    if (target === undefined) {
      this.options.logger.debug(
        { nodeId },
        "no engine known for the node: it must hold the image already",
      );
      return;
    }
    await this.options.swarm.ensureImage(imageId, nodeId, {
      sourceDocker: this.options.source,
      targetDockerForNode: () => target,
      ...(signal ? { signal } : {}),
    });
  }

  async run(spec: RunSpec): Promise<Started> {
    if (spec.nodeId === undefined) throw new Error("a Swarm replica needs the node it goes to");
    // Through a registry, the service names the pushed image by digest: the nodes pull it.
    const image = this.options.registry
      ? await this.options.registry.reference(spec.image)
      : spec.image;
    const service = await this.options.swarm.run({ ...spec, image, nodeId: spec.nodeId });
    return {
      id: service.id,
      hostPort: service.hostPort,
      created: service.created,
      nodeId: service.nodeId,
      address: service.address,
    };
  }

  waitHealthy(id: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    return this.options.swarm.waitRunning(id, options);
  }

  /**
   * Nothing: removing the service stops its task with the grace period. No drift events either
   * (no `events`): the platform's own migrations change services and nodes all the time, and
   * passes woken by them raced the migrations (test/cluster-failover.test.ts). Node changes reach
   * the controller as jobs (NODE_CHANGED_JOB); the interval does the rest.
   */
  async stop(): Promise<void> {}

  remove(id: string): Promise<void> {
    return this.options.swarm.remove(id);
  }

  /** From the building engine and every node's engine known. */
  async removeImage(id: string): Promise<void> {
    await Promise.all(
      this.everyEngine().map((docker) => removeImages(docker, [id], this.options.logger)),
    );
  }

  async removeImagesOf(deploymentId: string): Promise<void> {
    const label = `${LABELS.deploymentId}=${deploymentId}`;
    await Promise.all(
      this.everyEngine().map((docker) =>
        removeImagesLabelled(docker, label, this.options.logger).catch((error: unknown) =>
          // One engine out of reach leaves its images, which the next clean-up finds.
          this.options.logger.warn(
            { deploymentId, reason: reasonOf(error) },
            "listing a node's images to remove failed",
          ),
        ),
      ),
    );
  }

  async list(filter?: { deploymentId?: string }): Promise<ContainerRef[]> {
    return (await this.options.swarm.list(filter)).map((service) => ({
      id: service.id,
      name: service.name,
      state: service.state,
      // Swarm counts a task with a health check as running only once it is healthy.
      health: "none",
      labels: service.labels,
      hostPort: service.hostPort,
      nodeId: service.nodeId,
    }));
  }

  private everyEngine(): Dockerode[] {
    const endpoints = [...new Set(Object.values(this.options.nodeSockets))];
    return [this.options.source, ...endpoints.map((endpoint) => this.client(endpoint))];
  }

  private client(endpoint: string): Dockerode {
    let docker = this.clients.get(endpoint);
    if (!docker) {
      docker = this.options.engine(endpoint);
      this.clients.set(endpoint, docker);
    }
    return docker;
  }

  private async engineOf(nodeId: string): Promise<Dockerode | undefined> {
    const byId = this.options.nodeSockets[nodeId];
    if (byId) return this.client(byId);
    let hostname = this.hostnames.get(nodeId);
    if (hostname === undefined) {
      hostname = (await this.options.swarm.node(nodeId)).hostname;
      this.hostnames.set(nodeId, hostname);
    }
    const byName = this.options.nodeSockets[hostname];
    return byName === undefined ? undefined : this.client(byName);
  }
}

/** The Swarm's nodes, for the agent and the controller. */
export function swarmCluster(swarm: SwarmRuntime): ClusterPort {
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

/**
 * What the controller needs from an engine, as one interface (RuntimePort) that the single
 * engine (DockerRuntimePort) and a Swarm (SwarmRuntimePort) implement, and a cluster's nodes as
 * its manager sees them (ClusterPort). Tests may pass the real adapters or, for the pure parts,
 * none at all.
 */
export interface ContainerRef {
  id: string;
  name: string;
  /** running, exited, created, … as the engine says. */
  state: string;
  /** healthy, unhealthy, starting, or none. */
  health: string;
  labels: Record<string, string>;
  hostPort: number | undefined;
  /** The node it runs on (is pinned to), on a cluster; undefined on a single engine. */
  nodeId?: string | undefined;
}

export interface RunSpec {
  name: string;
  image: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  network: string;
  internalPort: number;
  cpuMillicores: number;
  memoryMb: number;
  /** On a cluster: the node the scheduler chose, where the replica is pinned. */
  nodeId?: string;
}

/** What run() made or found. */
export interface Started {
  id: string;
  hostPort: number;
  created: boolean;
  /** On a cluster: the node it runs on, and that node's address (routes go there). */
  nodeId?: string;
  address?: string;
}

export interface RuntimePort {
  /** Where the runtime looks for its engine, for messages ("unix:///var/run/docker.sock"). */
  readonly endpoint: string;
  /** The address routes use to reach published ports. */
  readonly hostAddress: string;
  ping(): Promise<void>;
  ensureNetwork(name: string, labels: Record<string, string>): Promise<void>;
  run(spec: RunSpec): Promise<Started>;
  waitHealthy(id: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
  stop(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  removeImage(id: string): Promise<void>;
  /** Removes every image labelled with the deployment's id (its builds'), used or not. */
  removeImagesOf?(deploymentId: string): Promise<void>;
  list(filter?: { deploymentId?: string }): Promise<ContainerRef[]>;
  /** On a cluster: makes sure the node has the image before a replica is pinned there. */
  prepareImage?(imageId: string, nodeId: string, signal?: AbortSignal): Promise<void>;
  /**
   * The engine's events that hint at drift (a platform container died or was removed), until
   * `signal` aborts; the reconciler looks again when one comes. One engine only.
   */
  events?(signal: AbortSignal): AsyncIterable<{ type: string; action: string; id: string }>;
}

/** A cluster's nodes as its manager sees them, and the two things the controller changes. */
export interface ClusterNode {
  id: string;
  hostname: string;
  address: string;
  /** Swarm's own availability: active, pause or drain. */
  availability: string;
  /** ready, down, disconnected or unknown. */
  state: string;
  role: string;
  labels: Record<string, string>;
  cpuCores: number;
  memoryBytes: number;
  /** The manager's note on the state ("heartbeat failure"); empty when none. */
  message: string;
}

export interface ClusterPort {
  nodes(): Promise<ClusterNode[]>;
  setNodeAvailability(nodeId: string, availability: "active" | "drain"): Promise<void>;
  setNodeLabels(nodeId: string, labels: Record<string, string>): Promise<void>;
}

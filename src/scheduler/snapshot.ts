/**
 * What the scheduler reads: the cluster as it stood when the caller looked (node_metadata plus
 * the limits of the deployments already placed on each node), and what is to be placed. The
 * scheduler never reads the database itself; the controller builds these and passes them in.
 */

export type NodeAvailability = "active" | "drain" | "down";

/** The placement strategies; SCHEDULER_STRATEGY (src/config/config.ts) accepts these names. */
export const STRATEGY_NAMES = ["least-loaded", "round-robin", "resource-based"] as const;

export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** A deployment that names no strategy is placed on the least-loaded node. */
export const DEFAULT_STRATEGY: StrategyName = "least-loaded";

/** User deployments go only to nodes marked for them. */
export const DEFAULT_REQUIRED_LABELS: Readonly<Record<string, string>> = { compute: "true" };

export const MIB = 1024 * 1024;

/** One node_metadata row, with what is already reserved on it. */
export interface NodeSnapshot {
  id: string;
  hostname: string;
  address: string;
  availability: NodeAvailability;
  lastHeartbeat: Date | null;
  labels: Record<string, string>;
  cpuCores: number;
  memoryBytes: number;
  maxDeployments: number;
  /** Measured, of the whole host: 0–100. */
  cpuPercent: number;
  memoryUsedBytes: number;
  deploymentCount: number;
  /** The sum of the CPU limits of the deployments already placed on the node. */
  reservedCpuMillicores: number;
  /** The sum of the memory limits of the deployments already placed on the node. */
  reservedMemoryBytes: number;
}

export interface ClusterSnapshot {
  nodes: readonly NodeSnapshot[];
  /** A node whose last heartbeat is older than this is not healthy. */
  heartbeatTimeoutMs: number;
}

export interface PlacementRequest {
  deploymentId: string;
  /** How many replicas to place now (not counting `existing`). */
  replicas: number;
  /** The limits of one replica, as the runtime will apply them (defaults already filled in). */
  cpuMillicores: number;
  memoryMb: number;
  /** Labels a node must carry, every one with this value; { compute: "true" } when absent. */
  requiredLabels?: Record<string, string>;
  /** Nodes not to use: the ones a migration moves the deployment off. */
  avoidNodes?: readonly string[];
  /**
   * Nodes where replicas of this deployment already run, once per replica. They steer the spread;
   * their resources are already in the nodes' reserved figures.
   */
  existing?: readonly string[];
}

export interface Placement {
  /** 0 for the first replica of this request, 1 for the next, … */
  replica: number;
  nodeId: string;
}

/** Kept by the caller between calls (controller_state), shared by every controller. */
export interface SchedulerState {
  /** The node the last round-robin placement went to. */
  roundRobinCursor?: string;
}

/** The strategy a deployment row names ("" when it names none). */
export function strategyFor(stored: string): StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(stored)
    ? (stored as StrategyName)
    : DEFAULT_STRATEGY;
}

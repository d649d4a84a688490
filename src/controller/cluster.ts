/**
 * Cluster mode's settings: the configuration variables (ClusterConfig, the part of the Config
 * in src/config/config.ts that cluster mode reads), and the options the wiring uses
 * (ClusterOptions). Also the CreateDeployment check, which runs the scheduler on the current
 * snapshot.
 */
import { resourceExhausted } from "../domain/index.js";
import { DEFAULT_STRATEGY, STRATEGY_NAMES, type StrategyName } from "../scheduler/index.js";
import { type PlacementOptions, placementCheck, singleEngineCheck } from "./placement.js";

/** The cluster settings, as configuration variables (defaults here for a Config without them). */
export interface ClusterConfig {
  /** docker (one engine, the default) or swarm. */
  RUNTIME?: "docker" | "swarm";
  /**
   * Node id or hostname → that node's engine (DOCKER_HOST style), to copy images to nodes
   * without a registry: the agent's job in production, a map for tests and small clusters.
   */
  SWARM_NODE_SOCKETS?: Record<string, string>;
  /** The placement of deployments that name no strategy (least-loaded). */
  SCHEDULER_STRATEGY?: StrategyName;
  /** A node silent for longer is down (15). */
  NODE_HEARTBEAT_TIMEOUT_SECONDS?: number;
  /** max_deployments of every node (50). */
  MAX_DEPLOYMENTS_PER_NODE?: number;
}

export interface ClusterOptions {
  runtime: "docker" | "swarm";
  nodeSockets: Record<string, string>;
  strategy: StrategyName;
  heartbeatTimeoutMs: number;
  /** How often the agent records the nodes: 5 s, or a third of the timeout when shorter. */
  heartbeatIntervalMs: number;
  maxDeploymentsPerNode: number;
}

export function clusterOptionsOf(config: ClusterConfig): ClusterOptions {
  const timeoutMs = (config.NODE_HEARTBEAT_TIMEOUT_SECONDS ?? 15) * 1000;
  const strategy = config.SCHEDULER_STRATEGY ?? DEFAULT_STRATEGY;
  if (!STRATEGY_NAMES.includes(strategy)) {
    throw new Error(`SCHEDULER_STRATEGY must be one of ${STRATEGY_NAMES.join(", ")}`);
  }
  return {
    runtime: config.RUNTIME ?? "docker",
    nodeSockets: config.SWARM_NODE_SOCKETS ?? {},
    strategy,
    heartbeatTimeoutMs: timeoutMs,
    heartbeatIntervalMs: Math.max(500, Math.min(5_000, Math.floor(timeoutMs / 3))),
    maxDeploymentsPerNode: config.MAX_DEPLOYMENTS_PER_NODE ?? 50,
  };
}

/**
 * What the CreateDeployment check uses: the database (the nodes, what runs on them), the clock,
 * whether the deployments run on one engine or a Swarm, and the placement settings.
 */
export interface PlacementGuardDeps
  extends Readonly<Pick<PlacementOptions, "db" | "heartbeatTimeoutMs" | "defaults" | "strategy">> {
  readonly runtime: ClusterOptions["runtime"];
  readonly now: () => Date;
}

/**
 * CreateDeployment's check: whether a deployment of this size fits on the nodes now (on one
 * engine, on that engine), so that a full platform refuses it at once (ResourceExhausted,
 * saying which constraint failed on which node) instead of accepting it and failing it later.
 */
export function placementGuard(
  deps: PlacementGuardDeps,
): (request: {
  replicas: number;
  cpuMillicores: number;
  memoryMb: number;
  strategy?: string;
}) => Promise<void> {
  const check = deps.runtime === "swarm" ? placementCheck : singleEngineCheck;
  return async (request) => {
    const refused = await check(deps, request, deps.now());
    if (refused) throw resourceExhausted(refused);
  };
}

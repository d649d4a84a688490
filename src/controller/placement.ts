/**
 * Placement on a cluster: the I/O around the pure scheduler (src/scheduler). Reads the snapshot
 * (node_metadata, and what the recorded locations already reserve on each node), runs
 * schedule(), keeps the round-robin cursor in controller_state (shared by every controller,
 * surviving restarts) and each decision in `placements`, its verdicts in compact form, for
 * ExplainPlacement.
 *
 * Decisions are made one at a time in this process, and a placed replica keeps its reservation
 * in memory until the deployer has recorded its location (or given up): two deployments placed
 * at once never both take the last free space of a node. Across processes, only the leading
 * controller places (controller.ts).
 */

import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { StoredExplanation } from "../nodes/index.js";
import {
  type ClusterSnapshot,
  type NodeExplanation,
  type NodeSnapshot,
  type Placement,
  type PlacementRequest,
  type SchedulerState,
  type StrategyName,
  schedule,
  strategyFor,
} from "../scheduler/index.js";
import {
  controllerState,
  type Db,
  deploymentLocations,
  deployments,
  nodeMetadata,
  placements,
} from "../store/index.js";
import { heartbeatClock } from "./heartbeat-clock.js";

const MIB = 1024 * 1024;
const CURSOR_KEY = "scheduler";

export type NodeRow = typeof nodeMetadata.$inferSelect;

export interface PlacementOptions {
  db: Db;
  /** The platform's strategy, for deployments that name none (SCHEDULER_STRATEGY). */
  strategy: StrategyName;
  /** A node whose last heartbeat is older than this is not healthy. */
  heartbeatTimeoutMs: number;
  /** The limits a deployment that sets none runs with. */
  defaults: { cpuMillicores: number; memoryMb: number };
  logger: Logger;
  now?: () => Date;
}

/** What the deployer asks for: replicas still to place, and where the others run. */
export interface PlaceRequest {
  deploymentId: string;
  /** The deployment's own strategy ("" for the platform's). */
  strategy: string;
  replicas: number;
  cpuMillicores: number;
  memoryMb: number;
  /** Nodes where replicas of the deployment run and stay. */
  existing: readonly string[];
  /** Nodes the deployment moves off. */
  avoidNodes: readonly string[];
}

export type PlaceOutcome =
  | {
      ok: true;
      placements: Placement[];
      /** Drops the in-memory reservations once the locations are recorded (or not made). */
      release(): void;
    }
  | { ok: false; message: string; explanations: NodeExplanation[] };

interface Reservation {
  nodeId: string;
  cpuMillicores: number;
  memoryBytes: number;
}

export class Placer {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly reserved = new Set<Reservation>();
  private readonly now: () => Date;

  constructor(private readonly options: PlacementOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The nodes, in id order. */
  nodes(): Promise<NodeRow[]> {
    return this.options.db.select().from(nodeMetadata).orderBy(nodeMetadata.id);
  }

  /** Nodes nothing should run on: drained, down, or silent past the heartbeat timeout. */
  async unusableNodes(): Promise<string[]> {
    return (await this.nodeHealth()).unusable;
  }

  /** The unusable nodes, and among them those whose replicas serve no more (down or silent). */
  async nodeHealth(): Promise<{ unusable: string[]; down: string[] }> {
    const nodes = await this.nodes();
    const now = heartbeatClock(nodes, this.now()).getTime();
    const unusable: string[] = [];
    const down: string[] = [];
    for (const node of nodes) {
      if (usable(node, now, this.options.heartbeatTimeoutMs)) continue;
      unusable.push(node.id);
      if (node.availability !== "drain" || !heard(node, now, this.options.heartbeatTimeoutMs)) {
        down.push(node.id);
      }
    }
    return { unusable, down };
  }

  /** Places `request.replicas` replicas, one decision at a time in this process. */
  place(request: PlaceRequest): Promise<PlaceOutcome> {
    // The queue only orders the decisions: each failure went to its own caller.
    const next = this.queue.catch(() => undefined).then(() => this.placeNow(request));
    this.queue = next;
    return next;
  }

  private async placeNow(request: PlaceRequest): Promise<PlaceOutcome> {
    const { db, logger } = this.options;
    const strategy = request.strategy ? strategyFor(request.strategy) : this.options.strategy;
    const snapshot = withReservations(
      await loadSnapshot(db, this.options.heartbeatTimeoutMs, this.options.defaults),
      this.reserved,
    );
    const state = await readState(db);
    const now = heartbeatClock(snapshot.nodes, this.now());
    const scheduled = schedule(snapshot, toRequest(request), strategy, now, state);
    // The verdicts in compact form: ExplainPlacement writes them out when someone asks.
    const explanation: StoredExplanation = {
      ok: scheduled.ok,
      placements: scheduled.ok ? scheduled.placements : [],
      compact: scheduled.compact,
      ...(scheduled.ok ? {} : { message: scheduled.message }),
      request: {
        replicas: request.replicas,
        cpuMillicores: request.cpuMillicores,
        memoryMb: request.memoryMb,
        avoidNodes: [...request.avoidNodes],
      },
    };
    await this.record(request.deploymentId, strategy, explanation);
    if (!scheduled.ok) {
      logger.info(
        { deploymentId: request.deploymentId, reason: scheduled.message },
        "placement infeasible",
      );
      return { ok: false, message: scheduled.message, explanations: scheduled.explanations };
    }
    if (scheduled.state.roundRobinCursor !== state.roundRobinCursor) {
      await writeState(db, scheduled.state);
    }
    const mine = scheduled.placements.map((p) => ({
      nodeId: p.nodeId,
      cpuMillicores: request.cpuMillicores,
      memoryBytes: request.memoryMb * MIB,
    }));
    for (const reservation of mine) this.reserved.add(reservation);
    logger.info(
      { deploymentId: request.deploymentId, strategy, placements: scheduled.placements },
      "replicas placed",
    );
    let released = false;
    return {
      ok: true,
      placements: scheduled.placements,
      release: () => {
        if (released) return;
        released = true;
        for (const reservation of mine) this.reserved.delete(reservation);
      },
    };
  }

  private async record(deploymentId: string, strategy: string, explanation: StoredExplanation) {
    const decidedAt = this.now();
    await this.options.db
      .insert(placements)
      .values({ deploymentId, decidedAt, strategy, explanation: { ...explanation } })
      .onConflictDoUpdate({
        target: placements.deploymentId,
        set: { decidedAt, strategy, explanation: { ...explanation } },
      })
      .catch((error: unknown) =>
        // The deployment was deleted meanwhile: nothing to explain any more.
        this.options.logger.debug({ err: error, deploymentId }, "placement not recorded"),
      );
  }
}

export function usable(node: NodeRow, nowMs: number, heartbeatTimeoutMs: number): boolean {
  return node.availability === "active" && heard(node, nowMs, heartbeatTimeoutMs);
}

function heard(node: NodeRow, nowMs: number, heartbeatTimeoutMs: number): boolean {
  return node.lastHeartbeat !== null && nowMs - node.lastHeartbeat.getTime() <= heartbeatTimeoutMs;
}

/**
 * The cluster as the scheduler sees it: every node, with the limits of the replicas recorded on
 * it reserved (a deployment without limits reserves the platform's defaults) and counted.
 */
export async function loadSnapshot(
  db: Db,
  heartbeatTimeoutMs: number,
  defaults: { cpuMillicores: number; memoryMb: number },
): Promise<ClusterSnapshot> {
  const [nodes, placed] = await Promise.all([
    db.select().from(nodeMetadata).orderBy(nodeMetadata.id),
    db
      .select({
        nodeId: deploymentLocations.nodeId,
        cpuMillicores: deployments.cpuMillicores,
        memoryMb: deployments.memoryMb,
      })
      .from(deploymentLocations)
      .innerJoin(deployments, eq(deployments.id, deploymentLocations.deploymentId)),
  ]);
  const use = new Map<string, { count: number; cpu: number; memory: number }>();
  for (const p of placed) {
    const u = use.get(p.nodeId) ?? { count: 0, cpu: 0, memory: 0 };
    u.count += 1;
    u.cpu += p.cpuMillicores || defaults.cpuMillicores;
    u.memory += (p.memoryMb || defaults.memoryMb) * MIB;
    use.set(p.nodeId, u);
  }
  return {
    heartbeatTimeoutMs,
    nodes: nodes.map((node): NodeSnapshot => {
      const u = use.get(node.id);
      return {
        id: node.id,
        hostname: node.hostname,
        address: node.address,
        availability: node.availability,
        lastHeartbeat: node.lastHeartbeat,
        labels: node.labels,
        cpuCores: node.cpuCores,
        memoryBytes: node.memoryBytes,
        maxDeployments: node.maxDeployments,
        cpuPercent: node.cpuPercent,
        memoryUsedBytes: node.memoryUsedBytes,
        deploymentCount: u?.count ?? 0,
        reservedCpuMillicores: u?.cpu ?? 0,
        reservedMemoryBytes: u?.memory ?? 0,
      };
    }),
  };
}

/**
 * Whether a deployment of this size fits now, without placing it: for CreateDeployment to
 * answer ResourceExhausted at once on a full cluster. Returns the reason when it does not fit.
 */
export async function placementCheck(
  options: Pick<PlacementOptions, "db" | "heartbeatTimeoutMs" | "defaults" | "strategy">,
  request: { replicas: number; cpuMillicores: number; memoryMb: number; strategy?: string },
  now = new Date(),
): Promise<string | undefined> {
  const snapshot = await loadSnapshot(options.db, options.heartbeatTimeoutMs, options.defaults);
  const cpuMillicores = request.cpuMillicores || options.defaults.cpuMillicores;
  const memoryMb = request.memoryMb || options.defaults.memoryMb;
  const result = schedule(
    snapshot,
    { deploymentId: "(new)", replicas: request.replicas, cpuMillicores, memoryMb },
    request.strategy ? strategyFor(request.strategy) : options.strategy,
    now,
    await readState(options.db),
    { explain: false },
  );
  return result.ok ? undefined : result.message;
}

/**
 * The same check on one engine (RUNTIME=docker), where every replica runs on the engine itself:
 * its capacity (recorded by its agent's heartbeat), less what the deployments recorded on it
 * reserve. Availability, labels and heartbeat age decide where replicas go on a cluster and mean
 * nothing on one engine, so only capacity is checked: max deployments, CPU, memory. The engine
 * is the node heard from last (node_metadata may keep rows of an engine replaced since). With no
 * node recorded yet there is no capacity to check against, and nothing is refused.
 */
export async function singleEngineCheck(
  options: Pick<PlacementOptions, "db" | "heartbeatTimeoutMs" | "defaults" | "strategy">,
  request: { replicas: number; cpuMillicores: number; memoryMb: number },
  now = new Date(),
): Promise<string | undefined> {
  const snapshot = await loadSnapshot(options.db, options.heartbeatTimeoutMs, options.defaults);
  const engine = snapshot.nodes
    .filter((node) => node.lastHeartbeat !== null)
    .sort((a, b) => (b.lastHeartbeat?.getTime() ?? 0) - (a.lastHeartbeat?.getTime() ?? 0))[0];
  if (!engine) return undefined;
  const only: ClusterSnapshot = {
    ...snapshot,
    nodes: [
      {
        ...engine,
        availability: "active",
        lastHeartbeat: now,
        labels: { ...engine.labels, compute: "true" },
      },
    ],
  };
  const result = schedule(
    only,
    {
      deploymentId: "(new)",
      replicas: request.replicas,
      cpuMillicores: request.cpuMillicores || options.defaults.cpuMillicores,
      memoryMb: request.memoryMb || options.defaults.memoryMb,
    },
    options.strategy,
    now,
    {},
    { explain: false },
  );
  return result.ok ? undefined : result.message;
}

function toRequest(request: PlaceRequest): PlacementRequest {
  return {
    deploymentId: request.deploymentId,
    replicas: request.replicas,
    cpuMillicores: request.cpuMillicores,
    memoryMb: request.memoryMb,
    existing: request.existing,
    avoidNodes: request.avoidNodes,
  };
}

/** Adds what this process has placed but not yet recorded. */
function withReservations(
  snapshot: ClusterSnapshot,
  reserved: ReadonlySet<Reservation>,
): ClusterSnapshot {
  if (reserved.size === 0) return snapshot;
  return {
    ...snapshot,
    nodes: snapshot.nodes.map((node) => {
      let count = 0;
      let cpu = 0;
      let memory = 0;
      for (const r of reserved) {
        if (r.nodeId !== node.id) continue;
        count += 1;
        cpu += r.cpuMillicores;
        memory += r.memoryBytes;
      }
      return count === 0
        ? node
        : {
            ...node,
            deploymentCount: node.deploymentCount + count,
            reservedCpuMillicores: node.reservedCpuMillicores + cpu,
            reservedMemoryBytes: node.reservedMemoryBytes + memory,
          };
    }),
  };
}

async function readState(db: Db): Promise<SchedulerState> {
  const [row] = await db.select().from(controllerState).where(eq(controllerState.key, CURSOR_KEY));
  const cursor = (row?.value as { roundRobinCursor?: unknown } | undefined)?.roundRobinCursor;
  return typeof cursor === "string" ? { roundRobinCursor: cursor } : {};
}

async function writeState(db: Db, state: SchedulerState): Promise<void> {
  const value = { ...state };
  await db
    .insert(controllerState)
    .values({ key: CURSOR_KEY, value, updatedAt: new Date() })
    .onConflictDoUpdate({ target: controllerState.key, set: { value, updatedAt: new Date() } });
}

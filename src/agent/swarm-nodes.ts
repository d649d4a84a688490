/**
 * The agent's heartbeat on a Swarm: every few seconds, every node the manager knows goes into
 * node_metadata (address, role, labels, capacity, availability, state), with last_heartbeat =
 * now for the nodes Swarm reports ready. A node Swarm reports down (or disconnected) is recorded
 * down with the manager's reason; a node whose heartbeat is older than the timeout is treated as
 * down by the scheduler and the reconciler, which is what happens to every node when the manager
 * stops answering.
 *
 * Availability and labels follow Swarm (an operator may use `docker node update`), except while
 * a change made through the platform waits to be applied to Swarm (node_specs, applied = false):
 * then the platform's wish is what is recorded. When a node's availability or labels change, a
 * "node-changed" job wakes the controller, which moves deployments off nodes that went down or
 * are drained.
 *
 * Every node's agent runs it, but only where the engine is a Swarm manager does it record
 * anything (a worker's engine cannot list the nodes): with several managers, each of their
 * agents records the same nodes, which is harmless. Node health comes from Swarm alone: an agent
 * does not beat for its own node, so that a node the managers lost (down, partitioned) stays
 * down even if its agent still reaches the database.
 */
import { count, eq, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { NODE_CHANGED_JOB, nodeChangedJobId, sameLabels } from "../domain/index.js";
import type { JobQueue } from "../platform/index.js";
import type { ClusterPort } from "../runtime/index.js";
import {
  type Db,
  deploymentLocations,
  type NodeAvailabilityName,
  nodeMetadata,
  nodeSpecs,
} from "../store/index.js";
import type { SwarmMembership } from "./swarm-membership.js";

export interface SwarmNodeSyncOptions {
  db: Db;
  cluster: Pick<ClusterPort, "nodes">;
  /**
   * The local engine's place in the Swarm, asked again before each sync: nothing is recorded
   * unless it is a manager. Without it, the engine is taken to be a manager.
   */
  membership?: Pick<SwarmMembership, "refresh" | "manager">;
  queue: Pick<JobQueue, "enqueue">;
  intervalMs: number;
  /** MAX_DEPLOYMENTS_PER_NODE. */
  maxDeployments: number;
  logger: Logger;
  now?: () => Date;
}

export class SwarmNodeSync {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private syncing: Promise<void> | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: SwarmNodeSyncOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    await this.sync();
    const loop = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => {
        void this.sync().finally(loop);
      }, this.options.intervalMs);
    };
    loop();
  }

  /** One sync; calls during a sync share it. */
  sync(): Promise<void> {
    this.syncing ??= this.syncNow()
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error }, "syncing the Swarm's nodes failed"),
      )
      .finally(() => {
        this.syncing = undefined;
      });
    return this.syncing;
  }

  private async syncNow(): Promise<void> {
    const { db, cluster, queue, logger, membership } = this.options;
    if (membership) {
      await membership.refresh();
      if (!membership.manager) return;
    }
    const swarmNodes = await cluster.nodes();
    const now = this.now();
    const [before, pending, counts] = await Promise.all([
      db.select().from(nodeMetadata),
      db.select().from(nodeSpecs).where(eq(nodeSpecs.applied, false)),
      db
        .select({ nodeId: deploymentLocations.nodeId, n: count() })
        .from(deploymentLocations)
        .groupBy(deploymentLocations.nodeId),
    ]);
    const previous = new Map(before.map((row) => [row.id, row]));
    const wished = new Map(pending.map((spec) => [spec.nodeId, spec]));
    const deployed = new Map(counts.map((c) => [c.nodeId, c.n]));
    const changed: string[] = [];

    for (const node of swarmNodes) {
      const spec = wished.get(node.id);
      const ready = node.state === "ready";
      const desired: NodeAvailabilityName =
        spec?.availability ?? (node.availability === "active" ? "active" : "drain");
      const availability: NodeAvailabilityName = ready ? desired : "down";
      const labels = spec?.labels ?? node.labels;
      const values = {
        hostname: node.hostname,
        address: node.address,
        role: node.role,
        availability,
        statusMessage: ready
          ? ""
          : `Swarm reports the node ${node.state}${node.message ? `: ${node.message}` : ""}`,
        labels,
        cpuCores: node.cpuCores,
        memoryBytes: node.memoryBytes,
        maxDeployments: this.options.maxDeployments,
        deploymentCount: deployed.get(node.id) ?? 0,
        updatedAt: now,
        ...(ready ? { lastHeartbeat: now } : {}),
      };
      // The wish is read again as the row is written: one made while this sync was reading
      // Swarm (an activation committed after the snapshot above) is not overwritten by the
      // Swarm state read before it.
      const pendingNow = sql`(select ${nodeSpecs.availability} from ${nodeSpecs} where ${nodeSpecs.nodeId} = ${node.id} and ${nodeSpecs.applied} = false)`;
      await db
        .insert(nodeMetadata)
        .values({ id: node.id, ...values })
        .onConflictDoUpdate({
          target: nodeMetadata.id,
          set: {
            ...values,
            ...(ready ? { availability: sql`coalesce(${pendingNow}, ${availability})` } : {}),
          },
        });
      const was = previous.get(node.id);
      if (!was || was.availability !== availability || !sameLabels(was.labels, labels)) {
        changed.push(node.id);
      }
    }

    // Recorded nodes the Swarm no longer has (removed, or the single engine's row): down.
    const present = new Set(swarmNodes.map((node) => node.id));
    for (const row of before) {
      if (present.has(row.id) || row.availability === "down") continue;
      await db
        .update(nodeMetadata)
        .set({
          availability: "down",
          statusMessage: "not a node of the Swarm",
          updatedAt: now,
        })
        .where(eq(nodeMetadata.id, row.id));
      changed.push(row.id);
    }

    for (const nodeId of changed) {
      const was = previous.get(nodeId);
      logger.info({ nodeId, was: was?.availability }, "node changed");
      await queue
        .enqueue(NODE_CHANGED_JOB, { nodeId }, { jobId: nodeChangedJobId(nodeId, now) })
        .catch((error: unknown) =>
          logger.warn({ err: error, nodeId }, "waking the controller for a node failed"),
        );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.syncing;
  }
}

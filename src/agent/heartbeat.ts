/**
 * The agent's heartbeat: every few seconds, the node's identity and capacity from its engine go
 * into node_metadata with last_heartbeat = now. When the engine does not answer, the node is
 * recorded as down with the reason, so that `NodeService/ListNodes` shows why nothing deploys.
 */
import { count, eq, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { type Db, deploymentLocations, nodeMetadata } from "../store/index.js";

export interface EngineInfo {
  id: string;
  hostname: string;
  cpus: number;
  memoryBytes: number;
  /** The engine's membership of a Swarm, when it is an active node of one. */
  swarm?: { nodeId: string; manager: boolean };
}

export interface HeartbeatOptions {
  db: Db;
  engine: { readonly endpoint: string; info(): Promise<EngineInfo> };
  /** The address routes use to reach this node's published ports. */
  address: string;
  intervalMs: number;
  maxDeployments: number;
  logger: Logger;
  /** Labels a new node starts with (compute=true marks nodes for user deployments). */
  initialLabels?: Record<string, string>;
}

/** The id a node gets while its engine has never answered. */
export const UNREACHABLE_NODE_ID = "local";

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private current: string | undefined;
  private beating: Promise<void> | undefined;

  constructor(private readonly options: HeartbeatOptions) {}

  /** The node id of the engine, once it has answered. */
  get nodeId(): string {
    return this.current ?? UNREACHABLE_NODE_ID;
  }

  async start(): Promise<void> {
    await this.beat();
    const loop = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => {
        void this.beat().finally(loop);
      }, this.options.intervalMs);
    };
    loop();
  }

  beat(): Promise<void> {
    this.beating ??= this.beatNow().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async beatNow(): Promise<void> {
    const { db, engine, logger } = this.options;
    const now = new Date();
    try {
      const info = await engine.info();
      this.current = info.id;
      const [deployed] = await db
        .select({ n: count() })
        .from(deploymentLocations)
        .where(eq(deploymentLocations.nodeId, info.id));
      const values = {
        hostname: info.hostname,
        address: this.options.address,
        cpuCores: info.cpus,
        memoryBytes: info.memoryBytes,
        deploymentCount: deployed?.n ?? 0,
        lastHeartbeat: now,
        statusMessage: "",
        updatedAt: now,
      };
      await db
        .insert(nodeMetadata)
        .values({
          id: info.id,
          role: "manager",
          labels: this.options.initialLabels ?? { compute: "true" },
          maxDeployments: this.options.maxDeployments,
          ...values,
        })
        .onConflictDoUpdate({
          target: nodeMetadata.id,
          set: {
            ...values,
            // A node that was down because its engine did not answer is back; drain stays drain.
            availability: sql`CASE WHEN ${nodeMetadata.availability} = 'down' THEN 'active' ELSE ${nodeMetadata.availability} END`,
          },
        });
      if (this.current !== UNREACHABLE_NODE_ID) {
        await db.delete(nodeMetadata).where(eq(nodeMetadata.id, UNREACHABLE_NODE_ID));
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn({ endpoint: engine.endpoint, reason }, "the container engine does not answer");
      const id = this.current ?? UNREACHABLE_NODE_ID;
      await db
        .insert(nodeMetadata)
        .values({
          id,
          hostname: "local engine",
          address: this.options.address,
          availability: "down",
          statusMessage: reason,
          updatedAt: now,
        })
        .onConflictDoUpdate({
          target: nodeMetadata.id,
          set: { availability: "down", statusMessage: reason, updatedAt: now },
        })
        .catch((e: unknown) => logger.warn({ err: e }, "recording the node as down failed"));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.beating;
  }
}

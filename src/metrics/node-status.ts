/**
 * A node's current usage in node_metadata (cpu_percent, memory_used_bytes, disk_percent),
 * where the scheduler and `ListNodes` read it. The row itself belongs to the
 * heartbeat, which creates it: this only updates the usage columns of an existing row, at most
 * one update in flight (a slow database skips samples, it does not queue them).
 */
import { eq } from "drizzle-orm";
import { type Db, nodeMetadata } from "../store/index.js";
import { messageOf } from "./collector.js";
import type { NodeSample } from "./samples.js";

export interface NodeStatusStats {
  updates: number;
  skipped: number;
  failures: number;
  lastError: string | undefined;
}

export class NodeStatusWriter {
  private inFlight: Promise<void> | undefined;
  private readonly counts: NodeStatusStats = {
    updates: 0,
    skipped: 0,
    failures: 0,
    lastError: undefined,
  };

  constructor(private readonly db: Db) {}

  update(sample: NodeSample): void {
    if (this.inFlight) {
      this.counts.skipped++;
      return;
    }
    this.inFlight = this.write(sample).finally(() => {
      this.inFlight = undefined;
    });
  }

  async close(): Promise<void> {
    await this.inFlight;
  }

  stats(): NodeStatusStats {
    return { ...this.counts };
  }

  private async write(sample: NodeSample): Promise<void> {
    try {
      await this.db
        .update(nodeMetadata)
        .set({
          cpuPercent: sample.cpuPercent,
          memoryUsedBytes: Math.round(sample.memoryUsedBytes),
          diskPercent: sample.diskPercent,
          // deployment_count stays the heartbeat's: the replicas recorded on the node, which
          // count against its max_deployments, rather than the containers seen running.
        })
        .where(eq(nodeMetadata.id, sample.nodeId));
      this.counts.updates++;
      this.counts.lastError = undefined;
    } catch (error) {
      this.counts.failures++;
      this.counts.lastError = messageOf(error);
    }
  }
}

/**
 * Sums samples into per-bucket rows as they arrive, one row per container (and per node) per
 * bucket, so that memory holds one open bucket per container rather than its samples.
 *
 * Every sample stands for one collection interval: CPU-seconds are cpu% / 100 × interval,
 * memory byte-seconds are bytes × interval. A slot that was not collected (engine down) counts
 * for nothing: usage that was not measured is not billed.
 */
import type { ContainerMinuteRow, NodeMinuteRow } from "./rows.js";
import { floorTo, type SampleBatch } from "./samples.js";

interface NodeSums {
  row: NodeMinuteRow;
  cpuSum: number;
  memorySum: number;
}

export class BucketAccumulator {
  private readonly containers = new Map<string, ContainerMinuteRow>();
  private readonly nodes = new Map<string, NodeSums>();

  constructor(private readonly bucketMs: number) {}

  /** Open rows (container and node) held. */
  get size(): number {
    return this.containers.size + this.nodes.size;
  }

  add(batch: SampleBatch): void {
    const seconds = batch.intervalMs / 1000;
    for (const s of batch.samples) {
      const minute = floorTo(s.at, this.bucketMs);
      const key = `${s.containerId}\u0000${minute}`;
      let row = this.containers.get(key);
      if (!row) {
        row = {
          kind: "container",
          minute,
          containerId: s.containerId,
          deploymentId: s.deploymentId,
          projectId: s.projectId,
          nodeId: batch.nodeId,
          samples: 0,
          seconds: 0,
          cpuSeconds: 0,
          cpuPercentMax: 0,
          memoryByteSeconds: 0,
          memoryBytesMax: 0,
          memoryLimitBytes: 0,
          networkRxBytes: 0,
          networkTxBytes: 0,
          blockReadBytes: 0,
          blockWriteBytes: 0,
          pidsMax: 0,
        };
        this.containers.set(key, row);
      }
      row.samples++;
      row.seconds += seconds;
      row.cpuSeconds += (s.cpuPercent / 100) * seconds;
      row.cpuPercentMax = Math.max(row.cpuPercentMax, s.cpuPercent);
      row.memoryByteSeconds += s.memoryUsedBytes * seconds;
      row.memoryBytesMax = Math.max(row.memoryBytesMax, s.memoryUsedBytes);
      row.memoryLimitBytes = Math.max(row.memoryLimitBytes, s.memoryLimitBytes);
      row.networkRxBytes += s.networkRxBytes;
      row.networkTxBytes += s.networkTxBytes;
      row.blockReadBytes += s.blockReadBytes;
      row.blockWriteBytes += s.blockWriteBytes;
      row.pidsMax = Math.max(row.pidsMax, s.pids);
    }
    const node = batch.node;
    if (node) {
      const minute = floorTo(node.at, this.bucketMs);
      const key = `${node.nodeId}\u0000${minute}`;
      let sums = this.nodes.get(key);
      if (!sums) {
        sums = {
          row: {
            kind: "node",
            minute,
            nodeId: node.nodeId,
            samples: 0,
            cpuPercentAvg: 0,
            cpuPercentMax: 0,
            memoryUsedBytesAvg: 0,
            memoryUsedBytesMax: 0,
            memoryTotalBytes: 0,
            diskPercentMax: 0,
            deploymentCountMax: 0,
          },
          cpuSum: 0,
          memorySum: 0,
        };
        this.nodes.set(key, sums);
      }
      const row = sums.row;
      row.samples++;
      sums.cpuSum += node.cpuPercent;
      sums.memorySum += node.memoryUsedBytes;
      row.cpuPercentMax = Math.max(row.cpuPercentMax, node.cpuPercent);
      row.memoryUsedBytesMax = Math.max(row.memoryUsedBytesMax, node.memoryUsedBytes);
      row.memoryTotalBytes = Math.max(row.memoryTotalBytes, node.memoryTotalBytes);
      row.diskPercentMax = Math.max(row.diskPercentMax, node.diskPercent);
      row.deploymentCountMax = Math.max(row.deploymentCountMax, node.deploymentCount ?? 0);
    }
  }

  /** Removes and returns the rows of buckets that start before `before` (all when omitted). */
  drain(before = Infinity): Array<ContainerMinuteRow | NodeMinuteRow> {
    const rows: Array<ContainerMinuteRow | NodeMinuteRow> = [];
    for (const [key, row] of this.containers) {
      if (row.minute >= before) continue;
      this.containers.delete(key);
      rows.push(row);
    }
    for (const [key, sums] of this.nodes) {
      if (sums.row.minute >= before) continue;
      this.nodes.delete(key);
      rows.push({
        ...sums.row,
        cpuPercentAvg: sums.cpuSum / sums.row.samples,
        memoryUsedBytesAvg: sums.memorySum / sums.row.samples,
      });
    }
    return rows.sort((a, b) => a.minute - b.minute);
  }
}

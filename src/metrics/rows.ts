/**
 * The rows of the metrics database: one per container per bucket ("minute"), one per node per
 * bucket. Bucket times are ms since the epoch of the bucket's start.
 */

export interface ContainerMinuteRow {
  kind: "container";
  minute: number;
  containerId: string;
  deploymentId: string;
  projectId: string;
  nodeId: string;
  samples: number;
  /** The time the samples stand for: samples × the collection interval. */
  seconds: number;
  cpuSeconds: number;
  cpuPercentMax: number;
  memoryByteSeconds: number;
  memoryBytesMax: number;
  memoryLimitBytes: number;
  networkRxBytes: number;
  networkTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pidsMax: number;
}

export interface NodeMinuteRow {
  kind: "node";
  minute: number;
  nodeId: string;
  samples: number;
  cpuPercentAvg: number;
  cpuPercentMax: number;
  memoryUsedBytesAvg: number;
  memoryUsedBytesMax: number;
  memoryTotalBytes: number;
  diskPercentMax: number;
  /** The most deployments seen at once in the bucket; 0 when the engine never answered. */
  deploymentCountMax: number;
}

export type MinuteRow = ContainerMinuteRow | NodeMinuteRow;

/** A deployment's usage in one bucket: what hourly rollups add up. */
export interface MinuteUsage {
  deploymentId: string;
  minute: number;
  cpuSeconds: number;
  memoryByteSeconds: number;
  networkBytes: number;
  diskIoBytes: number;
}

export function minuteUsage(row: ContainerMinuteRow): MinuteUsage {
  return {
    deploymentId: row.deploymentId,
    minute: row.minute,
    cpuSeconds: row.cpuSeconds,
    memoryByteSeconds: row.memoryByteSeconds,
    networkBytes: row.networkRxBytes + row.networkTxBytes,
    diskIoBytes: row.blockReadBytes + row.blockWriteBytes,
  };
}

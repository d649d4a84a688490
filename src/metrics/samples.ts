/**
 * The values the metrics system passes around, and the pure arithmetic on them.
 *
 * Time is a collection *slot*: a multiple of the collection interval since the epoch, the same on
 * every node (agents schedule their ticks on slot boundaries), so that the samples of one
 * deployment's containers on several nodes add up slot by slot.
 *
 * Counters (network, block I/O) are bytes *since the container's previous sample*, not the
 * engine's lifetime totals: they add up across containers, slots, minutes and hours.
 */

/** One container at one slot. */
export interface ContainerSample {
  containerId: string;
  deploymentId: string;
  /** The project label, "" when the container has none. */
  projectId: string;
  /** The slot, in ms since the epoch. */
  at: number;
  /** 100 is one full core, so it can exceed 100. */
  cpuPercent: number;
  memoryUsedBytes: number;
  memoryLimitBytes: number;
  networkRxBytes: number;
  networkTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
}

/** One node at one slot. */
export interface NodeSample {
  nodeId: string;
  at: number;
  /** Of the whole host: 0–100. */
  cpuPercent: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  /** Of the filesystem the agent watches: 0–100. */
  diskPercent: number;
  /** Deployments with a running container on the node; undefined when the engine did not answer. */
  deploymentCount: number | undefined;
  /** The platform containers' traffic during the interval, added up. */
  networkRxBytes: number;
  networkTxBytes: number;
}

/** What one collection tick of one node produces: the message on the bus. */
export interface SampleBatch {
  nodeId: string;
  at: number;
  intervalMs: number;
  samples: ContainerSample[];
  node?: NodeSample;
}

/** A deployment at one instant or over one bucket: the API's MetricsSample. */
export interface DeploymentSample {
  at: Date;
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  /** Bytes during the sample's interval (live) or bucket (minutes). */
  networkRxBytes: number;
  networkTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
}

/** A deployment's usage over one hour: the API's UsageHour, the base of cost analytics. */
export interface UsageHour {
  deploymentId: string;
  hour: Date;
  cpuSeconds: number;
  memoryByteSeconds: number;
  networkBytes: number;
  diskIoBytes: number;
}

/**
 * The growth of a lifetime counter between two readings. Without a previous reading it is 0
 * (the lifetime total is not this interval's traffic); a counter that went down was reset (the
 * container restarted), so all of it is new.
 */
export function counterDelta(previous: number | undefined, current: number): number {
  if (previous === undefined) return 0;
  return current >= previous ? current - previous : current;
}

/** The deployment's sample at `at`: its containers' samples added up. */
export function sumSamples(at: number, samples: Iterable<ContainerSample>): DeploymentSample {
  const sum = emptySample(at);
  for (const s of samples) {
    sum.cpuPercent += s.cpuPercent;
    sum.memoryBytes += s.memoryUsedBytes;
    sum.memoryLimitBytes += s.memoryLimitBytes;
    sum.networkRxBytes += s.networkRxBytes;
    sum.networkTxBytes += s.networkTxBytes;
    sum.blockReadBytes += s.blockReadBytes;
    sum.blockWriteBytes += s.blockWriteBytes;
    sum.pids += s.pids;
  }
  return sum;
}

/**
 * What a subscriber that missed `older` gets instead of both: the newer gauges (CPU, memory,
 * pids) and the bytes of both intervals, so that coalescing loses detail but never traffic.
 * A newer sample of the same slot replaces the older one (a partial sum completed).
 */
export function coalesce(older: DeploymentSample, newer: DeploymentSample): DeploymentSample {
  if (older.at.getTime() === newer.at.getTime()) return newer;
  return {
    ...newer,
    networkRxBytes: older.networkRxBytes + newer.networkRxBytes,
    networkTxBytes: older.networkTxBytes + newer.networkTxBytes,
    blockReadBytes: older.blockReadBytes + newer.blockReadBytes,
    blockWriteBytes: older.blockWriteBytes + newer.blockWriteBytes,
  };
}

export function emptySample(at: number): DeploymentSample {
  return {
    at: new Date(at),
    cpuPercent: 0,
    memoryBytes: 0,
    memoryLimitBytes: 0,
    networkRxBytes: 0,
    networkTxBytes: 0,
    blockReadBytes: 0,
    blockWriteBytes: 0,
    pids: 0,
  };
}

/** The start of the slot, bucket or hour of width `widthMs` that contains `at`. */
export function floorTo(at: number, widthMs: number): number {
  return Math.floor(at / widthMs) * widthMs;
}

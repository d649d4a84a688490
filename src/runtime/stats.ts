/**
 * One container's resource usage from one Docker stats sample. Pure: `computeStats` turns the
 * engine's raw JSON (`GET /containers/{id}/stats?stream=false`) into plain numbers, with the same
 * formulas as the Docker CLI (`docker stats`), so the dashboard and `docker stats` agree.
 */

/** The part of Docker's stats JSON that is read; every field may be missing (stopped container). */
export interface RawDockerStats {
  read?: string;
  pids_stats?: { current?: number };
  cpu_stats?: RawCpuStats;
  precpu_stats?: RawCpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number | undefined> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: {
    io_service_bytes_recursive?: Array<{ op?: string; value?: number }> | null;
  };
}

interface RawCpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface ContainerStats {
  /** When the engine took the sample. */
  at: Date;
  /** Over the sampling interval; 100 is one full CPU core, so it can exceed 100. */
  cpuPercent: number;
  onlineCpus: number;
  /** Memory in use, page cache that the kernel can reclaim left out (as `docker stats`). */
  memoryUsedBytes: number;
  /** The container's limit, or the host's memory when it has none. */
  memoryLimitBytes: number;
  memoryPercent: number;
  /** Totals since the container started, summed over its interfaces. */
  networkRxBytes: number;
  networkTxBytes: number;
  /** Totals since the container started. */
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
}

export function computeStats(raw: RawDockerStats): ContainerStats {
  const cpu = raw.cpu_stats;
  const pre = raw.precpu_stats;
  const onlineCpus = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  // Without a previous sample (precpu empty) the delta is the whole lifetime: report 0 instead.
  const hasPrevious = (pre?.system_cpu_usage ?? 0) > 0;
  const cpuPercent =
    hasPrevious && cpuDelta > 0 && systemDelta > 0
      ? (cpuDelta / systemDelta) * onlineCpus * 100
      : 0;

  const memory = raw.memory_stats;
  const usage = memory?.usage ?? 0;
  const memoryUsedBytes = usage - reclaimableCache(usage, memory?.stats ?? {});
  const memoryLimitBytes = memory?.limit ?? 0;

  let networkRxBytes = 0;
  let networkTxBytes = 0;
  for (const network of Object.values(raw.networks ?? {})) {
    networkRxBytes += network.rx_bytes ?? 0;
    networkTxBytes += network.tx_bytes ?? 0;
  }

  let blockReadBytes = 0;
  let blockWriteBytes = 0;
  for (const entry of raw.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op?.toLowerCase();
    if (op === "read") blockReadBytes += entry.value ?? 0;
    else if (op === "write") blockWriteBytes += entry.value ?? 0;
  }

  const at = raw.read ? new Date(raw.read) : new Date(0);
  return {
    at: Number.isNaN(at.getTime()) ? new Date(0) : at,
    cpuPercent,
    onlineCpus,
    memoryUsedBytes,
    memoryLimitBytes,
    memoryPercent: memoryLimitBytes > 0 ? (memoryUsedBytes / memoryLimitBytes) * 100 : 0,
    networkRxBytes,
    networkTxBytes,
    blockReadBytes,
    blockWriteBytes,
    pids: raw.pids_stats?.current ?? 0,
  };
}

/** Inactive file cache: `total_inactive_file` on cgroup v1, `inactive_file` on cgroup v2. */
function reclaimableCache(usage: number, stats: Record<string, number | undefined>): number {
  for (const key of ["total_inactive_file", "inactive_file"]) {
    const value = stats[key];
    if (value !== undefined && value < usage) return value;
  }
  return 0;
}

/**
 * The host's own usage: CPU (from the kernel's cumulative CPU times, between two readings),
 * memory (what is not available to new work: MemTotal − MemAvailable) and disk (the filesystem
 * of `diskPath`, as `df` counts it). /proc/stat and /proc/meminfo are not namespaced, so an agent
 * in a container reads the host's figures.
 */
import { readFile, statfs } from "node:fs/promises";
import { cpus, freemem, totalmem } from "node:os";

export interface NodeUsage {
  cpuPercent: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  diskPercent: number;
}

export interface NodeProbe {
  sample(): Promise<NodeUsage>;
}

interface CpuTimes {
  idle: number;
  total: number;
}

export class HostProbe implements NodeProbe {
  private previous: CpuTimes | undefined;

  constructor(private readonly diskPath = "/") {}

  async sample(): Promise<NodeUsage> {
    const [memory, diskPercent] = await Promise.all([readMemory(), this.disk()]);
    return { cpuPercent: this.cpu(), ...memory, diskPercent };
  }

  /** Busy share of all cores since the previous reading; 0 on the first one. */
  private cpu(): number {
    const now = cpuTimes();
    const before = this.previous;
    this.previous = now;
    if (!before) return 0;
    const total = now.total - before.total;
    const idle = now.idle - before.idle;
    return total > 0 ? clampPercent(((total - idle) / total) * 100) : 0;
  }

  private async disk(): Promise<number> {
    try {
      const fs = await statfs(this.diskPath);
      const used = fs.blocks - fs.bfree;
      // df's Use%: used over what non-root users can have (the reserved blocks left out).
      const usable = used + fs.bavail;
      return usable > 0 ? clampPercent((used / usable) * 100) : 0;
    } catch {
      return 0;
    }
  }
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

async function readMemory(): Promise<{ memoryUsedBytes: number; memoryTotalBytes: number }> {
  try {
    const text = await readFile("/proc/meminfo", "utf8");
    const kib = (key: string) => {
      const match = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
      return match ? Number(match[1]) * 1024 : undefined;
    };
    const total = kib("MemTotal");
    const available = kib("MemAvailable");
    if (total !== undefined && available !== undefined) {
      return { memoryUsedBytes: total - available, memoryTotalBytes: total };
    }
  } catch {
    // Not Linux: the portable figures below.
  }
  return { memoryUsedBytes: totalmem() - freemem(), memoryTotalBytes: totalmem() };
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}

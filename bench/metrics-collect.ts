/**
 * Collection cost: the agent's CPU time per container per collection interval, with 50 and 200
 * containers (busybox `sleep`, made here and removed at the end), on the local Docker engine.
 *
 *   node --import tsx bench/metrics-collect.ts [counts…]     (default: 50 200)
 *
 * The agent runs as in production (collector, EngineGuard, aggregation, bus publish) without a
 * database. CPU is this process's user+system time over whole ticks, minus an idle baseline;
 * the engine's own CPU (dockerd) is shown beside it when /proc lets us see it.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import Dockerode from "dockerode";
import pino from "pino";
import { MetricsSystem } from "../src/metrics/system.js";
import { mapLimit } from "../src/platform/map-limit.js";
import { MemoryBus } from "../src/platform/memory/bus.js";
import { DockerRuntime } from "../src/runtime/docker-runtime.js";
import { LABELS } from "../src/runtime/index.js";

const docker = new Dockerode({ socketPath: "/var/run/docker.sock" });
const BUSYBOX = "obiente-test/busybox:latest";
const SCOPE_LABEL = "cloud.obiente.bench_scope";
const INTERVAL_MS = 5_000;
const TICKS = 4;

const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);

async function main() {
  const scope = randomBytes(4).toString("hex");
  try {
    for (const n of counts.length > 0 ? counts : [50, 200]) {
      await ensureContainers(scope, n);
      for (const concurrency of [64, 256]) {
        const result = await measure(scope, n, concurrency);
        console.log(
          `${String(n).padStart(4)} containers, concurrency ${String(concurrency).padStart(3)}: ` +
            `agent CPU ${result.cpuMsPerContainer.toFixed(3)} ms per container per interval ` +
            `(${result.cpuMsPerTick.toFixed(1)} ms per tick, ${result.cpuShare.toFixed(2)}% of one core), ` +
            `tick ${result.tickMs} ms, overruns ${result.overruns}` +
            (result.dockerdMsPerContainer === undefined
              ? ""
              : `; dockerd ${result.dockerdMsPerContainer.toFixed(2)} ms per container per interval`),
        );
      }
    }
  } finally {
    await removeContainers(scope);
  }
}

async function ensureContainers(scope: string, n: number) {
  const existing = await docker.listContainers({ filters: { label: [`${SCOPE_LABEL}=${scope}`] } });
  const started = performance.now();
  await mapLimit(
    Array.from({ length: n - existing.length }, (_, i) => existing.length + i),
    8,
    async (i) => {
      const container = await docker.createContainer({
        Image: BUSYBOX,
        Cmd: ["sleep", "3600"],
        Labels: {
          [LABELS.deployment]: "true",
          [LABELS.deploymentId]: `bench-${scope}-${i % 50}`,
          [SCOPE_LABEL]: scope,
        },
        HostConfig: { Memory: 16 * 1024 * 1024 },
      });
      await container.start();
    },
  );
  console.log(`# ${n} containers ready (${Math.round(performance.now() - started)} ms to create)`);
}

async function removeContainers(scope: string) {
  const all = await docker.listContainers({
    all: true,
    filters: { label: [`${SCOPE_LABEL}=${scope}`] },
  });
  await mapLimit(all, 8, (c) =>
    docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined),
  );
  console.log(`# removed ${all.length} containers`);
}

async function measure(scope: string, n: number, concurrency: number) {
  const baseline = await idleCpuPerMs(2_000);
  const system = new MetricsSystem({
    bus: new MemoryBus(),
    serve: false,
    agent: {
      source: new DockerRuntime({
        portRange: { from: 43000, to: 43099 },
        hostAddress: "127.0.0.1",
      }),
      nodeId: () => "bench",
      select: (c) => c.labels[SCOPE_LABEL] === scope,
    },
    options: { intervalMs: INTERVAL_MS, concurrency, statsTimeoutMs: 30_000 },
    logger: pino({ level: "silent" }),
  });
  const collector = system.collector;
  if (!collector) throw new Error("no collector");
  await system.start();
  try {
    // Warm up: the first tick (connections, JIT), then measure whole ticks.
    await waitForTicks(collector, 1);
    const from = collector.stats().ticks;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const d0 = await dockerdCpuMs();
    await waitForTicks(collector, from + TICKS);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const d1 = await dockerdCpuMs();
    const ticks = collector.stats().ticks - from;
    const cpuMs = (cpu.user + cpu.system) / 1000 - baseline * wallMs;
    const stats = collector.stats();
    if (stats.containers !== n)
      console.log(`# warning: ${stats.containers} of ${n} sampled (${stats.lastError})`);
    return {
      cpuMsPerTick: cpuMs / ticks,
      cpuMsPerContainer: cpuMs / ticks / n,
      cpuShare: (cpuMs / wallMs) * 100,
      tickMs: stats.lastDurationMs ?? 0,
      overruns: stats.overruns,
      dockerdMsPerContainer:
        d0 !== undefined && d1 !== undefined ? (d1 - d0) / ticks / n : undefined,
    };
  } finally {
    await system.close();
  }
}

/** Resolves once `ticks` ticks are over, when the next one starts (`ticks` counts started ones). */
async function waitForTicks(collector: NonNullable<MetricsSystem["collector"]>, ticks: number) {
  while (collector.stats().ticks < ticks + 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function idleCpuPerMs(ms: number): Promise<number> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
}

/** dockerd's CPU time so far, in ms, when /proc shows it. */
async function dockerdCpuMs(): Promise<number | undefined> {
  try {
    for (const pid of await readdir("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
      if (comm.trim() !== "dockerd") continue;
      const stat = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
      const ticks = Number(stat[11]) + Number(stat[12]);
      return (ticks / 100) * 1000;
    }
  } catch {
    // Not visible.
  }
  return undefined;
}

await main();

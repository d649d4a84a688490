/**
 * The agent's collector (docs/architecture.md, "Metrics"): on every slot (5 s by default, on the same
 * boundaries on every node), it lists the platform's running containers and takes one stats
 * sample of each through the Docker API, at most `concurrency` at once, every call behind the
 * EngineGuard (timeout, retries, circuit breaker). One tick runs at a time: a tick that outlasts
 * its slot makes the collector skip the slots it ran over (counted as overruns), never pile up.
 *
 * Each tick gives one SampleBatch (the node's usage included, even when the engine does not
 * answer) to `onBatch`: the bus for the live view, the aggregator for the database.
 */
import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import { DomainError, LABELS } from "../domain/index.js";
import { mapLimit } from "../platform/index.js";
import type { ContainerStats } from "../runtime/index.js";
import type { EngineGuard } from "./engine-guard.js";
import type { NodeProbe } from "./node-probe.js";
import { RateWindow } from "./rate-window.js";
import {
  type ContainerSample,
  counterDelta,
  floorTo,
  type NodeSample,
  type SampleBatch,
} from "./samples.js";

/** What the collector needs of a container listing (DockerRuntime.list gives it). */
export interface CollectableContainer {
  id: string;
  state: string;
  labels: Record<string, string>;
  createdAt: Date;
}

/** The engine as the collector sees it: DockerRuntime fits. */
export interface StatsSource {
  /** The platform's containers (label cloud.obiente.deployment=true), in every state. */
  list(): Promise<CollectableContainer[]>;
  /** One sample; `signal` aborts it when the call timed out (a source may ignore it). */
  stats(id: string, options?: { signal?: AbortSignal }): Promise<ContainerStats>;
}

export interface CollectorOptions {
  source: StatsSource;
  guard: EngineGuard;
  /** This node's id (the agent's heartbeat knows it once the engine answered). */
  nodeId: () => string;
  intervalMs: number;
  concurrency: number;
  probe?: NodeProbe;
  /** Only these containers (tests and benchmarks scope themselves); default all. */
  select?: (container: CollectableContainer) => boolean;
  /** Every tick's batch. Its errors are logged, never thrown back. */
  onBatch: (batch: SampleBatch) => void;
  logger?: Logger;
  now?: () => number;
}

export interface CollectorStats {
  ticks: number;
  /** Ticks whose container list failed (engine down, breaker open). */
  failedTicks: number;
  /** Slots skipped because the tick before ran past them. */
  overruns: number;
  /** Containers sampled in the last successful tick. */
  containers: number;
  samples: number;
  samplesPerMinute: number;
  /** Stats calls that failed (refusals of the open breaker included). */
  statsErrors: number;
  lastSlot: Date | undefined;
  lastSuccessAt: Date | undefined;
  lastDurationMs: number | undefined;
  lastError: string | undefined;
}

interface Counters {
  rx: number;
  tx: number;
  read: number;
  write: number;
}

export class Collector {
  private readonly options: CollectorOptions;
  private readonly now: () => number;
  private readonly abort = new AbortController();
  /** Each container's lifetime counters at its previous sample. */
  private readonly previous = new Map<string, Counters>();
  private readonly rate = new RateWindow(60_000);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private closed = false;
  private lastListAt: number | undefined;
  private readonly counts = {
    ticks: 0,
    failedTicks: 0,
    overruns: 0,
    containers: 0,
    samples: 0,
    statsErrors: 0,
    lastSlot: undefined as number | undefined,
    lastSuccessAt: undefined as number | undefined,
    lastDurationMs: undefined as number | undefined,
    lastError: undefined as string | undefined,
  };

  constructor(options: CollectorOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    // Every call in flight listens to this signal (through the EngineGuard): one per call.
    setMaxListeners(options.concurrency + 16, this.abort.signal);
  }

  /** Starts ticking; the first tick runs at once, in the background. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.runTick(floorTo(this.now(), this.options.intervalMs));
  }

  /** Stops ticking and waits for the tick in progress (its engine calls are cancelled). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.running;
  }

  stats(): CollectorStats {
    const c = this.counts;
    const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));
    return {
      ticks: c.ticks,
      failedTicks: c.failedTicks,
      overruns: c.overruns,
      containers: c.containers,
      samples: c.samples,
      samplesPerMinute: this.rate.perMinute(this.now()),
      statsErrors: c.statsErrors,
      lastSlot: date(c.lastSlot),
      lastSuccessAt: date(c.lastSuccessAt),
      lastDurationMs: c.lastDurationMs,
      lastError: c.lastError,
    };
  }

  /** One tick for `slot`, then the next one scheduled on the next free slot boundary. */
  private runTick(slot: number): void {
    this.running = this.tick(slot)
      .catch((error: unknown) => this.options.logger?.error({ err: error }, "metrics tick failed"))
      .finally(() => {
        this.running = undefined;
        if (!this.closed) this.schedule(slot);
      });
  }

  private schedule(previousSlot: number): void {
    const { intervalMs } = this.options;
    const now = this.now();
    const next = Math.max(previousSlot + intervalMs, floorTo(now, intervalMs) + intervalMs);
    this.counts.overruns += (next - previousSlot) / intervalMs - 1;
    this.timer = setTimeout(() => this.runTick(next), Math.max(0, next - now));
  }

  /** Collects one slot; resolves once its batch is handed over. */
  private async tick(slot: number): Promise<void> {
    const started = performance.now();
    const { guard, source, concurrency, probe } = this.options;
    const signal = this.abort.signal;
    const nodeId = this.options.nodeId();
    this.counts.ticks++;
    this.counts.lastSlot = slot;

    const usage = probe?.sample().catch((error: unknown) => {
      // The node's usage is left out of this tick's batch; the containers' samples still go.
      this.options.logger?.debug({ err: error }, "sampling the node's usage failed");
      return undefined;
    });
    let containers: CollectableContainer[] | undefined;
    const listedAt = this.now();
    try {
      containers = (await guard.run(() => source.list(), { signal })).filter(
        (c) =>
          c.state === "running" &&
          c.labels[LABELS.deployment] === "true" &&
          (c.labels[LABELS.deploymentId] ?? "") !== "" &&
          (this.options.select?.(c) ?? true),
      );
    } catch (error) {
      this.counts.failedTicks++;
      this.counts.lastError = `list containers: ${messageOf(error)}`;
    }
    if (this.closed) return;

    const samples: ContainerSample[] = [];
    if (containers) {
      const since = this.lastListAt;
      const results = await mapLimit(containers, concurrency, async (container) => {
        try {
          const stats = await guard.run(
            (callSignal) => source.stats(container.id, { signal: callSignal }),
            { signal, slow: true },
          );
          return { container, stats };
        } catch (error) {
          // A container that stopped or went away since the list is no failure.
          if (error instanceof DomainError && error.kind === "not_found") return undefined;
          this.counts.statsErrors++;
          this.counts.lastError = `stats of ${container.id.slice(0, 12)}: ${messageOf(error)}`;
          return undefined;
        }
      });
      if (this.closed) return;
      for (const result of results) {
        if (result) samples.push(this.sample(slot, result.container, result.stats, since));
      }
      // Forget the counters of containers that are gone.
      const listed = new Set(containers.map((c) => c.id));
      for (const id of this.previous.keys()) if (!listed.has(id)) this.previous.delete(id);
      this.lastListAt = listedAt;
      this.counts.containers = samples.length;
      this.counts.samples += samples.length;
      // A tick whose every stats call failed collected nothing.
      if (samples.length > 0 || containers.length === 0) this.counts.lastSuccessAt = this.now();
      this.rate.add(samples.length, this.now());
    }

    const nodeUsage = await usage;
    const node: NodeSample | undefined = nodeUsage && {
      nodeId,
      at: slot,
      ...nodeUsage,
      deploymentCount: containers
        ? new Set(containers.map((c) => c.labels[LABELS.deploymentId])).size
        : undefined,
      networkRxBytes: samples.reduce((sum, s) => sum + s.networkRxBytes, 0),
      networkTxBytes: samples.reduce((sum, s) => sum + s.networkTxBytes, 0),
    };
    this.counts.lastDurationMs = Math.round(performance.now() - started);
    if (!containers && !node) return;
    try {
      this.options.onBatch({
        nodeId,
        at: slot,
        intervalMs: this.options.intervalMs,
        samples,
        ...(node ? { node } : {}),
      });
    } catch (error) {
      this.options.logger?.error({ err: error }, "a metrics batch consumer failed");
    }
  }

  private sample(
    slot: number,
    container: CollectableContainer,
    stats: ContainerStats,
    since: number | undefined,
  ): ContainerSample {
    const now: Counters = {
      rx: stats.networkRxBytes,
      tx: stats.networkTxBytes,
      read: stats.blockReadBytes,
      write: stats.blockWriteBytes,
    };
    // A container created since the previous look: all of its traffic is new.
    const fresh = since !== undefined && container.createdAt.getTime() >= since - 1_000;
    const before = this.previous.get(container.id) ?? (fresh ? ZERO : undefined);
    this.previous.set(container.id, now);
    return {
      containerId: container.id,
      deploymentId: container.labels[LABELS.deploymentId] ?? "",
      projectId: container.labels[LABELS.projectId] ?? "",
      at: slot,
      cpuPercent: stats.cpuPercent,
      memoryUsedBytes: stats.memoryUsedBytes,
      memoryLimitBytes: stats.memoryLimitBytes,
      networkRxBytes: counterDelta(before?.rx, now.rx),
      networkTxBytes: counterDelta(before?.tx, now.tx),
      blockReadBytes: counterDelta(before?.read, now.read),
      blockWriteBytes: counterDelta(before?.write, now.write),
      pids: stats.pids,
    };
  }
}

const ZERO: Counters = { rx: 0, tx: 0, read: 0, write: 0 };

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

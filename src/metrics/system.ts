/**
 * The metrics system of one process, assembled from its parts (docs/architecture.md, "Metrics"):
 *
 *   agent role:  Collector ──batch──▶ bus (live view, every API process)
 *                          └───────▶ Aggregator ──▶ metrics database (buckets, hourly usage)
 *                          └───────▶ NodeStatusWriter ──▶ node_metadata (current usage)
 *   api role:    bus ──▶ LiveHub (live cache, fan-out) ◀── MetricsService.get/watch ──▶ database
 *
 * In the embedded mode both run in one process and the in-process bus joins them. The object
 * answers /health (`health()`), /metrics/observability (`observability()`) and registers its
 * Prometheus metrics into the registry it is given.
 */
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Bus } from "../platform/index.js";
import type { Database, Db } from "../store/index.js";
import { Aggregator, type AggregatorStats } from "./aggregator.js";
import {
  type CollectableContainer,
  Collector,
  type CollectorStats,
  type StatsSource,
} from "./collector.js";
import { EngineGuard, type EngineGuardStats } from "./engine-guard.js";
import { LiveHub, type LiveHubStats } from "./live-hub.js";
import { MetricsStore } from "./metrics-store.js";
import { HostProbe, type NodeProbe } from "./node-probe.js";
import { type NodeStatusStats, NodeStatusWriter } from "./node-status.js";
import { type MetricsOptions, resolveMetricsOptions } from "./options.js";
import { registerMetricsCollectors } from "./prometheus.js";
import type { SampleBatch } from "./samples.js";
import { MetricsService } from "./service.js";

export interface MetricsAgentOptions {
  /** This node's engine: DockerRuntime fits. */
  source: StatsSource;
  /** This node's id (Heartbeat.nodeId). */
  nodeId: () => string;
  /** The host's usage; default HostProbe on options.diskPath; null: none recorded. */
  probe?: NodeProbe | null;
  /** Only these containers; default all the platform's. */
  select?: (container: CollectableContainer) => boolean;
}

export interface MetricsSystemOptions {
  /** Where the agents' batches travel (PlatformServices.bus). */
  bus: Bus;
  /** The metrics database, migrated (see migrateMetrics); without it nothing is stored. */
  metricsDatabase?: Database;
  /** The platform database: node_metadata's current usage, the deployments gauge. */
  db?: Db;
  /** Collect on this node (the agent role). */
  agent?: MetricsAgentOptions;
  /** Serve get/watch and the live gauges (the api role); default true. */
  serve?: boolean;
  /** Prometheus metrics go here (or later, through registerPrometheus). */
  registry?: Registry;
  options?: Partial<MetricsOptions>;
  logger?: Logger;
  now?: () => number;
}

export interface MetricsHealth {
  status: "healthy" | "degraded";
  reasons: string[];
}

export interface MetricsObservability {
  status: MetricsHealth["status"];
  reasons: string[];
  collection?: CollectorStats & { intervalMs: number; engine: EngineGuardStats };
  database?: AggregatorStats;
  node?: NodeStatusStats;
  live?: LiveHubStats;
  /** Batches that could not be published on the bus. */
  publishFailures: number;
}

/** Collection counts as stale after this many intervals without a successful tick. */
const STALE_INTERVALS = 3;

export class MetricsSystem {
  /** For the API's handlers; undefined when this process does not serve (agent only). */
  readonly service: MetricsService | undefined;
  readonly hub: LiveHub | undefined;
  readonly store: MetricsStore | undefined;
  readonly collector: Collector | undefined;
  readonly aggregator: Aggregator | undefined;
  readonly guard: EngineGuard | undefined;
  private readonly nodeStatus: NodeStatusWriter | undefined;
  private readonly options: MetricsOptions;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private publishFailures = 0;
  private started = false;
  private startedAt = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly settings: MetricsSystemOptions) {
    const options = resolveMetricsOptions(settings.options);
    this.options = options;
    this.now = settings.now ?? Date.now;
    this.logger = settings.logger?.child({ component: "metrics" });
    const now = this.now;

    this.store =
      settings.metricsDatabase &&
      new MetricsStore(settings.metricsDatabase, {
        bucketMs: options.bucketMs,
        retentionDays: options.retentionDays,
        usageRetentionDays: options.usageRetentionDays,
        partitionsAheadDays: options.partitionsAheadDays,
        now,
      });

    if (settings.serve ?? true) {
      this.hub = new LiveHub({
        bus: settings.bus,
        windowMs: options.liveWindowMs,
        maxContainers: options.maxContainers,
        subscriberQueue: options.subscriberQueue,
        subscriberMaxLag: options.subscriberMaxLag,
        maxSubscribers: options.maxSubscribers,
        ...(this.logger ? { logger: this.logger } : {}),
        now,
      });
      this.service = new MetricsService(this.hub, this.store, {
        readTimeoutMs: options.readTimeoutMs,
        now,
      });
    }

    const agent = settings.agent;
    if (agent) {
      this.guard = new EngineGuard({
        timeoutMs: options.engineTimeoutMs,
        slowTimeoutMs: options.statsTimeoutMs,
        attempts: options.engineAttempts,
        breakerThreshold: options.breakerThreshold,
        halfOpenAfterMs: options.breakerHalfOpenAfterMs,
        maxHalfOpenAfterMs: options.breakerMaxHalfOpenAfterMs,
      });
      this.guard.onStateChange = (state) =>
        this.logger?.[state === "closed" ? "info" : "warn"](
          { breaker: state },
          "Docker API circuit breaker",
        );
      this.aggregator =
        this.store &&
        new Aggregator({
          store: this.store,
          intervalMs: options.intervalMs,
          bucketMs: options.bucketMs,
          aggregateIntervalMs: options.aggregateIntervalMs,
          bufferMaxRows: options.bufferMaxRows,
          maxRowsPerWrite: options.maxRowsPerWrite,
          writeTimeoutMs: options.writeTimeoutMs,
          ...(this.logger ? { logger: this.logger } : {}),
          now,
        });
      this.nodeStatus = settings.db && new NodeStatusWriter(settings.db);
      this.collector = new Collector({
        source: agent.source,
        guard: this.guard,
        nodeId: agent.nodeId,
        intervalMs: options.intervalMs,
        concurrency: options.concurrency,
        ...(agent.probe === null ? {} : { probe: agent.probe ?? new HostProbe(options.diskPath) }),
        ...(agent.select ? { select: agent.select } : {}),
        onBatch: (batch) => this.onBatch(batch),
        ...(this.logger ? { logger: this.logger } : {}),
        now,
      });
    }

    if (settings.registry) this.registerPrometheus(settings.registry);
  }

  /**
   * Registers this process's metrics into `registry` (once per registry: prom-client refuses a
   * name twice), for when the registry is made after the system (the API server's).
   */
  registerPrometheus(registry: Registry): void {
    registerMetricsCollectors(registry, {
      intervalMs: this.options.intervalMs,
      ...(this.collector ? { collector: this.collector } : {}),
      ...(this.guard ? { guard: this.guard } : {}),
      ...(this.aggregator ? { aggregator: this.aggregator } : {}),
      ...(this.hub ? { hub: this.hub } : {}),
      ...(this.settings.db && this.hub ? { db: this.settings.db } : {}),
    });
  }

  /**
   * Starts listening (api) then collecting and aggregating (agent). A metrics database or an
   * engine that does not answer does not stop the start: health says so, and the loops retry.
   */
  async start(): Promise<void> {
    if (this.started || this.closing) return;
    this.started = true;
    this.startedAt = this.now();
    await this.hub?.start();
    await this.aggregator?.start();
    this.collector?.start();
  }

  /** Stops collecting, writes what is left, ends the streams. Safe twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.collector?.close();
      await this.aggregator?.close();
      await this.nodeStatus?.close();
      await this.hub?.close();
    })();
    return this.closing;
  }

  health(): MetricsHealth {
    const reasons: string[] = [];
    const now = this.now();
    if (this.guard && this.guard.state !== "closed") {
      const guard = this.guard.stats();
      reasons.push(
        `Docker API circuit breaker is ${guard.breaker.replace("_", "-")}` +
          (guard.lastFailure ? `: ${guard.lastFailure}` : ""),
      );
    }
    if (this.collector && this.started) {
      const stats = this.collector.stats();
      const last = stats.lastSuccessAt?.getTime();
      const staleAfter =
        STALE_INTERVALS * this.options.intervalMs +
        this.options.engineTimeoutMs +
        this.options.statsTimeoutMs;
      if (now - (last ?? this.startedAt) > staleAfter) {
        reasons.push(
          last === undefined
            ? `no container stats collected yet${stats.lastError ? `: ${stats.lastError}` : ""}`
            : `no container stats collected for ${Math.round((now - last) / 1000)} s` +
                (stats.lastError ? `: ${stats.lastError}` : ""),
        );
      }
    }
    if (this.aggregator) {
      const { writes, buffer, maintenance } = this.aggregator.stats();
      if (writes.consecutiveFailures > 0) {
        reasons.push(
          `metrics database writes failing (${writes.consecutiveFailures} in a row, ` +
            `${buffer.rows} rows buffered): ${writes.lastError ?? "unknown error"}`,
        );
      }
      if (buffer.rows >= buffer.maxRows) {
        reasons.push(`metrics write buffer full (${buffer.maxRows} rows): the oldest are dropped`);
      }
      if (maintenance.lastError) reasons.push(`metrics upkeep failing: ${maintenance.lastError}`);
    }
    if (this.hub && !this.hub.stats().listening && this.started && !this.closing) {
      reasons.push("not listening to the agents' samples");
    }
    return { status: reasons.length === 0 ? "healthy" : "degraded", reasons };
  }

  observability(): MetricsObservability {
    const health = this.health();
    return {
      ...health,
      ...(this.collector && this.guard
        ? {
            collection: {
              ...this.collector.stats(),
              intervalMs: this.options.intervalMs,
              engine: this.guard.stats(),
            },
          }
        : {}),
      ...(this.aggregator ? { database: this.aggregator.stats() } : {}),
      ...(this.nodeStatus ? { node: this.nodeStatus.stats() } : {}),
      ...(this.hub ? { live: this.hub.stats() } : {}),
      publishFailures: this.publishFailures,
    };
  }

  private onBatch(batch: SampleBatch): void {
    this.aggregator?.add(batch);
    if (batch.node) this.nodeStatus?.update(batch.node);
    LiveHub.publish(this.settings.bus, batch).catch((error: unknown) => {
      this.publishFailures++;
      this.logger?.warn({ err: error }, "could not publish metrics samples");
    });
  }
}

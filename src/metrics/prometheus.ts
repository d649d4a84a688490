/**
 * The metrics system as Prometheus metrics, in a registry the caller owns (docs/architecture.md, "Metrics").
 * Everything is read at scrape time from the parts' own counters, so the hot paths carry no
 * Prometheus bookkeeping. Counters are fed the growth of those counters since the last scrape.
 *
 * Each process registers what it runs: the collector's health and the write path in an agent,
 * the live cache, subscribers, deployment and node usage (from the agents' batches) and the
 * deployments-by-status gauge in an API process.
 */
import { count } from "drizzle-orm";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { type Db, deployments } from "../store/index.js";
import type { Aggregator } from "./aggregator.js";
import type { Collector } from "./collector.js";
import { within } from "./deadline.js";
import type { BreakerState, EngineGuard } from "./engine-guard.js";
import type { LiveHub } from "./live-hub.js";

export interface PrometheusSources {
  intervalMs: number;
  collector?: Collector;
  guard?: EngineGuard;
  aggregator?: Aggregator;
  hub?: LiveHub;
  /** The platform database, for the deployments-by-status gauge. */
  db?: Db;
}

const BREAKER_STATES: BreakerState[] = ["closed", "open", "half_open", "isolated"];
/** A scrape does not wait longer than this for the deployments-by-status query. */
const DEPLOYMENTS_QUERY_TIMEOUT_MS = 2_000;

export function registerMetricsCollectors(registry: Registry, sources: PrometheusSources): void {
  const registers = [registry];
  const total = (name: string, help: string, read: () => number) => {
    let last = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const value = read();
        if (value > last) this.inc(value - last);
        last = Math.max(last, value);
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
      },
    });

  const { collector, guard, aggregator, hub, db } = sources;
  if (collector) {
    const stats = () => collector.stats();
    total(
      "obiente_metrics_collection_ticks_total",
      "Collection ticks started",
      () => stats().ticks,
    );
    total(
      "obiente_metrics_collection_failed_ticks_total",
      "Collection ticks whose container list failed (engine down or breaker open)",
      () => stats().failedTicks,
    );
    total(
      "obiente_metrics_collection_overruns_total",
      "Collection slots skipped because the previous tick ran past them",
      () => stats().overruns,
    );
    total(
      "obiente_metrics_collection_samples_total",
      "Container samples collected",
      () => stats().samples,
    );
    total(
      "obiente_metrics_collection_errors_total",
      "Container stats calls that failed",
      () => stats().statsErrors,
    );
    gauge(
      "obiente_metrics_collection_containers",
      "Containers sampled by the last successful tick",
      () => stats().containers,
    );
    gauge(
      "obiente_metrics_collection_duration_seconds",
      "Duration of the last collection tick",
      () => (stats().lastDurationMs ?? 0) / 1000,
    );
    gauge(
      "obiente_metrics_collection_last_success_timestamp_seconds",
      "When the last successful collection ended",
      () => (stats().lastSuccessAt?.getTime() ?? 0) / 1000,
    );
  }
  if (guard) {
    new Gauge({
      name: "obiente_metrics_engine_breaker_state",
      help: "The Docker API circuit breaker: 1 for its current state",
      labelNames: ["state"] as const,
      registers,
      collect() {
        const current = guard.state;
        for (const state of BREAKER_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    total(
      "obiente_metrics_engine_timeouts_total",
      "Docker API calls that timed out",
      () => guard.stats().timeouts,
    );
    total(
      "obiente_metrics_engine_rejected_total",
      "Docker API calls refused by the open circuit breaker",
      () => guard.stats().rejected,
    );
  }
  if (aggregator) {
    const stats = () => aggregator.stats();
    let lastOk = 0;
    let lastFailed = 0;
    new Counter({
      name: "obiente_metrics_db_writes_total",
      help: "Batched writes to the metrics database, by result",
      labelNames: ["result"] as const,
      registers,
      collect() {
        const { succeeded, failed } = stats().writes;
        if (succeeded > lastOk) this.inc({ result: "success" }, succeeded - lastOk);
        if (failed > lastFailed) this.inc({ result: "failure" }, failed - lastFailed);
        lastOk = Math.max(lastOk, succeeded);
        lastFailed = Math.max(lastFailed, failed);
      },
    });
    total(
      "obiente_metrics_db_write_errors_total",
      "Failed writes to the metrics database",
      () => stats().writes.failed,
    );
    total(
      "obiente_metrics_db_rows_written_total",
      "Rows written",
      () => stats().writes.rowsWritten,
    );
    gauge("obiente_metrics_buffer_rows", "Rows waiting to be written", () => stats().buffer.rows);
    const writeDuration = new Histogram({
      name: "obiente_metrics_db_write_duration_seconds",
      help: "Duration of one batched write to the metrics database, by result",
      labelNames: ["result"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    aggregator.onWrite = (seconds, ok) =>
      writeDuration.observe({ result: ok ? "success" : "failure" }, seconds);
    total(
      "obiente_metrics_buffer_dropped_rows_total",
      "Rows dropped because the write buffer was full",
      () => stats().buffer.droppedRows,
    );
  }
  if (hub) registerLiveMetrics(registers, hub, sources.intervalMs, total, gauge);
  if (db) {
    new Gauge({
      name: "obiente_deployments",
      help: "Deployments by status and project",
      labelNames: ["status", "project_id"] as const,
      registers,
      async collect() {
        const query = db
          .select({ status: deployments.status, projectId: deployments.projectId, n: count() })
          .from(deployments)
          .groupBy(deployments.status, deployments.projectId)
          .execute();
        // The database is down or slow: the last values stay, and /metrics still answers.
        const result = await within(query, DEPLOYMENTS_QUERY_TIMEOUT_MS).catch(() => undefined);
        if (!result?.done) return;
        this.reset();
        for (const row of result.value) {
          this.set({ status: row.status, project_id: row.projectId }, row.n);
        }
      },
    });
  }
}

function registerLiveMetrics(
  registers: Registry[],
  hub: LiveHub,
  intervalMs: number,
  total: (name: string, help: string, read: () => number) => void,
  gauge: (name: string, help: string, read: () => number | undefined) => Gauge,
): void {
  const stats = () => hub.stats();
  gauge(
    "obiente_metrics_live_cache_containers",
    "Containers in the live cache",
    () => stats().cache.containers,
  );
  gauge(
    "obiente_metrics_live_cache_samples",
    "Samples in the live cache",
    () => stats().cache.samples,
  );
  gauge(
    "obiente_metrics_subscribers",
    "Live metrics streams open",
    () => stats().subscribers.subscribers,
  );
  total(
    "obiente_metrics_subscribers_dropped_total",
    "Live metrics streams dropped because they did not keep up",
    () => stats().subscribers.dropped,
  );
  total(
    "obiente_metrics_samples_coalesced_total",
    "Samples coalesced for slow live metrics streams",
    () => stats().subscribers.coalesced,
  );
  total(
    "obiente_metrics_batches_received_total",
    "Agents' batches received",
    () => stats().batches,
  );

  const perSecond = intervalMs / 1000;
  // The gauge whose collect() fills the others is registered first: a registry reads its
  // metrics in registration order.
  new Gauge({
    name: "obiente_metrics_live_deployments",
    help: "Deployments with live samples",
    registers,
    collect() {
      for (const g of [cpu, memory, limit, rx, tx, disk]) g.reset();
      let deployments = 0;
      for (const { deploymentId, projectId, sample } of hub.cache.latestByDeployment()) {
        const labels = { deployment_id: deploymentId, project_id: projectId };
        cpu.set(labels, sample.cpuPercent);
        memory.set(labels, sample.memoryBytes);
        limit.set(labels, sample.memoryLimitBytes);
        rx.set(labels, sample.networkRxBytes / perSecond);
        tx.set(labels, sample.networkTxBytes / perSecond);
        disk.set(labels, (sample.blockReadBytes + sample.blockWriteBytes) / perSecond);
        deployments++;
      }
      this.set(deployments);
    },
  });

  const deploymentGauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ["deployment_id", "project_id"] as const, registers });
  const cpu = deploymentGauge("obiente_deployment_cpu_percent", "Deployment CPU (100 = one core)");
  const memory = deploymentGauge("obiente_deployment_memory_bytes", "Deployment memory in use");
  const limit = deploymentGauge("obiente_deployment_memory_limit_bytes", "Deployment memory limit");
  const rx = deploymentGauge(
    "obiente_deployment_network_receive_bytes_per_second",
    "Deployment network in",
  );
  const tx = deploymentGauge(
    "obiente_deployment_network_transmit_bytes_per_second",
    "Deployment network out",
  );
  const disk = deploymentGauge(
    "obiente_deployment_disk_io_bytes_per_second",
    "Deployment block I/O",
  );
  new Gauge({
    name: "obiente_metrics_live_nodes",
    help: "Nodes with live usage",
    registers,
    collect() {
      const nodes = hub.cache.latestNodes();
      for (const g of [
        nodeCpu,
        nodeMemory,
        nodeMemoryTotal,
        nodeDisk,
        nodeDeployments,
        nodeRx,
        nodeTx,
      ]) {
        g.reset();
      }
      for (const node of nodes) {
        const labels = { node_id: node.nodeId };
        nodeCpu.set(labels, node.cpuPercent);
        nodeMemory.set(labels, node.memoryUsedBytes);
        nodeMemoryTotal.set(labels, node.memoryTotalBytes);
        nodeDisk.set(labels, node.diskPercent);
        if (node.deploymentCount !== undefined) nodeDeployments.set(labels, node.deploymentCount);
        nodeRx.set(labels, node.networkRxBytes / perSecond);
        nodeTx.set(labels, node.networkTxBytes / perSecond);
      }
      this.set(nodes.length);
    },
  });
  const nodeGauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ["node_id"] as const, registers });
  const nodeCpu = nodeGauge("obiente_node_cpu_percent", "Node CPU in use, all cores (0-100)");
  const nodeMemory = nodeGauge("obiente_node_memory_used_bytes", "Node memory in use");
  const nodeMemoryTotal = nodeGauge("obiente_node_memory_total_bytes", "Node memory");
  const nodeDisk = nodeGauge("obiente_node_disk_percent", "Node disk in use (0-100)");
  const nodeDeployments = nodeGauge("obiente_node_deployments", "Deployments running on the node");
  const nodeRx = nodeGauge(
    "obiente_node_network_receive_bytes_per_second",
    "Platform containers' network in",
  );
  const nodeTx = nodeGauge(
    "obiente_node_network_transmit_bytes_per_second",
    "Platform containers' network out",
  );
}

export { Aggregator, type AggregatorOptions, type AggregatorStats } from "./aggregator.js";
export { BucketAccumulator } from "./bucket-accumulator.js";
export {
  type CollectableContainer,
  Collector,
  type CollectorOptions,
  type CollectorStats,
  type StatsSource,
} from "./collector.js";
export {
  type BreakerState,
  EngineGuard,
  type EngineGuardOptions,
  type EngineGuardStats,
  isEngineFailure,
} from "./engine-guard.js";
export { FanOut, type FanOutOptions, type FanOutStats, Subscription } from "./fan-out.js";
export {
  type MetricsListener,
  metricsAuthorized,
  processRegistry,
  serveMetrics,
} from "./listener.js";
export { LiveCache, type LiveCacheOptions, type LiveCacheStats } from "./live-cache.js";
export {
  LiveHub,
  type LiveHubOptions,
  type LiveHubStats,
  parseBatch,
  SAMPLES_CHANNEL,
} from "./live-hub.js";
export {
  type Maintenance,
  MetricsStore,
  type MetricsStoreOptions,
  type StorageMode,
  type WriteResult,
} from "./metrics-store.js";
export { METRICS_MIGRATION, migrateMetrics } from "./migrate.js";
export { HostProbe, type NodeProbe, type NodeUsage } from "./node-probe.js";
export { type NodeStatusStats, NodeStatusWriter } from "./node-status.js";
export { DEFAULT_METRICS_OPTIONS, type MetricsOptions, resolveMetricsOptions } from "./options.js";
export { type PrometheusSources, registerMetricsCollectors } from "./prometheus.js";
export { HOUR_MS, rollupHourly } from "./rollup.js";
export type { ContainerMinuteRow, MinuteRow, MinuteUsage, NodeMinuteRow } from "./rows.js";
export {
  type ContainerSample,
  coalesce,
  counterDelta,
  type DeploymentSample,
  type NodeSample,
  type SampleBatch,
  sumSamples,
  type UsageHour,
} from "./samples.js";
export {
  DEFAULT_RANGE_MS,
  type DeploymentMetrics,
  MAX_RANGE_MS,
  type MetricsRange,
  MetricsService,
} from "./service.js";
export {
  type MetricsAgentOptions,
  type MetricsHealth,
  type MetricsObservability,
  MetricsSystem,
  type MetricsSystemOptions,
} from "./system.js";

/**
 * The metrics system's settings, with the defaults of docs/architecture.md, "Metrics". Every duration is in
 * milliseconds; tests shorten them.
 */
import { invalidArgument } from "../domain/index.js";

const HOUR_MS = 3_600_000;

export interface MetricsOptions {
  /** How often the agent samples each container (a collection "slot"); default 5 s. */
  intervalMs: number;
  /** Width of an aggregated bucket (the "minute"); a multiple of intervalMs dividing an hour. */
  bucketMs: number;
  /** How often closed buckets are written to the metrics database; default 60 s. */
  aggregateIntervalMs: number;
  /** How much live history is kept in memory per container; default 5 minutes. */
  liveWindowMs: number;
  /**
   * Stats requests in flight at once against the engine; default 256. Each takes ~2 s of waiting
   * (the engine measures CPU over a second) and little work, so a node's containers should fit
   * in one or two rounds per interval (bench/metrics-collect.ts: 200 containers take 9 s at 64,
   * 3 s at 200).
   */
  concurrency: number;
  /** A quick Docker API call (the container list) gives up after this; default 3 s. */
  engineTimeoutMs: number;
  /** One container's stats call gives up after this; default 6 s (the engine takes ~2 s). */
  statsTimeoutMs: number;
  /** Attempts per Docker API call, the first included; default 2. */
  engineAttempts: number;
  /** Consecutive engine failures that open the circuit breaker; default 5. */
  breakerThreshold: number;
  /** First wait before a trial call once the breaker is open (then doubles); default 5 s. */
  breakerHalfOpenAfterMs: number;
  /** The longest wait before a trial call; default 60 s. */
  breakerMaxHalfOpenAfterMs: number;
  /** Days of per-minute rows kept (whole daily partitions are dropped); default 14. */
  retentionDays: number;
  /** Days of hourly usage kept; default 400. */
  usageRetentionDays: number;
  /** Daily partitions created ahead of today; default 3. */
  partitionsAheadDays: number;
  /** Rows kept for retry while the metrics database is down; the oldest go first; default 200 000. */
  bufferMaxRows: number;
  /** Rows in one write (one transaction); a long backlog is written in several; default 20 000. */
  maxRowsPerWrite: number;
  /** The database work of one aggregation cycle counts as failed after this; default 30 s. */
  writeTimeoutMs: number;
  /** A history read (GetDeploymentMetrics) gives up after this; default 5 s. */
  readTimeoutMs: number;
  /** Samples queued for one stream subscriber before newer ones are coalesced; default 8. */
  subscriberQueue: number;
  /** Samples coalesced for a subscriber that has not read, before it is dropped; default 120. */
  subscriberMaxLag: number;
  /** Live subscribers in this process; more are refused; default 10 000. */
  maxSubscribers: number;
  /** Containers in the live cache; default 20 000. */
  maxContainers: number;
  /** The filesystem whose usage is the node's disk usage; default "/". */
  diskPath: string;
}

export const DEFAULT_METRICS_OPTIONS: Readonly<MetricsOptions> = Object.freeze({
  intervalMs: 5_000,
  bucketMs: 60_000,
  aggregateIntervalMs: 60_000,
  liveWindowMs: 300_000,
  concurrency: 256,
  engineTimeoutMs: 3_000,
  statsTimeoutMs: 6_000,
  engineAttempts: 2,
  breakerThreshold: 5,
  breakerHalfOpenAfterMs: 5_000,
  breakerMaxHalfOpenAfterMs: 60_000,
  retentionDays: 14,
  usageRetentionDays: 400,
  partitionsAheadDays: 3,
  bufferMaxRows: 200_000,
  maxRowsPerWrite: 20_000,
  writeTimeoutMs: 30_000,
  readTimeoutMs: 5_000,
  subscriberQueue: 8,
  subscriberMaxLag: 120,
  maxSubscribers: 10_000,
  maxContainers: 20_000,
  diskPath: "/",
});

/** The defaults overridden by `overrides`; throws invalid_argument naming a bad value. */
export function resolveMetricsOptions(overrides: Partial<MetricsOptions> = {}): MetricsOptions {
  const options = { ...DEFAULT_METRICS_OPTIONS, ...overrides };
  for (const [key, value] of Object.entries(options)) {
    if (key === "diskPath") continue;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
      throw invalidArgument(`metrics option ${key} must be a positive integer, got ${value}`);
    }
  }
  if (options.bucketMs % options.intervalMs !== 0) {
    throw invalidArgument(
      `metrics bucketMs (${options.bucketMs}) must be a multiple of intervalMs (${options.intervalMs})`,
    );
  }
  if (HOUR_MS % options.bucketMs !== 0) {
    throw invalidArgument(`metrics bucketMs (${options.bucketMs}) must divide an hour`);
  }
  if (options.breakerMaxHalfOpenAfterMs < options.breakerHalfOpenAfterMs) {
    throw invalidArgument("metrics breakerMaxHalfOpenAfterMs must be ≥ breakerHalfOpenAfterMs");
  }
  if (!options.diskPath.startsWith("/")) {
    throw invalidArgument(`metrics diskPath must be an absolute path, got "${options.diskPath}"`);
  }
  return options;
}

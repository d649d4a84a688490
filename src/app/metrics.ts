/**
 * Wires the metrics system (src/metrics/system.ts) into a platform process: the agent role
 * collects the local engine's containers of this installation and the node's usage, under the
 * node's id (its Swarm node id in cluster mode, where an agent runs on every node), the api role
 * serves the live view and the history; both share the platform's bus (Redis across processes).
 * The metrics database is the main one unless METRICS_DATABASE_URL names another, which then
 * gets the metrics migration alone.
 */
import type { Config } from "../config/index.js";
import type { AppContext } from "../core/index.js";
import { LABELS } from "../domain/index.js";
import { MetricsSystem, migrateMetrics } from "../metrics/index.js";
import { type Database, openDatabase } from "../store/index.js";
import type { Deploying } from "./deploying.js";

export interface RunningMetrics {
  readonly system: MetricsSystem;
  close(): Promise<void>;
}

export async function startMetrics(
  ctx: AppContext,
  config: Config,
  database: Database,
  deploying: Deploying | undefined,
): Promise<RunningMetrics> {
  let separate: Database | undefined;
  if (config.METRICS_DATABASE_URL && config.METRICS_DATABASE_URL !== config.DATABASE_URL) {
    separate = await openDatabase({ url: config.METRICS_DATABASE_URL });
    try {
      if (await migrateMetrics(separate)) ctx.logger.info("metrics database migrated");
    } catch (error) {
      await separate.close();
      throw error;
    }
  }
  const collect = config.ROLES.includes("agent") && deploying !== undefined;
  const system = new MetricsSystem({
    bus: ctx.services.bus,
    metricsDatabase: separate ?? database,
    db: ctx.db,
    serve: config.ROLES.includes("api"),
    ...(collect
      ? {
          agent: {
            source: deploying.runtime,
            nodeId: deploying.nodeId,
            ...(config.METRICS_NODE_USAGE ? {} : { probe: null }),
            // Another installation on the same engine (a developer's machine, CI) counts its own.
            select: (container) =>
              container.labels[LABELS.installation] === undefined ||
              container.labels[LABELS.installation] === deploying.installation,
          },
        }
      : {}),
    options: {
      intervalMs: config.METRICS_INTERVAL_MS,
      bucketMs: config.METRICS_BUCKET_MS,
      aggregateIntervalMs: config.METRICS_AGGREGATE_INTERVAL_MS,
      liveWindowMs: config.METRICS_LIVE_WINDOW_SECONDS * 1000,
      retentionDays: config.METRICS_RETENTION_DAYS,
      usageRetentionDays: config.METRICS_USAGE_RETENTION_DAYS,
      bufferMaxRows: config.METRICS_BUFFER_MAX_ROWS,
      concurrency: config.METRICS_CONCURRENCY,
    },
    logger: ctx.logger,
  });
  try {
    await system.start();
  } catch (error) {
    await system.close();
    await separate?.close();
    throw error;
  }
  return {
    system,
    async close() {
      await system.close();
      await separate?.close();
    },
  };
}

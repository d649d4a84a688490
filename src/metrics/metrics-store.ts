/**
 * The metrics database: writes of bucket rows with their hourly rollups, reads of a
 * deployment's history, and upkeep (partitions ahead, retention). Works on both store drivers
 * (postgres.js and PGlite) and in the three storage modes the migration may have made:
 * native daily partitions, TimescaleDB hypertables, or (a database where neither applies, never
 * made by the migration but tolerated) plain tables.
 *
 * A write is one transaction: every row in one INSERT per table (the rows travel as one JSONB
 * parameter, an array of arrays, so the statement is the same whatever the row count), and the
 * hourly usage of the deployments it touches changed by what it changed (see `usageDelta`): the
 * upsert returns the rows it replaced, so the hourly rows get the rollup of the new rows minus
 * that of the old ones, added atomically (row by row), whichever node writes. A node's writes
 * never overlap (see Aggregator) and nodes write different containers, so no two writes replace
 * the same row at once. Rows are upserted by their
 * key: writing a batch again (a retry after a lost acknowledgement) changes nothing.
 */
import { type SQL, sql } from "drizzle-orm";
import { failedPrecondition } from "../domain/index.js";
import { type Database, type Db, executeRows, type Tx } from "../store/index.js";
import {
  dayOf,
  daysAhead,
  isExpired,
  MINUTE_TABLES,
  type MinuteTable,
  partitionBounds,
  partitionDay,
  partitionName,
  retentionCutoff,
} from "./partitions.js";
import { HOUR_MS, usageDelta } from "./rollup.js";
import {
  type ContainerMinuteRow,
  type MinuteRow,
  type MinuteUsage,
  minuteUsage,
  type NodeMinuteRow,
} from "./rows.js";
import { type DeploymentSample, floorTo, type UsageHour } from "./samples.js";

export type StorageMode = "partitioned" | "timescaledb" | "plain";

export interface MetricsStoreOptions {
  bucketMs: number;
  retentionDays: number;
  usageRetentionDays: number;
  partitionsAheadDays: number;
  now?: () => number;
}

export interface WriteResult {
  written: number;
  /** Rows older than the retention, left out. */
  expired: number;
  /** (deployment, hour) pairs whose usage changed. */
  hours: number;
}

export interface Maintenance {
  mode: StorageMode;
  created: string[];
  dropped: string[];
}

/** Advisory-lock key of partition upkeep (two int4 keys: "obiente metrics", then what is locked). */
const LOCK_CLASS = 0x6f626d65;
const PARTITION_LOCK = 2;

/** SQLSTATE 23514 on a partitioned table: no partition for the row. */
const NO_PARTITION = "23514";

export class MetricsStore {
  private readonly db: Db;
  private readonly now: () => number;
  private modeOf: Promise<StorageMode> | undefined;
  /** Days known to have their partitions (partitioned mode). */
  private readonly partitionedDays = new Set<number>();

  constructor(
    readonly database: Database,
    private readonly options: MetricsStoreOptions,
  ) {
    this.db = database.db;
    this.now = options.now ?? Date.now;
  }

  /** How the per-minute tables are stored; fails when the metrics migration was not applied. */
  mode(): Promise<StorageMode> {
    this.modeOf ??= this.detectMode().catch((error: unknown) => {
      this.modeOf = undefined;
      throw error;
    });
    return this.modeOf;
  }

  /** Creates the partitions ahead, drops what is past the retention. Safe to run anywhere, any time. */
  async maintain(): Promise<Maintenance> {
    const mode = await this.mode();
    const now = this.now();
    const cutoff = retentionCutoff(now, this.options.retentionDays);
    let created: string[] = [];
    const dropped: string[] = [];
    if (mode === "partitioned") {
      created = await this.ensurePartitions(daysAhead(now, this.options.partitionsAheadDays));
      await this.db.transaction(async (tx) => {
        await tx.execute(sql`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${PARTITION_LOCK})`);
        for (const table of MINUTE_TABLES) {
          for (const { name, day } of await listPartitions(tx, table)) {
            if (!isExpired(day, cutoff)) continue;
            await tx.execute(sql.raw(`DROP TABLE IF EXISTS ${name}`));
            this.partitionedDays.delete(day);
            dropped.push(name);
          }
        }
      });
    } else if (mode === "timescaledb") {
      for (const table of MINUTE_TABLES) {
        await this.db.execute(
          sql`SELECT drop_chunks(${table}::regclass, older_than => ${iso(cutoff)}::timestamptz)`,
        );
      }
    } else {
      for (const table of MINUTE_TABLES) {
        await this.db.execute(
          sql`DELETE FROM ${sql.identifier(table)} WHERE minute < ${iso(cutoff)}::timestamptz`,
        );
      }
    }
    const usageCutoff = retentionCutoff(now, this.options.usageRetentionDays);
    await this.db.execute(
      sql`DELETE FROM deployment_usage_hourly WHERE hour < ${iso(usageCutoff)}::timestamptz`,
    );
    return { mode, created, dropped };
  }

  /** Stores rows (container and node buckets) and the hourly usage they change, in one transaction. */
  async write(rows: readonly MinuteRow[]): Promise<WriteResult> {
    const cutoff = retentionCutoff(this.now(), this.options.retentionDays);
    // One row per key, the latest: one INSERT … ON CONFLICT cannot touch a row twice.
    const byContainer = new Map<string, ContainerMinuteRow>();
    const byNode = new Map<string, NodeMinuteRow>();
    let expired = 0;
    for (const row of rows) {
      if (row.minute < cutoff) expired++;
      else if (row.kind === "container")
        byContainer.set(`${row.containerId}\u0000${row.minute}`, row);
      else byNode.set(`${row.nodeId}\u0000${row.minute}`, row);
    }
    const containers = [...byContainer.values()];
    const nodes = [...byNode.values()];
    const written = containers.length + nodes.length;
    if (written === 0) return { written, expired, hours: 0 };

    if ((await this.mode()) === "partitioned") {
      const days = new Set([...containers, ...nodes].map((row) => dayOf(row.minute)));
      await this.ensurePartitions([...days].filter((day) => !this.partitionedDays.has(day)));
    }
    try {
      const hours = await this.db.transaction(async (tx) => {
        const replaced = containers.length > 0 ? await upsertContainerRows(tx, containers) : [];
        if (nodes.length > 0) await tx.execute(insertNodeRows(nodes));
        const delta = usageDelta(containers.map(minuteUsage), replaced);
        if (delta.length > 0) await tx.execute(addUsage(delta));
        return delta.length;
      });
      return { written, expired, hours };
    } catch (error) {
      // A partition dropped behind our back: look again next time.
      if (sqlStateOf(error) === NO_PARTITION) this.partitionedDays.clear();
      throw error;
    }
  }

  /** A deployment's buckets within [since, until): its containers' rows added up. */
  async minutes(deploymentId: string, since: Date, until: Date): Promise<DeploymentSample[]> {
    const rows = await executeRows<Record<string, unknown>>(
      this.db,
      sql`SELECT (extract(epoch FROM minute) * 1000)::float8 AS at,
                 sum(cpu_seconds)::float8 AS cpu_seconds,
                 sum(memory_byte_seconds)::float8 AS memory_byte_seconds,
                 sum(memory_limit_bytes)::float8 AS memory_limit_bytes,
                 sum(network_rx_bytes)::float8 AS network_rx_bytes,
                 sum(network_tx_bytes)::float8 AS network_tx_bytes,
                 sum(block_read_bytes)::float8 AS block_read_bytes,
                 sum(block_write_bytes)::float8 AS block_write_bytes,
                 sum(pids_max)::float8 AS pids
          FROM container_metrics_minute
          WHERE deployment_id = ${deploymentId}
            AND minute >= ${since.toISOString()}::timestamptz
            AND minute < ${until.toISOString()}::timestamptz
          GROUP BY minute
          ORDER BY minute`,
    );
    const bucketSeconds = this.options.bucketMs / 1000;
    return rows.map((row) => ({
      at: new Date(Number(row.at)),
      // Averages over the whole bucket: a container that ran half of it counts for half.
      cpuPercent: (Number(row.cpu_seconds) / bucketSeconds) * 100,
      memoryBytes: Math.round(Number(row.memory_byte_seconds) / bucketSeconds),
      memoryLimitBytes: Number(row.memory_limit_bytes),
      networkRxBytes: Number(row.network_rx_bytes),
      networkTxBytes: Number(row.network_tx_bytes),
      blockReadBytes: Number(row.block_read_bytes),
      blockWriteBytes: Number(row.block_write_bytes),
      pids: Number(row.pids),
    }));
  }

  /** A deployment's hourly usage for the hours that overlap [since, until). */
  async usage(deploymentId: string, since: Date, until: Date): Promise<UsageHour[]> {
    const rows = await executeRows<Record<string, unknown>>(
      this.db,
      sql`SELECT (extract(epoch FROM hour) * 1000)::float8 AS hour, cpu_seconds,
                 memory_byte_seconds, network_bytes, disk_io_bytes
          FROM deployment_usage_hourly
          WHERE deployment_id = ${deploymentId}
            AND hour >= ${iso(floorTo(since.getTime(), HOUR_MS))}::timestamptz
            AND hour < ${until.toISOString()}::timestamptz
          ORDER BY hour`,
    );
    return rows.map((row) => ({
      deploymentId,
      hour: new Date(Number(row.hour)),
      cpuSeconds: Number(row.cpu_seconds),
      memoryByteSeconds: Number(row.memory_byte_seconds),
      networkBytes: Number(row.network_bytes),
      diskIoBytes: Number(row.disk_io_bytes),
    }));
  }

  /** A node's buckets within [since, until). */
  async nodeMinutes(nodeId: string, since: Date, until: Date): Promise<NodeMinuteRow[]> {
    const rows = await executeRows<Record<string, unknown>>(
      this.db,
      sql`SELECT (extract(epoch FROM minute) * 1000)::float8 AS minute, samples, cpu_percent_avg,
                 cpu_percent_max, memory_used_bytes_avg, memory_used_bytes_max,
                 memory_total_bytes, disk_percent_max, deployment_count_max
          FROM node_metrics_minute
          WHERE node_id = ${nodeId}
            AND minute >= ${since.toISOString()}::timestamptz
            AND minute < ${until.toISOString()}::timestamptz
          ORDER BY minute`,
    );
    return rows.map((row) => ({
      kind: "node",
      minute: Number(row.minute),
      nodeId,
      samples: Number(row.samples),
      cpuPercentAvg: Number(row.cpu_percent_avg),
      cpuPercentMax: Number(row.cpu_percent_max),
      memoryUsedBytesAvg: Number(row.memory_used_bytes_avg),
      memoryUsedBytesMax: Number(row.memory_used_bytes_max),
      memoryTotalBytes: Number(row.memory_total_bytes),
      diskPercentMax: Number(row.disk_percent_max),
      deploymentCountMax: Number(row.deployment_count_max),
    }));
  }

  /** Creates the partitions of `days` that are missing, for both per-minute tables. */
  private async ensurePartitions(days: readonly number[]): Promise<string[]> {
    if (days.length === 0) return [];
    const cutoff = retentionCutoff(this.now(), this.options.retentionDays);
    const created: string[] = [];
    await this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${PARTITION_LOCK})`);
      for (const table of MINUTE_TABLES) {
        const existing = new Set((await listPartitions(tx, table)).map((p) => p.day));
        for (const day of days) {
          if (existing.has(day) || isExpired(day, cutoff)) continue;
          const name = partitionName(table, day);
          const { from, to } = partitionBounds(day);
          // Names and bounds come from dates this code formats, never from input.
          await tx.execute(
            sql.raw(
              `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${table} FOR VALUES FROM ('${from}') TO ('${to}')`,
            ),
          );
          created.push(name);
        }
      }
    });
    for (const day of days) this.partitionedDays.add(day);
    return created;
  }

  private async detectMode(): Promise<StorageMode> {
    const [row] = await executeRows<{ kind: string; timescale: boolean }>(
      this.db,
      sql`SELECT c.relkind::text AS kind,
                 EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS timescale
          FROM pg_class c WHERE c.oid = to_regclass('container_metrics_minute')`,
    );
    if (!row) {
      throw failedPrecondition(
        "the metrics tables are missing: apply the migrations to the metrics database",
      );
    }
    if (row.kind === "p") return "partitioned";
    return row.timescale ? "timescaledb" : "plain";
  }
}

async function listPartitions(
  tx: Db | Tx,
  table: MinuteTable,
): Promise<Array<{ name: string; day: number }>> {
  const rows = await executeRows<{ name: string }>(
    tx,
    sql`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = ${table}::regclass`,
  );
  const partitions: Array<{ name: string; day: number }> = [];
  for (const { name } of rows) {
    const day = partitionDay(table, name);
    if (day !== undefined) partitions.push({ name, day });
  }
  return partitions;
}

/**
 * Upserts container rows in one statement, and returns the stored rows they replaced (as they
 * were: every part of a statement sees the data as it was when the statement began). Usually
 * none: a row is written once, unless a write is retried. The rows travel as JSON arrays: one
 * parameter whatever their number, parsed once, with no key repeated per row.
 */
async function upsertContainerRows(
  tx: Tx,
  rows: readonly ContainerMinuteRow[],
): Promise<MinuteUsage[]> {
  let from = Infinity;
  let to = -Infinity;
  for (const row of rows) {
    from = Math.min(from, row.minute);
    to = Math.max(to, row.minute);
  }
  const json = JSON.stringify(
    rows.map((r) => [
      r.minute,
      r.containerId,
      r.deploymentId,
      r.projectId,
      r.nodeId,
      int(r.samples),
      n(r.seconds),
      n(r.cpuSeconds),
      n(r.cpuPercentMax),
      n(r.memoryByteSeconds),
      int(r.memoryBytesMax),
      int(r.memoryLimitBytes),
      int(r.networkRxBytes),
      int(r.networkTxBytes),
      int(r.blockReadBytes),
      int(r.blockWriteBytes),
      int(r.pidsMax),
    ]),
  );
  const replaced = await executeRows<Record<string, unknown>>(
    tx,
    sql`WITH input AS (
      SELECT to_timestamp((r->>0)::float8 / 1000) AS minute, r->>1 AS container_id,
        r->>2 AS deployment_id, r->>3 AS project_id, r->>4 AS node_id, (r->>5)::int AS samples,
        (r->>6)::float8 AS seconds, (r->>7)::float8 AS cpu_seconds,
        (r->>8)::float8 AS cpu_percent_max, (r->>9)::float8 AS memory_byte_seconds,
        (r->>10)::bigint AS memory_bytes_max, (r->>11)::bigint AS memory_limit_bytes,
        (r->>12)::bigint AS network_rx_bytes, (r->>13)::bigint AS network_tx_bytes,
        (r->>14)::bigint AS block_read_bytes, (r->>15)::bigint AS block_write_bytes,
        (r->>16)::int AS pids_max
      FROM jsonb_array_elements(${json}::jsonb) AS r
    ), replaced AS (
      SELECT t.deployment_id, t.minute, t.cpu_seconds, t.memory_byte_seconds,
        t.network_rx_bytes + t.network_tx_bytes AS network_bytes,
        t.block_read_bytes + t.block_write_bytes AS disk_io_bytes
      FROM container_metrics_minute t
      JOIN input i ON i.container_id = t.container_id AND i.minute = t.minute
      WHERE t.minute >= ${iso(from)}::timestamptz AND t.minute <= ${iso(to)}::timestamptz
    ), written AS (
      INSERT INTO container_metrics_minute (minute, container_id, deployment_id, project_id,
        node_id, samples, seconds, cpu_seconds, cpu_percent_max, memory_byte_seconds,
        memory_bytes_max, memory_limit_bytes, network_rx_bytes, network_tx_bytes,
        block_read_bytes, block_write_bytes, pids_max)
      SELECT * FROM input
      ON CONFLICT (container_id, minute) DO UPDATE SET
        deployment_id = excluded.deployment_id, project_id = excluded.project_id,
        node_id = excluded.node_id, samples = excluded.samples, seconds = excluded.seconds,
        cpu_seconds = excluded.cpu_seconds, cpu_percent_max = excluded.cpu_percent_max,
        memory_byte_seconds = excluded.memory_byte_seconds,
        memory_bytes_max = excluded.memory_bytes_max,
        memory_limit_bytes = excluded.memory_limit_bytes,
        network_rx_bytes = excluded.network_rx_bytes, network_tx_bytes = excluded.network_tx_bytes,
        block_read_bytes = excluded.block_read_bytes,
        block_write_bytes = excluded.block_write_bytes, pids_max = excluded.pids_max
    )
    SELECT deployment_id, (extract(epoch FROM minute) * 1000)::float8 AS minute, cpu_seconds,
      memory_byte_seconds, network_bytes::float8 AS network_bytes,
      disk_io_bytes::float8 AS disk_io_bytes
    FROM replaced`,
  );
  return replaced.map((row) => ({
    deploymentId: String(row.deployment_id),
    minute: Number(row.minute),
    cpuSeconds: Number(row.cpu_seconds),
    memoryByteSeconds: Number(row.memory_byte_seconds),
    networkBytes: Number(row.network_bytes),
    diskIoBytes: Number(row.disk_io_bytes),
  }));
}

function insertNodeRows(rows: readonly NodeMinuteRow[]): SQL {
  const json = JSON.stringify(
    rows.map((r) => [
      r.minute,
      r.nodeId,
      int(r.samples),
      n(r.cpuPercentAvg),
      n(r.cpuPercentMax),
      int(r.memoryUsedBytesAvg),
      int(r.memoryUsedBytesMax),
      int(r.memoryTotalBytes),
      n(r.diskPercentMax),
      int(r.deploymentCountMax),
    ]),
  );
  return sql`INSERT INTO node_metrics_minute (minute, node_id, samples, cpu_percent_avg,
      cpu_percent_max, memory_used_bytes_avg, memory_used_bytes_max, memory_total_bytes,
      disk_percent_max, deployment_count_max)
    SELECT to_timestamp((r->>0)::float8 / 1000), r->>1, (r->>2)::int, (r->>3)::float8,
      (r->>4)::float8, (r->>5)::bigint, (r->>6)::bigint, (r->>7)::bigint, (r->>8)::float8,
      (r->>9)::int
    FROM jsonb_array_elements(${json}::jsonb) AS r
    ON CONFLICT (node_id, minute) DO UPDATE SET
      samples = excluded.samples, cpu_percent_avg = excluded.cpu_percent_avg,
      cpu_percent_max = excluded.cpu_percent_max,
      memory_used_bytes_avg = excluded.memory_used_bytes_avg,
      memory_used_bytes_max = excluded.memory_used_bytes_max,
      memory_total_bytes = excluded.memory_total_bytes,
      disk_percent_max = excluded.disk_percent_max,
      deployment_count_max = excluded.deployment_count_max`;
}

/** Adds each hour's change to its row (made when missing). */
function addUsage(hours: readonly UsageHour[]): SQL {
  const json = JSON.stringify(
    hours.map((h) => [
      h.hour.getTime(),
      h.deploymentId,
      n(h.cpuSeconds),
      n(h.memoryByteSeconds),
      int(h.networkBytes),
      int(h.diskIoBytes),
    ]),
  );
  return sql`INSERT INTO deployment_usage_hourly (hour, deployment_id, cpu_seconds,
      memory_byte_seconds, network_bytes, disk_io_bytes, updated_at)
    SELECT to_timestamp((r->>0)::float8 / 1000), r->>1, (r->>2)::float8, (r->>3)::float8,
      (r->>4)::bigint, (r->>5)::bigint, now()
    FROM jsonb_array_elements(${json}::jsonb) AS r
    ON CONFLICT (deployment_id, hour) DO UPDATE SET
      cpu_seconds = deployment_usage_hourly.cpu_seconds + excluded.cpu_seconds,
      memory_byte_seconds = deployment_usage_hourly.memory_byte_seconds + excluded.memory_byte_seconds,
      network_bytes = deployment_usage_hourly.network_bytes + excluded.network_bytes,
      disk_io_bytes = deployment_usage_hourly.disk_io_bytes + excluded.disk_io_bytes,
      updated_at = excluded.updated_at`;
}

/** A finite number for the database: NaN or ±Infinity (never expected) must not poison a batch. */
function n(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

/** A whole number for a bigint or integer column. */
function int(value: number): number {
  return Math.round(n(value));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function sqlStateOf(error: unknown): string | undefined {
  for (let e = error; e !== null && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

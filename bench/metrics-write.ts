/**
 * Write path: rows per second into PostgreSQL through the batch writer (MetricsStore.write: one
 * transaction per batch, rows as one JSON parameter, upsert, hourly rollups recomputed), against
 * a raw COPY of the same rows into the same table in the same run, and the ratio (goal ≥ 0.5).
 *
 *   node --import tsx bench/metrics-write.ts [rows] [rowsPerBatch]   (default 200000 20000)
 *
 * Runs in a database of its own on TEST_DATABASE_URL (dropped at the end).
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { MetricsStore } from "../src/metrics/metrics-store.js";
import type { ContainerMinuteRow } from "../src/metrics/rows.js";
import { migrate, openDatabase } from "../src/store/index.js";

const adminUrl =
  process.env.TEST_DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
const totalRows = Number(process.argv[2] ?? 200_000);
const perBatch = Number(process.argv[3] ?? 20_000);
const ROUNDS = 3;

const COLUMNS = [
  "minute",
  "container_id",
  "deployment_id",
  "project_id",
  "node_id",
  "samples",
  "seconds",
  "cpu_seconds",
  "cpu_percent_max",
  "memory_byte_seconds",
  "memory_bytes_max",
  "memory_limit_bytes",
  "network_rx_bytes",
  "network_tx_bytes",
  "block_read_bytes",
  "block_write_bytes",
  "pids_max",
];

/** 2,000 containers × as many minutes as needed, ending now. */
function makeRows(count: number): ContainerMinuteRow[] {
  const containers = 2_000;
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const start = end - Math.ceil(count / containers) * 60_000;
  const rows: ContainerMinuteRow[] = [];
  for (let m = 0; rows.length < count; m++) {
    for (let c = 0; c < containers && rows.length < count; c++) {
      rows.push({
        kind: "container",
        minute: start + m * 60_000,
        containerId: `container-${c}`,
        deploymentId: `deployment-${c % 400}`,
        projectId: `project-${c % 40}`,
        nodeId: `node-${c % 10}`,
        samples: 12,
        seconds: 60,
        cpuSeconds: Math.random() * 60,
        cpuPercentMax: Math.random() * 100,
        memoryByteSeconds: Math.random() * 60 * 2 ** 28,
        memoryBytesMax: Math.floor(Math.random() * 2 ** 28),
        memoryLimitBytes: 2 ** 28,
        networkRxBytes: Math.floor(Math.random() * 1e6),
        networkTxBytes: Math.floor(Math.random() * 1e6),
        blockReadBytes: Math.floor(Math.random() * 1e5),
        blockWriteBytes: Math.floor(Math.random() * 1e5),
        pidsMax: 4,
      });
    }
  }
  return rows;
}

function copyLine(r: ContainerMinuteRow): string {
  return `${[
    new Date(r.minute).toISOString(),
    r.containerId,
    r.deploymentId,
    r.projectId,
    r.nodeId,
    r.samples,
    r.seconds,
    r.cpuSeconds,
    r.cpuPercentMax,
    r.memoryByteSeconds,
    r.memoryBytesMax,
    r.memoryLimitBytes,
    r.networkRxBytes,
    r.networkTxBytes,
    r.blockReadBytes,
    r.blockWriteBytes,
    r.pidsMax,
  ].join("\t")}\n`;
}

async function main() {
  const name = `obiente_bench_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), maxConnections: 2 });
  const raw = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await migrate(database);
    const store = new MetricsStore(database, {
      bucketMs: 60_000,
      retentionDays: 14,
      usageRetentionDays: 400,
      partitionsAheadDays: 1,
    });
    await store.maintain();
    const rows = makeRows(totalRows);
    console.log(`# ${rows.length} rows, batches of ${perBatch}, ${ROUNDS} rounds each, best kept`);

    const writer: number[] = [];
    const copy: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await raw`TRUNCATE container_metrics_minute, deployment_usage_hourly`;
      let t0 = performance.now();
      for (let i = 0; i < rows.length; i += perBatch)
        await store.write(rows.slice(i, i + perBatch));
      writer.push(rows.length / ((performance.now() - t0) / 1000));

      await raw`TRUNCATE container_metrics_minute, deployment_usage_hourly`;
      t0 = performance.now();
      for (let i = 0; i < rows.length; i += perBatch) {
        const stream = await raw
          .unsafe(`COPY container_metrics_minute (${COLUMNS.join(", ")}) FROM STDIN`)
          .writable();
        const text = rows
          .slice(i, i + perBatch)
          .map(copyLine)
          .join("");
        await new Promise<void>((resolve, reject) => {
          stream.on("error", reject);
          stream.on("finish", resolve);
          stream.end(text);
        });
      }
      copy.push(rows.length / ((performance.now() - t0) / 1000));
    }
    const [count] = await raw`SELECT count(*)::int AS n FROM container_metrics_minute`;
    if (count?.n !== rows.length) throw new Error(`COPY stored ${count?.n} rows`);
    const bestWriter = Math.max(...writer);
    const bestCopy = Math.max(...copy);
    console.log(
      `batch writer (incl. hourly rollups): ${fmt(bestWriter)} rows/s   [${writer.map(fmt).join(", ")}]`,
    );
    console.log(
      `raw COPY:                            ${fmt(bestCopy)} rows/s   [${copy.map(fmt).join(", ")}]`,
    );
    console.log(`ratio: ${(bestWriter / bestCopy).toFixed(2)} (goal ≥ 0.5)`);
  } finally {
    await raw.end();
    await database.close();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

await main();

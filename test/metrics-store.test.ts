/**
 * The metrics database on both drivers (PGlite and PostgreSQL): daily partitions, batched writes
 * with their hourly rollups, reads, retention. Each test has a database of its own.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "drizzle-orm";
import { type MetricsStore, migrateMetrics } from "../src/metrics/index.js";
import { MetricsStore as Store } from "../src/metrics/metrics-store.js";
import { DAY_MS, dayOf, partitionName } from "../src/metrics/partitions.js";
import { HOUR_MS } from "../src/metrics/rollup.js";
import type { ContainerMinuteRow, NodeMinuteRow } from "../src/metrics/rows.js";
import { executeRows } from "../src/store/index.js";
import { type TestDatabase, testDrivers } from "./helpers/databases.js";

const BUCKET = 60_000;

function containerRow(
  containerId: string,
  deploymentId: string,
  minute: number,
  i: number,
  nodeId = "node-1",
): ContainerMinuteRow {
  return {
    kind: "container",
    minute,
    containerId,
    deploymentId,
    projectId: "proj",
    nodeId,
    samples: 12,
    seconds: 60,
    cpuSeconds: 1.5 + i / 7,
    cpuPercentMax: 80,
    memoryByteSeconds: 60 * (1_000_000 + i),
    memoryBytesMax: 1_200_000,
    memoryLimitBytes: 268_435_456,
    networkRxBytes: 1_000 + i,
    networkTxBytes: 2_000 + i,
    blockReadBytes: 10 * i,
    blockWriteBytes: 20 * i,
    pidsMax: 3,
  };
}

function nodeRow(minute: number): NodeMinuteRow {
  return {
    kind: "node",
    minute,
    nodeId: "node-1",
    samples: 12,
    cpuPercentAvg: 12.5,
    cpuPercentMax: 40,
    memoryUsedBytesAvg: 2e9,
    memoryUsedBytesMax: 2.5e9,
    memoryTotalBytes: 8e9,
    diskPercentMax: 55,
    deploymentCountMax: 2,
  };
}

/** The hourly rollups as SQL computes them straight from the bucket rows. */
async function sqlRollup(database: TestDatabase) {
  return executeRows<Record<string, unknown>>(
    database.db,
    sql`SELECT m.deployment_id, (extract(epoch FROM h.hour) * 1000)::float8 AS hour,
               sum(m.cpu_seconds)::float8 AS cpu, sum(m.memory_byte_seconds)::float8 AS mem,
               sum(m.network_rx_bytes + m.network_tx_bytes)::float8 AS net,
               sum(m.block_read_bytes + m.block_write_bytes)::float8 AS disk,
               (SELECT row_to_json(u) FROM deployment_usage_hourly u
                 WHERE u.deployment_id = m.deployment_id AND u.hour = h.hour) AS usage
        FROM container_metrics_minute m
        CROSS JOIN LATERAL (SELECT to_timestamp(floor(extract(epoch FROM m.minute) / 3600) * 3600) AS hour) h
        GROUP BY m.deployment_id, h.hour`,
  );
}

for (const driver of testDrivers) {
  describe(`metrics store (${driver.name})`, () => {
    let database: TestDatabase;
    let store: MetricsStore;
    const now = Date.now();
    before(async () => {
      database = await driver.open();
      store = new Store(database, {
        bucketMs: BUCKET,
        retentionDays: 7,
        usageRetentionDays: 30,
        partitionsAheadDays: 2,
      });
    });
    after(() => database?.close());

    test("keeps the per-minute tables in daily partitions, created ahead", async () => {
      assert.equal(await store.mode(), "partitioned");
      const { created } = await store.maintain();
      const today = dayOf(now);
      for (const day of [today, today + DAY_MS, today + 2 * DAY_MS]) {
        assert.ok(created.includes(partitionName("container_metrics_minute", day)));
        assert.ok(created.includes(partitionName("node_metrics_minute", day)));
      }
      assert.deepEqual((await store.maintain()).created, [], "a second run has nothing to do");
    });

    test("hourly usage equals the sum of the minute rows it covers, across writes and nodes", async () => {
      const hour = Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS;
      const rows: ContainerMinuteRow[] = [];
      for (let m = 0; m < 90; m++) {
        const minute = hour + 30 * BUCKET + m * BUCKET; // two hours touched
        rows.push(containerRow("c-a1", "dep-a", minute, m));
        if (m % 2 === 0) rows.push(containerRow("c-b1", "dep-b", minute, m));
      }
      const nodes = [nodeRow(hour + 30 * BUCKET)];
      const first = await store.write([...rows.slice(0, 60), ...nodes]);
      assert.equal(first.written, 61);
      // Another node's rows for the same deployment and hours, in a write of their own.
      const second = await store.write([
        ...rows.slice(60),
        containerRow("c-a2", "dep-a", hour + 45 * BUCKET, 3, "node-2"),
      ]);
      assert.ok(second.hours >= 1);
      // Writing a batch again changes nothing.
      await store.write(rows.slice(0, 60));

      const sums = await sqlRollup(database);
      assert.equal(sums.length, 4, "two deployments × two hours");
      for (const row of sums) {
        const usage = row.usage as Record<string, number> | null;
        assert.ok(
          usage,
          `usage for ${String(row.deployment_id)} at ${new Date(Number(row.hour)).toISOString()}`,
        );
        assert.ok(Math.abs(Number(usage.cpu_seconds) - Number(row.cpu)) < 1e-6);
        assert.ok(Math.abs(Number(usage.memory_byte_seconds) - Number(row.mem)) < 1e-3);
        assert.equal(Number(usage.network_bytes), Number(row.net));
        assert.equal(Number(usage.disk_io_bytes), Number(row.disk));
      }

      const since = new Date(hour);
      const until = new Date(hour + 3 * HOUR_MS);
      const minutes = await store.minutes("dep-a", since, until);
      assert.equal(minutes.length, 90);
      const withSecondNode = minutes.find((m) => m.at.getTime() === hour + 45 * BUCKET);
      const expectedCpu = ((1.5 + 15 / 7 + 1.5 + 3 / 7) / 60) * 100;
      assert.ok(withSecondNode && Math.abs(withSecondNode.cpuPercent - expectedCpu) < 1e-9);
      assert.equal(withSecondNode?.networkRxBytes, 1_015 + 1_003);
      const usage = await store.usage("dep-a", new Date(hour + 10 * BUCKET), until);
      assert.equal(usage.length, 2, "hours overlapping the range");
      const nodeMinutes = await store.nodeMinutes("node-1", since, until);
      assert.equal(nodeMinutes.length, 1);
      assert.equal(nodeMinutes[0]?.memoryTotalBytes, 8e9);
    });

    test("creates a missing day's partition on write, leaves out rows past the retention", async () => {
      const threeDaysAgo = dayOf(now) - 3 * DAY_MS + 5 * BUCKET;
      const result = await store.write([
        containerRow("c-old", "dep-old", threeDaysAgo, 1),
        containerRow("c-older", "dep-old", now - 8 * DAY_MS, 1),
      ]);
      assert.deepEqual([result.written, result.expired], [1, 1]);
      const minutes = await store.minutes(
        "dep-old",
        new Date(threeDaysAgo),
        new Date(threeDaysAgo + BUCKET),
      );
      assert.equal(minutes.length, 1);
    });

    test("drops whole partitions past the retention", async () => {
      const old = dayOf(now) - 10 * DAY_MS;
      const name = partitionName("container_metrics_minute", old);
      await database.exec(
        `CREATE TABLE ${name} PARTITION OF container_metrics_minute FOR VALUES FROM ('${new Date(old).toISOString()}') TO ('${new Date(old + DAY_MS).toISOString()}')`,
      );
      const { dropped } = await store.maintain();
      assert.deepEqual(dropped, [name]);
    });
  });
}

describe("migrateMetrics", () => {
  test("gives a separate metrics database only the metrics tables, once", async () => {
    const driver = testDrivers.find((d) => d.name === "postgres");
    assert.ok(driver);
    const database = await driver.open({ migrate: false });
    try {
      assert.equal(await migrateMetrics(database), true);
      assert.equal(await migrateMetrics(database), false);
      const tables = await executeRows<{ name: string }>(
        database.db,
        sql`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
      );
      assert.deepEqual(
        tables.map((t) => t.name).filter((t) => !t.includes("_p2")),
        [
          "container_metrics_minute",
          "deployment_usage_hourly",
          "node_metrics_minute",
          "schema_migrations",
        ],
      );
    } finally {
      await database.close();
    }
  });
});

/**
 * The metrics database goes away for several aggregation cycles, then comes back. The database
 * is a real PostgreSQL reached through a TCP relay that this test cuts (every connection reset,
 * new ones refused) and restores. The engine side is a quick stand-in, so that cycles are short:
 * what is under test is the write path. While the database is down, the write buffer never
 * holds more than its bound and health says degraded; when it returns, every row still inside
 * the bound reaches the database.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { sql } from "drizzle-orm";
import pino from "pino";
import { LABELS } from "../src/domain/labels.js";
import type { CollectableContainer, MinuteRow, StatsSource } from "../src/metrics/index.js";
import { MetricsSystem } from "../src/metrics/index.js";
import { MemoryBus } from "../src/platform/memory/bus.js";
import type { ContainerStats } from "../src/runtime/stats.js";
import { type Database, executeRows, migrate, openDatabase } from "../src/store/index.js";
import { freshPostgresUrl, testDatabaseUrl } from "./helpers/databases.js";

const BUFFER_MAX_ROWS = 30;

/** A TCP relay to PostgreSQL that can be cut. */
class DatabaseRelay {
  up = true;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => {
      this.track(client);
      if (!this.up) {
        client.destroy();
        return;
      }
      const upstream = connect(this.target.port, this.target.host);
      this.track(upstream);
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as { port: number }).port;
  }

  cut(): void {
    this.up = false;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.sockets.delete(socket));
  }
}

/** Three containers that answer at once, with growing counters. */
class QuickEngine implements StatsSource {
  private reads = 0;

  async list(): Promise<CollectableContainer[]> {
    return ["c1", "c2", "c3"].map((id) => ({
      id,
      state: "running",
      labels: { [LABELS.deployment]: "true", [LABELS.deploymentId]: `dep-${id}` },
      createdAt: new Date(0),
    }));
  }

  async stats(): Promise<ContainerStats> {
    const n = ++this.reads;
    return {
      at: new Date(),
      cpuPercent: 25,
      onlineCpus: 2,
      memoryUsedBytes: 1_000_000,
      memoryLimitBytes: 2_000_000,
      memoryPercent: 50,
      networkRxBytes: n * 100,
      networkTxBytes: n * 10,
      blockReadBytes: 0,
      blockWriteBytes: n,
      pids: 1,
    };
  }
}

const keyOf = (row: MinuteRow) =>
  `${row.kind === "container" ? row.containerId : row.nodeId}@${row.minute}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("metrics when the metrics database is down", () => {
  let fresh: Awaited<ReturnType<typeof freshPostgresUrl>>;
  let relay: DatabaseRelay;
  let direct: Database;
  let viaRelay: Database;
  let system: MetricsSystem;

  before(async () => {
    fresh = await freshPostgresUrl();
    direct = await openDatabase({ url: fresh.url, maxConnections: 2 });
    await migrate(direct);
    const server = new URL(testDatabaseUrl);
    relay = new DatabaseRelay({ host: server.hostname, port: Number(server.port || 5432) });
    const relayed = new URL(fresh.url);
    relayed.hostname = "127.0.0.1";
    relayed.port = String(await relay.listen());
    relayed.searchParams.set("connect_timeout", "2");
    viaRelay = await openDatabase({ url: relayed.toString(), maxConnections: 2 });
    system = new MetricsSystem({
      bus: new MemoryBus(),
      metricsDatabase: viaRelay,
      agent: {
        source: new QuickEngine(),
        nodeId: () => "node-outage",
        probe: {
          sample: async () => ({
            cpuPercent: 5,
            memoryUsedBytes: 1,
            memoryTotalBytes: 2,
            diskPercent: 3,
          }),
        },
      },
      options: {
        intervalMs: 200,
        bucketMs: 400,
        aggregateIntervalMs: 300,
        bufferMaxRows: BUFFER_MAX_ROWS,
        maxRowsPerWrite: 10,
        writeTimeoutMs: 1_000,
      },
      logger: pino({ level: "silent" }),
    });
    await system.start();
  });

  after(async () => {
    await system?.close();
    await viaRelay?.close();
    await relay?.close();
    await direct?.close();
    await fresh?.drop();
  });

  test("the buffer holds within its bound, and nothing inside it is lost when the database returns", async (t) => {
    const aggregator = system.aggregator;
    assert.ok(aggregator);
    const stats = () => aggregator.stats();

    // Up: rows flow.
    while (stats().writes.succeeded < 2) await sleep(50);
    assert.equal(system.health().status, "healthy");

    // Down for several cycles.
    relay.cut();
    const failedBefore = stats().writes.failed;
    let largest = 0;
    while (stats().writes.failed - failedBefore < 6 || stats().buffer.droppedRows === 0) {
      largest = Math.max(largest, stats().buffer.rows);
      assert.ok(stats().buffer.rows <= BUFFER_MAX_ROWS, `${stats().buffer.rows} rows buffered`);
      await sleep(20);
    }
    const health = system.health();
    assert.equal(health.status, "degraded");
    assert.ok(
      health.reasons.some((r) => r.startsWith("metrics database writes failing")),
      health.reasons.join("; "),
    );
    t.diagnostic(
      `down: ${stats().writes.failed - failedBefore} failed writes, at most ${largest} rows buffered, ${stats().buffer.droppedRows} dropped`,
    );

    // Back: what the buffer holds now must all arrive (minus what the bound pushes out later).
    const held = aggregator.pendingRows();
    const droppedAtRestore = stats().buffer.droppedRows;
    assert.equal(held.length, BUFFER_MAX_ROWS, "the buffer is full of the newest rows");
    relay.restore();
    while (stats().writes.consecutiveFailures > 0 || stats().buffer.rows > 0) await sleep(50);
    const pushedOut = stats().buffer.droppedRows - droppedAtRestore;
    const expected = held.slice(pushedOut);
    assert.ok(expected.length > 0);

    const stored = new Set(
      (
        await executeRows<{ key: string }>(
          direct.db,
          sql`SELECT container_id || '@' || (extract(epoch FROM minute) * 1000)::bigint AS key FROM container_metrics_minute
              UNION ALL
              SELECT node_id || '@' || (extract(epoch FROM minute) * 1000)::bigint FROM node_metrics_minute`,
        )
      ).map((row) => row.key),
    );
    const missing = expected.filter((row) => !stored.has(keyOf(row)));
    assert.deepEqual(missing, [], "every row inside the bound was written");
    assert.equal(system.health().status, "healthy");
  });
});

/**
 * The whole metrics path on the real Docker engine and a real PostgreSQL: a container that burns
 * CPU shows in the live stream within two collection intervals, and its per-minute rows, node
 * rows and hourly usage reach the database. Intervals are shortened through the options. The
 * test's containers carry a scope label, are the only ones collected, and are removed at the end.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import Dockerode from "dockerode";
import { sql } from "drizzle-orm";
import pino from "pino";
import { Registry } from "prom-client";
import { MetricsSystem } from "../src/metrics/index.js";
import { MemoryBus } from "../src/platform/memory/bus.js";
import { DockerRuntime } from "../src/runtime/docker-runtime.js";
import { LABELS } from "../src/runtime/index.js";
import {
  type Database,
  executeRows,
  migrate,
  nodeMetadata,
  openDatabase,
} from "../src/store/index.js";
import { freshPostgresUrl } from "./helpers/databases.js";

const docker = new Dockerode({ socketPath: "/var/run/docker.sock" });
const BUSYBOX = "obiente-test/busybox:latest";
const SCOPE_LABEL = "cloud.obiente.test_scope";
const INTERVAL_MS = 4_000;

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("metrics on the real engine and database", () => {
  const scope = randomBytes(5).toString("hex");
  const deploymentId = `dep-${scope}`;
  const nodeId = `node-${scope}`;
  let fresh: Awaited<ReturnType<typeof freshPostgresUrl>>;
  let database: Database;
  let system: MetricsSystem;
  const registry = new Registry();

  before(async () => {
    fresh = await freshPostgresUrl();
    database = await openDatabase({ url: fresh.url, maxConnections: 4 });
    await migrate(database);
    // The heartbeat's row, which the collector keeps current.
    await database.db.insert(nodeMetadata).values({ id: nodeId, hostname: "test" });
    system = new MetricsSystem({
      bus: new MemoryBus(),
      metricsDatabase: database,
      db: database.db,
      registry,
      agent: {
        source: new DockerRuntime({
          portRange: { from: 42000, to: 42099 },
          hostAddress: "127.0.0.1",
        }),
        nodeId: () => nodeId,
        select: (c) => c.labels[SCOPE_LABEL] === scope,
      },
      options: {
        intervalMs: INTERVAL_MS,
        bucketMs: 2 * INTERVAL_MS,
        aggregateIntervalMs: INTERVAL_MS,
      },
      logger: pino({ level: "silent" }),
    });
    await system.start();
  });

  after(async () => {
    await system?.close();
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${SCOPE_LABEL}=${scope}`] },
    });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    await database?.close();
    await fresh?.drop();
  });

  test("a CPU-burning container shows live within two intervals, then in the database", async (t) => {
    const service = system.service;
    assert.ok(service);
    const abort = new AbortController();
    const stream = service.watch(deploymentId, abort.signal);

    const container = await docker.createContainer({
      Image: BUSYBOX,
      Cmd: ["sh", "-c", "while :; do :; done"],
      Labels: {
        [LABELS.deployment]: "true",
        [LABELS.deploymentId]: deploymentId,
        [LABELS.projectId]: `proj-${scope}`,
        [SCOPE_LABEL]: scope,
      },
      HostConfig: { NanoCpus: 500_000_000, Memory: 64 * 1024 * 1024 },
    });
    await container.start();
    const startedAt = Date.now();

    let burning: number | undefined;
    for await (const sample of stream) {
      if (sample.cpuPercent > 20) {
        burning = sample.cpuPercent;
        break;
      }
    }
    const elapsed = Date.now() - startedAt;
    assert.ok(burning !== undefined, "the stream ended without a busy sample");
    t.diagnostic(`first busy sample (${burning?.toFixed(1)}% CPU) ${elapsed} ms after the start`);
    assert.ok(elapsed <= 2 * INTERVAL_MS, `first busy sample after ${elapsed} ms`);
    assert.ok(burning < 80, `NanoCpus caps it at half a core, got ${burning}%`);
    abort.abort();

    const live = await service.get(deploymentId);
    assert.ok(live.live.length >= 1);
    assert.ok((live.live.at(-1)?.memoryLimitBytes ?? 0) === 64 * 1024 * 1024);

    // Bucket rows, then the hourly usage, once a bucket closes and an aggregation cycle runs.
    const minutes = await until("per-minute rows", 30_000, async () => {
      const rows = await service.get(deploymentId);
      return rows.minutes.length > 0 && rows.usage.length > 0 ? rows : undefined;
    });
    const minute = minutes.minutes[0];
    assert.ok(minute && minute.cpuPercent > 10, `bucket CPU ${minute?.cpuPercent}%`);

    // The hourly usage equals the sum of the stored rows it covers.
    const [check] = await executeRows<Record<string, unknown>>(
      database.db,
      sql`SELECT sum(cpu_seconds)::float8 AS cpu, sum(network_rx_bytes + network_tx_bytes)::float8 AS net,
                 (SELECT sum(cpu_seconds)::float8 FROM deployment_usage_hourly WHERE deployment_id = ${deploymentId}) AS usage_cpu,
                 (SELECT sum(network_bytes)::float8 FROM deployment_usage_hourly WHERE deployment_id = ${deploymentId}) AS usage_net
          FROM container_metrics_minute WHERE deployment_id = ${deploymentId}`,
    );
    assert.ok(check);
    assert.ok(Math.abs(Number(check.cpu) - Number(check.usage_cpu)) < 1e-6, JSON.stringify(check));
    assert.equal(Number(check.net), Number(check.usage_net));

    // The node: its history, and its current usage in node_metadata (its deployment_count is
    // the heartbeat's, from the recorded locations, which this test does not write).
    const [node] = await executeRows<Record<string, unknown>>(
      database.db,
      sql`SELECT count(*)::int AS n, max(deployment_count_max) AS deployments FROM node_metrics_minute WHERE node_id = ${nodeId}`,
    );
    assert.ok(Number(node?.n) >= 1);
    assert.equal(Number(node?.deployments), 1);
    const [current] = await database.db.select().from(nodeMetadata).where(sql`id = ${nodeId}`);
    assert.ok(
      current && current.memoryUsedBytes > 0 && current.cpuPercent >= 0,
      JSON.stringify(current),
    );

    // Observability and Prometheus.
    assert.deepEqual(system.health(), { status: "healthy", reasons: [] });
    const seen = system.observability();
    assert.equal(seen.collection?.engine.breaker, "closed");
    assert.ok((seen.database?.writes.succeeded ?? 0) >= 1);
    assert.equal(seen.database?.buffer.rows, 0);
    const text = await registry.metrics();
    assert.match(
      text,
      new RegExp(`obiente_deployment_cpu_percent\\{deployment_id="${deploymentId}"`),
    );
    assert.match(text, /obiente_metrics_engine_breaker_state\{state="closed"\} 1/);
    assert.match(text, new RegExp(`obiente_node_cpu_percent\\{node_id="${nodeId}"\\}`));
    assert.match(text, /obiente_metrics_db_writes_total\{result="success"\} [1-9]/);
  });
});

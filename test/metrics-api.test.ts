/**
 * Metrics through the platform as a user meets them: the whole platform in this process on a
 * real Docker engine and a real PostgreSQL, short intervals. A deployment that burns CPU shows
 * it in StreamDeploymentMetrics within two samples, its per-minute rows and hourly usage come
 * back from GetDeploymentMetrics, /health and /metrics/observability report the metrics
 * system, another organization sees nothing. Then a platform whose engine hangs: the breaker
 * opens, /health says degraded, and the API keeps answering.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  DeploymentService,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { addUserWithToken, startTestPlatform } from "./helpers/api.js";
import { eventually } from "./helpers/caddy.js";
import { freshPostgresUrl } from "./helpers/databases.js";
import { type DeployHarness, startDeployHarness, waitForStatus } from "./helpers/deploy-harness.js";
import { type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";

const INTERVAL_MS = 1_000;

interface HealthBody {
  status: string;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/** CPU % above which a sample shows the burning app (see the first test). */
const BURNING_PERCENT = 5;

describe("metrics through the API", () => {
  let repo: FixtureRepo;
  let h: DeployHarness;
  let pg: { url: string; drop(): Promise<void> };
  let deploymentId = "";

  before(async () => {
    [repo, pg] = await Promise.all([makeFixtureRepo(), freshPostgresUrl()]);
    h = await startDeployHarness({
      DATABASE_URL: pg.url,
      METRICS_INTERVAL_MS: String(INTERVAL_MS),
      METRICS_BUCKET_MS: "2000",
      METRICS_AGGREGATE_INTERVAL_MS: "2000",
    });
    const projectId = await h.project(`metrics-${Date.now()}`);
    const { id } = await h.deploy({
      projectId,
      name: `burn-${Date.now().toString(36)}`,
      gitRepo: repo.url,
      branch: "echo",
      envVars: { BURN_CPU: "1" },
    });
    deploymentId = id;
    await waitForStatus(h.deployments, id, DeploymentStatus.RUNNING);
  });

  after(async () => {
    await h?.leftovers.cleanup();
    await h?.close();
    await pg?.drop();
    await repo?.cleanup();
  });

  test("a container that burns CPU shows it in the live stream within two samples", async () => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 30_000);
    const seen: number[] = [];
    try {
      for await (const { sample } of h.deployments.streamDeploymentMetrics(
        { deploymentId },
        { signal: abort.signal },
      )) {
        assert.ok(sample?.at);
        seen.push(sample.cpuPercent);
        // The first sample may be the container's start (no CPU reading before it yet).
        if (sample.cpuPercent > 20 || seen.length >= 3) break;
      }
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
    // The app keeps half a core busy on a quiet machine; at a load of 10 on 2 cores it gets about
    // a tenth of one. An idle Node.js app shows well under 1 %: 5 % tells the two apart either way.
    const burning = seen.findIndex((cpu) => cpu > BURNING_PERCENT);
    assert.ok(burning >= 0 && burning <= 1, `CPU % of the first samples: ${seen.join(", ")}`);
  });

  test("GetDeploymentMetrics answers the live window, per-minute rows and hourly usage", async () => {
    // Buckets of 2 s, written every 2 s: within a few seconds the history holds the burn.
    let last = "nothing yet";
    const metrics = await eventually(
      async () => {
        const answer = await h.deployments.getDeploymentMetrics({ deploymentId });
        last =
          `live ${answer.live.length}, per-minute CPU % ` +
          `${answer.minutes.map((m) => m.cpuPercent.toFixed(1)).join(", ")}, usage ${answer.usage.length}`;
        const burning = answer.minutes.some((m) => m.cpuPercent > BURNING_PERCENT);
        return burning && answer.live.length >= 2 && answer.usage.length > 0 ? answer : undefined;
      },
      30_000,
      "the burn in the per-minute rows and the hourly usage",
      500,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; last answer: ${last}`);
    });
    assert.ok(metrics.live.every((s) => s.memoryBytes > 0n && s.memoryLimitBytes > 0n));
    const usage = metrics.usage[0];
    assert.ok(usage && usage.cpuSeconds > 0 && usage.memoryByteSeconds > 0, String(usage));
  });

  test("a bad range is refused, another organization sees nothing", async () => {
    await assert.rejects(
      h.deployments.getDeploymentMetrics({
        deploymentId,
        since: { seconds: 2_000_000_000n, nanos: 0 },
        until: { seconds: 1_000_000_000n, nanos: 0 },
      }),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument,
    );
    const stranger = await addUserWithToken(h.t.platform.ctx.db);
    const theirs = h.t.client(DeploymentService, stranger.token);
    for (const call of [
      () => theirs.getDeploymentMetrics({ deploymentId }),
      async () => {
        for await (const _ of theirs.streamDeploymentMetrics({ deploymentId })) break;
      },
    ]) {
      await assert.rejects(
        call(),
        (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound,
      );
    }
  });

  test("/health, /metrics/observability and /metrics report the metrics system", async () => {
    const health = (await (await fetch(`${h.t.baseUrl}/health`)).json()) as HealthBody;
    assert.equal(health.checks.metrics?.ok, true, JSON.stringify(health.checks.metrics));

    const anonymous = await fetch(`${h.t.baseUrl}/metrics/observability`);
    assert.equal(anonymous.status, 401);
    const response = await fetch(`${h.t.baseUrl}/metrics/observability`, {
      headers: { authorization: `Bearer ${h.t.adminToken}` },
    });
    assert.equal(response.status, 200);
    const report = (await response.json()) as {
      status: string;
      collection?: { samples: number; engine: { breaker: string } };
      database?: { writes: { succeeded: number } };
      live?: { subscribers: number };
    };
    assert.equal(report.status, "healthy");
    assert.equal(report.collection?.engine.breaker, "closed");
    assert.ok((report.collection?.samples ?? 0) > 0);
    assert.ok((report.database?.writes.succeeded ?? 0) > 0);

    // Prometheus's series are on the process's metrics listener (METRICS_PORT).
    const prometheus = await (
      await fetch(`http://127.0.0.1:${h.t.platform.metricsPort}/metrics`)
    ).text();
    for (const name of ["obiente_metrics_collection", "obiente_deployment_cpu", "obiente_rpc"]) {
      assert.ok(prometheus.includes(name), `/metrics has ${name}*`);
    }
  });
});

describe("metrics when the engine hangs", () => {
  let dir: string;
  let server: Server;
  const sockets = new Set<Socket>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "obiente-hung-"));
    // Accepts connections and never answers: a hung Docker engine.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(join(dir, "docker.sock"), resolve));
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  test("the breaker opens, /health says degraded, and the API keeps answering", async () => {
    const t = await startTestPlatform({
      env: {
        ROLES: "api,agent",
        DOCKER_HOST: `unix://${join(dir, "docker.sock")}`,
        METRICS_INTERVAL_MS: "300",
        METRICS_BUCKET_MS: "600",
        METRICS_AGGREGATE_INTERVAL_MS: "600",
      },
    });
    try {
      const health = await eventually(
        async () => {
          const response = await fetch(`${t.baseUrl}/health`);
          const body = (await response.json()) as HealthBody;
          return body.checks.metrics?.detail?.includes("circuit breaker is open")
            ? { status: response.status, body }
            : undefined;
        },
        60_000,
        "/health to report the open breaker",
        250,
      );
      assert.equal(health.body.status, "degraded");
      assert.equal(health.body.checks.metrics?.ok, false);
      // The database answers: the API is up, and says so with 200.
      assert.equal(health.status, 200);
      const { organizations } = await t.client(OrganizationService).listOrganizations({});
      assert.ok(organizations.length >= 1);
    } finally {
      await t.close();
    }
  });
});

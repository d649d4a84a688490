/**
 * Shared pieces of the benchmarks: figures (median, p90), the machine and its load, the platform
 * in this process with every role (and hooks that time the deployer's steps), waiting on a
 * deployment's status, polling an edge until it answers 200, and a cleanup that removes what a
 * benchmark made in the Docker engine even when it failed.
 *
 * Times are milliseconds on one clock, `nowMs()` (epoch-based, sub-millisecond), so that the
 * store's timestamps (builds.started_at, deployment_locations.created_at) compare with them.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import os from "node:os";
import { promisify } from "node:util";
import type { Client } from "@connectrpc/connect";
import Dockerode from "dockerode";
import { eq } from "drizzle-orm";
import type { Deploying } from "../src/app/deploying.js";
import { statusChannel } from "../src/deployments/events.js";
import { LABELS } from "../src/domain/labels.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { DEFAULT_DOCKER_HOST, dockerOptions } from "../src/runtime/docker-host.js";
import { builds, type DeploymentStatusName, deployments } from "../src/store/schema.js";
import { startTestPlatform, type TestPlatform } from "../test/helpers/api.js";
import { requestByHost } from "../test/helpers/caddy.js";
import { CADDY_IMAGE, NODE_IMAGE } from "../test/helpers/git-fixtures.js";

export { commitToBranch } from "../test/helpers/deploy-harness.js";

const run = promisify(execFile);

/** Label on every container a benchmark makes itself (outside the platform), for cleanup. */
export const BENCH_LABEL = "cloud.obiente.bench";

export const docker = new Dockerode(dockerOptions(DEFAULT_DOCKER_HOST).options);

/** Milliseconds since the epoch, with the monotonic clock's resolution. */
export const nowMs = () => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Figures

export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

/** Median (mean of the two middle values for an even count), p90 by nearest rank, min, max. */
export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n, median: Number.NaN, p90: Number.NaN, min: Number.NaN, max: Number.NaN };
  const at = (i: number) => sorted[Math.min(n - 1, Math.max(0, i))] ?? Number.NaN;
  const median = n % 2 === 1 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
  return { n, median, p90: at(Math.ceil(0.9 * n) - 1), min: at(0), max: at(n - 1) };
}

export const ms = (value: number | undefined, digits = 1) =>
  value === undefined || Number.isNaN(value) ? "—" : `${value.toFixed(digits)} ms`;

/** A plain-text table, columns padded; the first row is the header. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)));
  const [head, ...body] = rows;
  const out = [line(head ?? []).join("  ")];
  out.push(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of body) out.push(line(row).join("  "));
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------
// The machine and its load

export const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(", ");

/** Prints what the figures were measured on, and the load average before the run. */
export async function printHeader(title: string): Promise<void> {
  const version = await docker.version().catch(() => undefined);
  const nproc = await run("nproc")
    .then((r) => r.stdout.trim())
    .catch(() => String(os.availableParallelism()));
  console.log(`# ${title}`);
  console.log(`date:    ${new Date().toISOString()}`);
  console.log(
    `machine: nproc ${nproc}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.cpus()[0]?.model ?? "?"}`,
  );
  console.log(
    `node ${process.version}, Docker ${version?.Version ?? "unreachable"}, ${os.type()} ${os.release()}`,
  );
  console.log(`load average before (1, 5, 15 min): ${loadAverage()}`);
  console.log("");
}

export function printFooter(): void {
  console.log("");
  console.log(`load average after (1, 5, 15 min): ${loadAverage()}`);
}

// ---------------------------------------------------------------------------------------------
// Polling an HTTP endpoint until it answers 200

export interface FirstOk {
  /** nowMs() when the 200 arrived. */
  at: number;
  /** Requests made, the successful one included. */
  tries: number;
  /** The statuses seen before the 200 (or the error names), for the record. */
  before: Set<string>;
}

/**
 * GET / by Host header on 127.0.0.1:port, each on a fresh connection, one after the other with
 * `intervalMs` between them, until one answers 200 (and `body` when given).
 */
export async function firstOk(
  port: number,
  host: string,
  options: { intervalMs?: number; timeoutMs?: number; body?: string; signal?: AbortSignal } = {},
): Promise<FirstOk> {
  const { intervalMs = 5, timeoutMs = 60_000 } = options;
  const deadline = performance.now() + timeoutMs;
  const before = new Set<string>();
  let tries = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    tries++;
    try {
      const response = await requestByHost(port, host, "/", { timeoutMs: 2_000 });
      if (
        response.status === 200 &&
        (options.body === undefined || response.body.includes(options.body))
      ) {
        return { at: nowMs(), tries, before };
      }
      before.add(String(response.status));
    } catch (error) {
      before.add((error as NodeJS.ErrnoException).code ?? "error");
    }
    if (performance.now() > deadline) {
      throw new Error(`no 200 from ${host} on port ${port} within ${timeoutMs} ms`);
    }
    if (intervalMs > 0) await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// The platform

export interface BenchPlatform {
  t: TestPlatform;
  deploying: Deploying;
  deployments: Client<typeof DeploymentService>;
  organizationId: string;
  projectId: string;
  edgePort: number | undefined;
  marks: DeployMarks;
  /** CreateDeployment, remembered for cleanup. */
  create(input: {
    name: string;
    gitRepo: string;
    branch: string;
  }): Promise<{ id: string; domain: string }>;
  /** Resolves when the deployment's status is `wanted`; rejects on "failed". */
  waitForStatus(id: string, wanted: DeploymentStatusName, timeoutMs?: number): Promise<void>;
  /** DeleteDeployment, then waits until the controller has removed it. */
  remove(id: string, timeoutMs?: number): Promise<void>;
  /** The deployment's current build row. */
  currentBuild(id: string): Promise<typeof builds.$inferSelect | undefined>;
  close(): Promise<void>;
}

/**
 * The platform with every role in this process (PGlite, in-process queue and bus, the built-in
 * edge on a free loopback port unless `env` picks another), an organization and a project.
 * ORPHAN_POLICY=keep: this platform must never remove containers of other platforms (tests
 * running beside the benchmark) that share the engine.
 */
export async function startBenchPlatform(env: Record<string, string> = {}): Promise<BenchPlatform> {
  const t = await startTestPlatform({
    env: {
      ROLES: "api,controller,agent,edge",
      GIT_ALLOW_FILE: "true",
      NODE_BASE_IMAGE: NODE_IMAGE,
      STATIC_BASE_IMAGE: CADDY_IMAGE,
      EDGE_PORT: "0",
      STOP_TIMEOUT_SECONDS: "1",
      ORPHAN_POLICY: "keep",
      HEALTH_TIMEOUT_SECONDS: "60",
      ...env,
    },
  });
  const created = new Set<string>();
  let projectId: string | undefined;
  const cleanupEngine = async () => {
    for (const id of created) await removeByDeployment(id);
    if (projectId) {
      await docker
        .getNetwork(`obiente-net-${projectId}`)
        .remove()
        .catch(() => undefined);
    }
  };
  try {
    const deploying = t.platform.deploying;
    if (!deploying) throw new Error("the platform runs no deploying roles");
    const deploymentsClient = t.client(DeploymentService);
    const { organization } = await t
      .client(OrganizationService)
      .createOrganization({ name: `Bench ${Date.now()}` });
    if (!organization) throw new Error("no organization");
    const { project } = await t
      .client(ProjectService)
      .createProject({ organizationId: organization.id, name: "bench" });
    if (!project) throw new Error("no project");
    projectId = project.id;
    const db = t.platform.database.db;
    const bus = t.platform.ctx.services.bus;

    const statusOf = async (id: string) =>
      (await db.select().from(deployments).where(eq(deployments.id, id)))[0];

    const waitForStatus = async (id: string, wanted: DeploymentStatusName, timeoutMs = 120_000) => {
      let wake: () => void = () => undefined;
      const unsubscribe = await bus.subscribe(statusChannel(id), () => wake());
      try {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          // Subscribed first, then read: a change in between wakes the next wait at once.
          const woken = new Promise<void>((resolve) => {
            wake = resolve;
          });
          const row = await statusOf(id);
          if (row?.status === wanted) return;
          if (row?.status === "failed" && wanted !== "failed") {
            throw new Error(`deployment ${id} failed: ${row.statusMessage}`);
          }
          const left = deadline - Date.now();
          if (left <= 0) {
            throw new Error(`deployment ${id} is ${row?.status ?? "gone"}, not ${wanted}`);
          }
          await Promise.race([woken, sleep(Math.min(left, 1_000))]);
        }
      } finally {
        await unsubscribe();
      }
    };

    const bench: BenchPlatform = {
      t,
      deploying,
      deployments: deploymentsClient,
      organizationId: organization.id,
      projectId: project.id,
      edgePort: deploying.edgePort,
      marks: instrument(deploying),
      async create(input) {
        const { deployment } = await deploymentsClient.createDeployment({
          projectId: project.id,
          ...input,
        });
        if (!deployment) throw new Error("CreateDeployment returned nothing");
        created.add(deployment.id);
        const domain = deployment.domains[0];
        if (!domain) throw new Error("the new deployment has no domain");
        return { id: deployment.id, domain };
      },
      waitForStatus,
      async remove(id, timeoutMs = 60_000) {
        await deploymentsClient.deleteDeployment({ id });
        const deadline = Date.now() + timeoutMs;
        while ((await statusOf(id)) !== undefined) {
          if (Date.now() > deadline) throw new Error(`deployment ${id} was not removed`);
          await sleep(20);
        }
      },
      async currentBuild(id) {
        const row = await statusOf(id);
        if (!row?.currentBuildId) return undefined;
        return (await db.select().from(builds).where(eq(builds.id, row.currentBuildId)))[0];
      },
      async close() {
        // Through the platform first (containers, routes, images), then whatever is left.
        for (const id of created) {
          if (await statusOf(id).catch(() => undefined)) {
            await bench.remove(id, 30_000).catch(() => undefined);
          }
        }
        await t.close();
        await cleanupEngine();
      },
    };
    return bench;
  } catch (error) {
    await t.close();
    await cleanupEngine();
    throw error;
  }
}

/** Removes the containers and images labelled with a deployment's id. */
export async function removeByDeployment(deploymentId: string): Promise<void> {
  const label = [`${LABELS.deploymentId}=${deploymentId}`];
  const containers = await docker.listContainers({ all: true, filters: { label } }).catch(() => []);
  for (const c of containers) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
  const images = await docker.listImages({ all: true, filters: { label } }).catch(() => []);
  for (const image of images) {
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

/** Removes the containers a benchmark made itself (label BENCH_LABEL=<name>). */
export async function removeBenchContainers(name: string): Promise<void> {
  const containers = await docker
    .listContainers({ all: true, filters: { label: [`${BENCH_LABEL}=${name}`] } })
    .catch(() => []);
  for (const c of containers) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Timing the deployer's steps

/** nowMs() at each step of the latest converge of a deployment. */
export interface StepMarks {
  /** The controller picked the job up (Deployer.converge called). */
  converge?: number;
  /** runtime.run called / returned (container created and started). */
  runStart?: number;
  runEnd?: number;
  /** runtime.waitHealthy returned. */
  healthy?: number;
  /** The first RouteSync.sync() that finished after healthy (the edge has the new table). */
  routed?: number;
}

export interface DeployMarks {
  of(deploymentId: string): StepMarks;
  /** Forgets a deployment's marks, before timing its next converge. */
  reset(deploymentId: string): void;
}

/**
 * Wraps the deployer's collaborators (on their instances, nothing in src/ changes) to record
 * when each step of a converge happens. The wrappers add a Map lookup per call.
 */
function instrument(deploying: Deploying): DeployMarks {
  const marks = new Map<string, StepMarks>();
  const containerToDeployment = new Map<string, string>();
  const of = (id: string) => {
    let m = marks.get(id);
    if (!m) {
      m = {};
      marks.set(id, m);
    }
    return m;
  };

  const { deployer, runtime, routes } = deploying;
  const converge = deployer.converge.bind(deployer);
  deployer.converge = (deploymentId, signal) => {
    of(deploymentId).converge ??= nowMs();
    return converge(deploymentId, signal);
  };

  const runContainer = runtime.run.bind(runtime);
  runtime.run = async (spec) => {
    const id = spec.labels[LABELS.deploymentId] ?? "";
    of(id).runStart ??= nowMs();
    const container = await runContainer(spec);
    of(id).runEnd ??= nowMs();
    containerToDeployment.set(container.id, id);
    return container;
  };

  const waitHealthy = runtime.waitHealthy.bind(runtime);
  runtime.waitHealthy = async (containerId, options) => {
    await waitHealthy(containerId, options);
    const id = containerToDeployment.get(containerId);
    if (id !== undefined) of(id).healthy ??= nowMs();
  };

  const sync = routes.sync.bind(routes);
  routes.sync = async () => {
    const startedAt = nowMs();
    await sync();
    const at = nowMs();
    for (const m of marks.values()) {
      // Only a sync that started after the container was healthy carries its location.
      if (m.healthy !== undefined && m.routed === undefined && startedAt >= m.healthy)
        m.routed = at;
    }
  };

  return { of: (id) => ({ ...of(id) }), reset: (id) => marks.delete(id) };
}

// ---------------------------------------------------------------------------------------------
// The fixture repository

export const uniqueSuffix = () => randomUUID().slice(0, 8);

/** Runs `body`, then `cleanup` whatever happened; SIGINT/SIGTERM also run the cleanup. */
export async function withCleanup(
  body: () => Promise<void>,
  cleanup: () => Promise<void>,
): Promise<void> {
  let cleaning: Promise<void> | undefined;
  const clean = () => {
    cleaning ??= cleanup().catch((error: unknown) => console.error("cleanup failed:", error));
    return cleaning;
  };
  const onSignal = () => {
    void clean().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await body();
  } finally {
    await clean();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

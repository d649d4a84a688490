/**
 * planReconcile (src/controller/plan.ts), the reconciler's pure diff, over 10,000 deployments:
 * the time of one call with the rows a pass reads (deployments, deployment_locations) and the
 * labelled containers the engine lists. Goal: a median under 20 ms.
 *
 * The data is a steady cluster with the drift a real one has: most deployments running with
 * every replica healthy, some replicas missing, exited or unhealthy, leftovers of an older
 * build, deployments stopped or being deleted, locations whose container is gone, orphans, and
 * containers of another installation sharing the engine (left alone). Every location records
 * the port its container publishes, as the deployer does. Seeded, so every run plans the same
 * thing.
 *
 * Two series, after a warm-up, each call timed in wall-clock time and in the process's CPU time
 * (user + system: other work on a busy machine disturbs it less):
 * - a steady pass, as the reconciler runs every few seconds: the name keys (a SHA-256 of build,
 *   restart generation and node, src/runtime/names.ts) are remembered from the last pass;
 * - the reference, in the same process: a pass that remembers none (the first after a start,
 *   or when every build changed), each call after pushing every remembered key out.
 * Median, fastest and slowest of each, the diffs per second of each clock, and the ratio.
 *
 *   node --import tsx bench/reconcile-diff.ts [--deployments 10000] [--runs 21]
 */
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import {
  type DesiredDeployment,
  deploymentsToConverge,
  planReconcile,
  type RecordedLocation,
} from "../src/controller/plan.js";
import { LABELS } from "../src/domain/labels.js";
import { containerName, NAMES_REMEMBERED_MAX } from "../src/runtime/names.js";
import type { ContainerRef } from "../src/runtime/runtime-port.js";
import { mulberry32 } from "../src/scheduler/fixtures.js";

const args = new Map<string, string>();
for (let a = 2; a < process.argv.length; a += 2) {
  args.set(process.argv[a] ?? "", process.argv[a + 1] ?? "");
}
const DEPLOYMENTS = Number(args.get("--deployments") ?? 10_000);
const RUNS = Number(args.get("--runs") ?? 21);

const random = mulberry32(2025);
const INSTALLATION = "6b1f0e2c-9d4a-4c3b-8e7f-1a2b3c4d5e6f";
/** A deployment and build of no one, to name containers that push remembered keys out. */
const GHOST = "00000000-0000-4000-8000-00000000dead";
let installation = INSTALLATION;
const chance = (p: number) => random() < p;
const uuid = () => {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
};
const containerId = () =>
  Array.from({ length: 64 }, () => Math.floor(random() * 16).toString(16)).join("");

/** A deployments row, every column, as the reconciler reads it. */
type DeploymentRow = DesiredDeployment & Record<string, unknown>;
/** A deployment_locations row, every column. */
type LocationRow = RecordedLocation & Record<string, unknown>;

const desired: DeploymentRow[] = [];
let actual: ContainerRef[] = [];
const locations: LocationRow[] = [];

function labelsFor(d: DeploymentRow, replica: number, buildId: string): Record<string, string> {
  return {
    [LABELS.deployment]: "true",
    [LABELS.deploymentId]: d.id,
    [LABELS.projectId]: String(d.projectId),
    [LABELS.organizationId]: String(d.organizationId),
    [LABELS.replica]: String(replica),
    [LABELS.buildId]: buildId,
    "cloud.obiente.generation": String(d.generation),
    [LABELS.installation]: installation,
  };
}

function run(d: DeploymentRow, replica: number, buildId: string, state: string, health: string) {
  const id = containerId();
  const hostPort = state === "running" ? 20_000 + Math.floor(random() * 40_000) : undefined;
  actual.push({
    id,
    name: containerName(d.id, replica, buildId, d.restartGeneration),
    state,
    health,
    labels: labelsFor(d, replica, buildId),
    hostPort,
  });
  if (hostPort !== undefined && d.status !== "deleting") {
    location(d, replica, id, buildId, hostPort);
  }
}

/** A location record, with the port its container publishes (as the deployer records it). */
function location(
  d: DeploymentRow,
  replica: number,
  container: string,
  buildId: string,
  port: number,
) {
  locations.push({
    id: uuid(),
    deploymentId: d.id,
    replica,
    nodeId: "k3x9c2m8v1q7w5e4r6t0y2u8i",
    containerId: container,
    buildId,
    status: "running",
    address: "10.0.3.17",
    port,
    domain: `app-${d.id.slice(0, 8)}.apps.example.com`,
    healthStatus: "healthy",
    resourceUsage: {},
    createdAt: new Date(),
    updatedAt: new Date(),
  });
}

const organizations = Array.from({ length: 400 }, uuid);
for (let n = 0; n < DEPLOYMENTS; n++) {
  const roll = random();
  const desiredState = roll < 0.9 ? "running" : roll < 0.98 ? "stopped" : "deleted";
  const statusRoll = random();
  const status =
    desiredState === "stopped"
      ? "stopped"
      : desiredState === "deleted"
        ? "deleting"
        : statusRoll < 0.95
          ? "running"
          : statusRoll < 0.97
            ? "deploying"
            : statusRoll < 0.98
              ? "building"
              : statusRoll < 0.99
                ? "failed"
                : "queued";
  const replicasRoll = random();
  const replicas = replicasRoll < 0.7 ? 1 : replicasRoll < 0.9 ? 2 : replicasRoll < 0.98 ? 3 : 5;
  const d: DeploymentRow = {
    id: uuid(),
    organizationId: organizations[n % organizations.length],
    projectId: uuid(),
    name: `app-${n}`,
    gitRepo: `https://git.example.com/team-${n % 400}/app-${n}.git`,
    branch: "main",
    desiredState,
    status,
    statusMessage: "",
    replicas,
    cpuMillicores: 500,
    memoryMb: 512,
    strategy: "",
    currentBuildId: status === "queued" ? null : uuid(),
    generation: 1 + Math.floor(random() * 20),
    restartGeneration: Math.floor(random() * 4),
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  desired.push(d);
  const buildId = d.currentBuildId;
  if (buildId === null) continue;

  if (desiredState === "running" && status !== "failed") {
    for (let r = 0; r < replicas; r++) {
      if (chance(0.003)) {
        // The container vanished; its location record stayed.
        if (chance(0.5)) location(d, r, containerId(), buildId, 20_000 + r);
        continue;
      }
      const state = chance(0.003) ? "exited" : "running";
      const health = chance(0.002) ? "unhealthy" : chance(0.6) ? "healthy" : "none";
      run(d, r, buildId, state, health);
    }
    if (chance(0.005)) run(d, 0, uuid(), "exited", "none"); // left from the previous build
  } else if (desiredState === "stopped" && chance(0.1)) {
    for (let r = 0; r < replicas; r++) run(d, r, buildId, "exited", "none");
  } else if (desiredState === "deleted" && chance(0.5)) {
    for (let r = 0; r < replicas; r++) run(d, r, buildId, "running", "healthy");
  }
}
// Containers whose deployment row is gone.
for (let n = 0; n < 50; n++) {
  const ghost = { ...(desired[0] as DeploymentRow), id: randomUUID() };
  run(ghost, 0, uuid(), chance(0.5) ? "running" : "exited", "none");
}
// Another installation's containers on the same engine (a CI run, a developer's platform).
installation = randomUUID();
for (let n = 0; n < 30; n++) {
  const other = { ...(desired[0] as DeploymentRow), id: randomUUID(), status: "deleting" };
  run(other, 0, uuid(), "running", "healthy");
}
// As the engine's JSON gives them: names and labels are strings of their own, not the ones the
// deployer's naming function returned (which compare equal by pointer).
actual = JSON.parse(JSON.stringify(actual)) as ContainerRef[];

interface Sample {
  /** Milliseconds of wall-clock time. */
  wall: number;
  /** Milliseconds of this process's CPU time, user and system. */
  cpu: number;
}

function sample(f: () => unknown): Sample {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  f();
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

interface Series {
  median: Sample;
  fastest: number;
  slowest: number;
}

function series(samples: Sample[]): Series {
  const middle = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const walls = samples.map((s) => s.wall);
  return {
    median: { wall: middle(walls), cpu: middle(samples.map((s) => s.cpu)) },
    fastest: Math.min(...walls),
    slowest: Math.max(...walls),
  };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const loadBefore = load();
const plan = () =>
  planReconcile(desired, actual, locations, {
    orphanPolicy: "remove",
    installationId: INSTALLATION,
  });
for (let w = 0; w < 3; w++) plan();
const steady = series(Array.from({ length: RUNS }, () => sample(plan)));

// The reference: before each call, enough other keys to push every remembered one out.
let other = 0;
const forget = () => {
  for (let k = 0; k < NAMES_REMEMBERED_MAX; k++) containerName(GHOST, 0, `${GHOST}-${other++}`, 0);
};
const cold = series(
  Array.from({ length: RUNS }, () => {
    forget();
    return sample(plan);
  }),
);

const result = plan();
console.log(
  `${desired.length} deployments, ${actual.length} containers, ${locations.length} locations; ` +
    `plan: ${deploymentsToConverge(result).length} to converge, ${result.removeOrphans.length} orphans, ` +
    `${result.dropLocations.length} locations to drop (node ${process.version}, ${RUNS} calls each)`,
);
const ms = (n: number) => `${n.toFixed(1)} ms`;
const perSecond = (millis: number) => Math.round(1000 / millis).toLocaleString("en-US");
const line = (name: string, s: Series) =>
  `${name}: median ${ms(s.median.wall)} (CPU ${ms(s.median.cpu)}), fastest ${ms(s.fastest)}, ` +
  `slowest ${ms(s.slowest)}; ${perSecond(s.median.wall)}/s, ${perSecond(s.median.cpu)} per CPU-s`;
console.log(line("steady pass (name keys remembered)", steady));
console.log(line("reference: no name key remembered", cold));
console.log(
  `ratio reference / steady: ${(cold.median.wall / steady.median.wall).toFixed(2)} wall-clock, ` +
    `${(cold.median.cpu / steady.median.cpu).toFixed(2)} CPU`,
);
console.log(
  steady.median.wall < 20 ? "goal (median < 20 ms): met" : "goal (median < 20 ms): NOT met",
);
console.log(`load average before: ${loadBefore}, after: ${load()}`);

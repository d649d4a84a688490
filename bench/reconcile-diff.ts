/**
 * planReconcile (src/controller/plan.ts), the reconciler's pure diff, over 10,000 deployments:
 * the time of one call with the rows a pass reads (deployments, deployment_locations) and the
 * labelled containers the engine lists. Goal: under 50 ms.
 *
 * The data is a steady cluster with the drift a real one has: most deployments running with
 * every replica healthy, some replicas missing, exited or unhealthy, leftovers of an older
 * build, deployments stopped or being deleted, locations whose container is gone, orphans, and
 * containers of another installation sharing the engine (left alone).
 * Seeded, so every run plans the same thing. Runs after a warm-up; prints the median, the
 * fastest and the slowest, and, to show where the time goes, the cost of computing the wanted
 * container names alone (a SHA-256 per replica, in containerName), and what one hash per
 * deployment would cost instead.
 *
 *   node --import tsx bench/reconcile-diff.ts [--deployments 10000] [--runs 15]
 */
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { containerName, LABEL } from "../src/controller/deployer.js";
import { INSTALLATION_LABEL } from "../src/controller/installation.js";
import {
  type DesiredDeployment,
  planReconcile,
  type RecordedLocation,
} from "../src/controller/plan.js";
import type { ContainerRef } from "../src/controller/ports.js";
import { mulberry32 } from "../src/scheduler/fixtures.js";

const args = new Map<string, string>();
for (let a = 2; a < process.argv.length; a += 2) {
  args.set(process.argv[a] ?? "", process.argv[a + 1] ?? "");
}
const DEPLOYMENTS = Number(args.get("--deployments") ?? 10_000);
const RUNS = Number(args.get("--runs") ?? 15);

const random = mulberry32(2025);
const INSTALLATION = "6b1f0e2c-9d4a-4c3b-8e7f-1a2b3c4d5e6f";
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
const actual: ContainerRef[] = [];
const locations: LocationRow[] = [];

function labelsFor(d: DeploymentRow, replica: number, buildId: string): Record<string, string> {
  return {
    [LABEL.managed]: "true",
    [LABEL.deploymentId]: d.id,
    [LABEL.projectId]: String(d.projectId),
    [LABEL.organizationId]: String(d.organizationId),
    [LABEL.replica]: String(replica),
    [LABEL.buildId]: buildId,
    "cloud.obiente.generation": String(d.generation),
    [INSTALLATION_LABEL]: installation,
  };
}

function run(d: DeploymentRow, replica: number, buildId: string, state: string, health: string) {
  const id = containerId();
  actual.push({
    id,
    name: containerName(d.id, replica, buildId, d.restartGeneration),
    state,
    health,
    labels: labelsFor(d, replica, buildId),
    hostPort: state === "running" ? 20_000 + Math.floor(random() * 40_000) : undefined,
  });
  if (state === "running" && d.status !== "deleting") location(d, replica, id, buildId);
}

function location(d: DeploymentRow, replica: number, container: string, buildId: string) {
  locations.push({
    id: uuid(),
    deploymentId: d.id,
    replica,
    nodeId: "k3x9c2m8v1q7w5e4r6t0y2u8i",
    containerId: container,
    buildId,
    status: "running",
    address: "10.0.3.17",
    port: 20_000 + replica,
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
        if (chance(0.5)) location(d, r, containerId(), buildId); // the container vanished
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

function time(f: () => unknown): number {
  const start = performance.now();
  f();
  return performance.now() - start;
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
const times = Array.from({ length: RUNS }, () => time(plan)).sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] ?? 0;

// Where the time goes: the wanted names alone, one SHA-256 per replica of each deployment to run.
const toName = desired.filter((d) => d.desiredState === "running" && d.status !== "failed");
const nameTimes = Array.from({ length: RUNS }, () =>
  time(() => {
    for (const d of toName) {
      if (d.currentBuildId === null) continue;
      for (let r = 0; r < d.replicas; r++)
        containerName(d.id, r, d.currentBuildId, d.restartGeneration);
    }
  }),
).sort((a, b) => a - b);
const namesMedian = nameTimes[Math.floor(nameTimes.length / 2)] ?? 0;
// The same with one hash per deployment: the key depends on the build and restart generation,
// not on the replica, so the names of replicas 1… are the first name with another replica number.
const keyTimes = Array.from({ length: RUNS }, () =>
  time(() => {
    for (const d of toName) {
      if (d.currentBuildId !== null) containerName(d.id, 0, d.currentBuildId, d.restartGeneration);
    }
  }),
).sort((a, b) => a - b);
const keysMedian = keyTimes[Math.floor(keyTimes.length / 2)] ?? 0;

const result = plan();
console.log(
  `${desired.length} deployments, ${actual.length} containers, ${locations.length} locations; ` +
    `plan: ${result.converge.length} to converge, ${result.removeOrphans.length} orphans, ` +
    `${result.dropLocations.length} locations to drop`,
);
console.log(
  `planReconcile: median ${median.toFixed(1)} ms, fastest ${(times[0] ?? 0).toFixed(1)} ms, ` +
    `slowest ${(times.at(-1) ?? 0).toFixed(1)} ms over ${RUNS} runs (node ${process.version})`,
);
console.log(
  `of which the wanted names (containerName, a SHA-256 each): median ${namesMedian.toFixed(1)} ms; ` +
    `one hash per deployment instead of per replica would take ${keysMedian.toFixed(1)} ms`,
);
console.log(median < 50 ? "goal (< 50 ms): met" : "goal (< 50 ms): NOT met");
console.log(`load average before: ${loadBefore}, after: ${load()}`);

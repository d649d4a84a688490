/**
 * planDeployment (src/controller/plan-deployment.ts): plans per second for typical deployments.
 * Goal: at least 100,000 plans per second for a typical deployment.
 *
 * Three kinds, each a deployment of 2 replicas with a domain, on one engine unless said:
 * - steady: both replicas run, recorded and routed: the plan is "none" (what a converge of an
 *   unchanged deployment, and the reconciler, ask for most);
 * - redeploy: a new build, the old replicas still run: a roll with labels for each replica;
 * - cluster move: one replica on a drained node: a placement request.
 * Each kind runs for a fixed number of calls after a warm-up, timed in wall-clock time and in
 * the process's CPU time. The reference, in the same process: a structured clone of the same
 * inputs per call (machine speed, for the ratio).
 *
 *   node --import tsx bench/plan-deployment.ts [--calls 200000]
 */
import { loadavg } from "node:os";
import {
  type ActualDeployment,
  type DesiredDeployment,
  type NodeHealth,
  planDeployment,
} from "../src/controller/plan-deployment.js";
import { containerName } from "../src/runtime/names.js";
import type { ContainerRef } from "../src/runtime/runtime-port.js";

const args = new Map<string, string>();
for (let a = 2; a < process.argv.length; a += 2) {
  args.set(process.argv[a] ?? "", process.argv[a + 1] ?? "");
}
const CALLS = Number(args.get("--calls") ?? 200_000);

const D = "6b1f0e2c-9d4a-4c3b-8e7f-1a2b3c4d5e6f";
const B1 = "10000000-0000-4000-8000-000000000001";
const B2 = "10000000-0000-4000-8000-000000000002";
const N1 = "k3x9c2m8v1q7w5e4r6t0y2u8i";
const N2 = "p0o9i8u7y6t5r4e3w2q1a2s3d";
const NOW = new Date();

function desired(buildId: string): DesiredDeployment {
  return {
    deployment: {
      id: D,
      projectId: "20000000-0000-4000-8000-000000000001",
      organizationId: "30000000-0000-4000-8000-000000000001",
      desiredState: "running",
      status: "running",
      currentBuildId: buildId,
      replicas: 2,
      restartGeneration: 3,
      strategy: "",
      cpuMillicores: 500,
      memoryMb: 512,
    },
    build: {
      id: buildId,
      status: "succeeded",
      imageId: "sha256:ab12",
      commitSha: "0123abc",
      port: 8080,
    },
    domains: ["app-6b1f0e2c.apps.example.com"],
    defaults: { cpuMillicores: 250, memoryMb: 256 },
    installationId: "inst-1",
  };
}

function container(replica: number, buildId: string, nodeId?: string): ContainerRef {
  return {
    id: `c${replica}${buildId.slice(-4)}${nodeId ?? ""}`,
    name: containerName(D, replica, buildId, 3, nodeId),
    state: "running",
    health: "healthy",
    labels: { "cloud.obiente.deployment": "true", "cloud.obiente.deployment_id": D },
    hostPort: 20_000 + replica,
    ...(nodeId ? { nodeId } : {}),
  };
}

function actual(containers: ContainerRef[]): ActualDeployment {
  return {
    containers,
    recorded: {
      locations: containers.map((c) => ({ containerId: c.id, port: c.hostPort ?? 0 })),
      routes: [{ domain: "app-6b1f0e2c.apps.example.com", targetPort: 8080 }],
    },
  };
}

const kinds: Array<{
  name: string;
  input: [DesiredDeployment, ActualDeployment, NodeHealth | undefined];
  expect: string;
}> = [
  {
    name: "steady (none)",
    input: [desired(B1), actual([container(0, B1), container(1, B1)]), undefined],
    expect: "none",
  },
  {
    name: "redeploy (roll)",
    input: [desired(B2), actual([container(0, B1), container(1, B1)]), undefined],
    expect: "roll",
  },
  {
    name: "cluster move (place)",
    input: [
      desired(B1),
      actual([container(0, B1, N1), container(1, B1, N2)]),
      { unusable: [N1], down: [] },
    ],
    expect: "place",
  },
];

function timed(f: () => unknown) {
  for (let i = 0; i < 10_000; i++) f();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) f();
  const wall = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { perWall: CALLS / wall, perCpu: CALLS / ((cpu.user + cpu.system) / 1e6) };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const loadBefore = load();
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(
  `planDeployment, ${CALLS.toLocaleString("en-US")} calls per kind (node ${process.version})`,
);
for (const kind of kinds) {
  const plan = planDeployment(...kind.input, NOW);
  if (plan.action !== kind.expect) throw new Error(`${kind.name}: planned ${plan.action}`);
  const own = timed(() => planDeployment(...kind.input, NOW));
  const reference = timed(() => structuredClone(kind.input));
  console.log(
    `${kind.name}: ${fmt(own.perWall)}/s, ${fmt(own.perCpu)} per CPU-s; ` +
      `reference (structured clone of the inputs) ${fmt(reference.perCpu)} per CPU-s; ` +
      `ratio ${(own.perCpu / reference.perCpu).toFixed(1)}; goal (≥ 100,000/s): ${own.perCpu >= 100_000 ? "met" : "NOT met"} per CPU-s`,
  );
}
console.log(`load average before: ${loadBefore}, after: ${load()}`);

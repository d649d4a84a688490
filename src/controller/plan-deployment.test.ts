import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { DomainErrorKind } from "../domain/index.js";
import { containerName } from "../runtime/names.js";
import type { ContainerRef } from "../runtime/runtime-port.js";
import { B1, B2, D1, N1, N2, N3, type ReplicaOverrides, replicaContainer } from "./fixtures.js";
import {
  type ActualDeployment,
  type BuildFacts,
  type DeploymentFacts,
  type DeploymentPlan,
  type DesiredDeployment,
  type FailedStartPlan,
  type NodeHealth,
  planDeployment,
  planFailedStart,
  type RecordedState,
  type RollPlan,
  rollFailed,
  type StartFailure,
  type StatusChange,
  settleRoll,
  TRANSIENT_START_FAILURE,
} from "./plan-deployment.js";

const P1 = "20000000-0000-4000-8000-000000000001";
const O1 = "30000000-0000-4000-8000-000000000001";
const NOW = new Date("2026-12-07T12:00:00Z");

function deployment(overrides: Partial<DeploymentFacts> = {}): DeploymentFacts {
  return {
    id: D1,
    projectId: P1,
    organizationId: O1,
    desiredState: "running",
    status: "running",
    currentBuildId: B1,
    replicas: 1,
    restartGeneration: 0,
    strategy: "",
    cpuMillicores: 0,
    memoryMb: 0,
    ...overrides,
  };
}

function build(id = B1, overrides: Partial<BuildFacts> = {}): BuildFacts {
  return {
    id,
    status: "succeeded",
    imageId: `sha256:${id.replaceAll("-", "")}`,
    commitSha: id === B1 ? "abcdef0123" : "fedcba9876",
    port: 8080,
    ...overrides,
  };
}

function desired(d: DeploymentFacts, overrides: Partial<DesiredDeployment> = {}) {
  return {
    deployment: d,
    build: d.currentBuildId ? build(d.currentBuildId) : undefined,
    domains: ["app.example.test"],
    defaults: { cpuMillicores: 500, memoryMb: 256 },
    ...overrides,
  } satisfies DesiredDeployment;
}

/** The container the deployer runs for this slot of this build (on this node). */
const container = (overrides: ReplicaOverrides = {}): ContainerRef =>
  replicaContainer(D1, overrides);

/** The records the deployer writes for these containers and domains. */
function recordsOf(containers: readonly ContainerRef[], domains: readonly string[], port = 8080) {
  return {
    locations: containers.map((c) => ({ containerId: c.id, port: c.hostPort ?? 0 })),
    routes: domains.map((domain) => ({ domain, targetPort: port })),
  } satisfies RecordedState;
}

function rollOf(plan: DeploymentPlan): RollPlan {
  assert.equal(plan.action, "roll", JSON.stringify(plan));
  return plan as RollPlan;
}

describe("planDeployment, case by case", () => {
  const steady = container();
  const cases: Array<{
    name: string;
    desired: DesiredDeployment;
    actual: ActualDeployment;
    nodes?: NodeHealth;
    expect: (plan: DeploymentPlan) => void;
  }> = [
    {
      name: "no engine: failed, saying where it looked",
      desired: desired(deployment()),
      actual: { engineError: "no Docker engine at unix:///x.sock", containers: [] },
      expect: (plan) =>
        assert.deepEqual(plan, {
          action: "fail",
          status: { status: "failed", message: "no Docker engine at unix:///x.sock" },
        }),
    },
    {
      name: "no engine and deleted: only the records go",
      desired: desired(deployment({ desiredState: "deleted" })),
      actual: { engineError: "down", containers: [steady] },
      expect: (plan) => assert.deepEqual(plan, { action: "forget" }),
    },
    {
      name: "deleted: every container is retired, then the records go",
      desired: desired(deployment({ desiredState: "deleted", status: "deleting" })),
      actual: { containers: [steady] },
      expect: (plan) => assert.deepEqual(plan, { action: "remove", retire: [steady] }),
    },
    {
      name: "stopped and nothing runs: nothing to do",
      desired: desired(deployment({ desiredState: "stopped", status: "stopped" })),
      actual: { containers: [] },
      expect: (plan) => assert.deepEqual(plan, { action: "none" }),
    },
    {
      name: "stop asked for: retire what runs, and say stopped",
      desired: desired(deployment({ desiredState: "stopped", status: "running" })),
      actual: { containers: [steady] },
      expect: (plan) =>
        assert.deepEqual(plan, {
          action: "stop",
          retire: [steady],
          status: { status: "stopped", message: "stopped" },
        }),
    },
    {
      name: "stopped, a container left: retire it, the status stays",
      desired: desired(deployment({ desiredState: "stopped", status: "stopped" })),
      actual: { containers: [steady] },
      expect: (plan) => assert.deepEqual(plan, { action: "stop", retire: [steady] }),
    },
    {
      name: "never built: build",
      desired: desired(deployment({ currentBuildId: null, status: "queued" })),
      actual: { containers: [] },
      expect: (plan) => assert.deepEqual(plan, { action: "build" }),
    },
    {
      name: "its build failed or is missing: failed, asking for a redeploy",
      desired: desired(deployment(), { build: build(B1, { status: "failed" }) }),
      actual: { containers: [steady] },
      expect: (plan) =>
        assert.deepEqual(plan, {
          action: "fail",
          status: {
            status: "failed",
            message: "the deployment's build is missing or did not succeed: redeploy it",
          },
        }),
    },
    {
      name: "running, every replica up and recorded: nothing to do",
      desired: desired(deployment()),
      actual: { containers: [steady], recorded: recordsOf([steady], ["app.example.test"]) },
      expect: (plan) => assert.deepEqual(plan, { action: "none" }),
    },
    {
      name: "first deploy: say deploying, start replica 0 with the platform's limits and labels",
      desired: desired(deployment({ status: "deploying" }), { installationId: "inst-1" }),
      actual: { containers: [] },
      expect: (plan) => {
        const roll = rollOf(plan);
        assert.equal(roll.announce, undefined, "already deploying: nothing more to say");
        assert.deepEqual(roll.replicas, [{ replica: 0, name: steady.name, running: false }]);
        assert.deepEqual(roll.limits, { cpuMillicores: 500, memoryMb: 256 });
        assert.equal(roll.labels[0]?.["cloud.obiente.installation"], "inst-1");
        assert.equal(roll.labels[0]?.["cloud.obiente.build_id"], B1);
        assert.equal(roll.network.name, `obiente-net-${P1}`);
        assert.deepEqual(roll.routes, { domains: ["app.example.test"], port: 8080 });
        assert.equal(roll.quiet, false);
      },
    },
    {
      name: "a redeploy: the new build starts beside the old one, announced",
      desired: desired(deployment({ currentBuildId: B2 })),
      actual: { containers: [steady] },
      expect: (plan) => {
        const roll = rollOf(plan);
        assert.deepEqual(roll.announce, {
          status: "deploying",
          message: "starting 1 replica(s) of build fedcba9",
        });
        assert.equal(roll.replicas[0]?.name, containerName(D1, 0, B2, 0));
        assert.deepEqual(
          roll.steps.indexOf("retire") > roll.steps.indexOf("await-healthy"),
          true,
          "the old build is retired after the new one is healthy",
        );
      },
    },
    {
      name: "a restart (new generation): new names, announced",
      desired: desired(deployment({ restartGeneration: 1 })),
      actual: { containers: [steady] },
      expect: (plan) => {
        const roll = rollOf(plan);
        assert.equal(roll.replicas[0]?.name, containerName(D1, 0, B1, 1));
        assert.ok(roll.announce);
      },
    },
    {
      name: "scaled down: a quiet roll, which retires replica 1",
      desired: desired(deployment()),
      actual: { containers: [steady, container({ replica: 1 })] },
      expect: (plan) => {
        const roll = rollOf(plan);
        assert.equal(roll.quiet, true);
        assert.equal(roll.announce, undefined);
        const settled = settleRoll(roll, [steady, container({ replica: 1 })], [{ id: steady.id }]);
        assert.deepEqual(
          settled.retire.map((c) => c.id),
          [container({ replica: 1 }).id],
        );
        assert.equal(settled.status?.status, "running");
      },
    },
    {
      name: "an unhealthy replica: announced, started again",
      desired: desired(deployment()),
      actual: { containers: [{ ...steady, health: "unhealthy" }] },
      expect: (plan) => {
        const roll = rollOf(plan);
        assert.ok(roll.announce);
        assert.equal(roll.replicas[0]?.running, false);
      },
    },
    {
      name: "a crash left it deploying with its replica up: a roll that says running again",
      desired: desired(deployment({ status: "deploying" })),
      actual: { containers: [steady], recorded: recordsOf([steady], ["app.example.test"]) },
      expect: (plan) => {
        const roll = rollOf(plan);
        assert.equal(roll.quiet, false);
        assert.equal(settleRoll(roll, [steady], [{ id: steady.id }]).status?.status, "running");
      },
    },
    {
      name: "a domain verified since: a quiet roll that routes it",
      desired: desired(deployment(), { domains: ["app.example.test", "www.example.test"] }),
      actual: { containers: [steady], recorded: recordsOf([steady], ["app.example.test"]) },
      expect: (plan) => {
        const roll = rollOf(plan);
        assert.equal(roll.quiet, true);
        assert.deepEqual(settleRoll(roll, [steady], [{ id: steady.id }]), { retire: [] });
      },
    },
    {
      name: "cluster, first deploy: two slots to place, nowhere to avoid",
      desired: desired(deployment({ replicas: 2, strategy: "spread" })),
      actual: { containers: [] },
      nodes: { unusable: [], down: [] },
      expect: (plan) =>
        assert.deepEqual(plan, {
          action: "place",
          request: {
            deploymentId: D1,
            strategy: "spread",
            slots: [0, 1],
            cpuMillicores: 500,
            memoryMb: 256,
            existing: [],
            avoidNodes: [],
          },
        }),
    },
    {
      name: "cluster, placed: each slot on its node, named for it",
      desired: desired(deployment({ replicas: 2 }), { placed: { ok: true, nodes: [N2, N1] } }),
      actual: { containers: [] },
      nodes: { unusable: [], down: [] },
      expect: (plan) =>
        assert.deepEqual(rollOf(plan).replicas, [
          { replica: 0, name: containerName(D1, 0, B1, 0, N2), nodeId: N2, running: false },
          { replica: 1, name: containerName(D1, 1, B1, 0, N1), nodeId: N1, running: false },
        ]),
    },
    {
      name: "cluster, a replica on a drained node: placed again, avoiding that node",
      desired: desired(deployment({ replicas: 2 })),
      actual: {
        containers: [container({ nodeId: N1 }), container({ replica: 1, nodeId: N2 })],
      },
      nodes: { unusable: [N1], down: [] },
      expect: (plan) => {
        assert.equal(plan.action, "place");
        if (plan.action !== "place") return;
        assert.deepEqual(plan.request.slots, [0]);
        assert.deepEqual(plan.request.existing, [N2]);
        assert.deepEqual(plan.request.avoidNodes, [N1]);
      },
    },
    {
      name: "cluster, moving off a drained node with nowhere to go: tried again later",
      desired: desired(deployment(), { placed: { ok: false, message: "no node fits" } }),
      actual: { containers: [container({ nodeId: N1 })] },
      nodes: { unusable: [N1], down: [] },
      expect: (plan) =>
        assert.deepEqual(plan, {
          action: "retry",
          message: `cannot move deployment ${D1} off its nodes: no node fits`,
        }),
    },
    {
      name: "cluster, its node is down and nothing fits: failed (it serves no more)",
      desired: desired(deployment(), { placed: { ok: false, message: "no node fits" } }),
      actual: { containers: [container({ nodeId: N1 })] },
      nodes: { unusable: [N1], down: [N1] },
      expect: (plan) =>
        assert.deepEqual(plan, {
          action: "fail",
          status: { status: "failed", message: "cannot be placed: no node fits" },
        }),
    },
    {
      name: "cluster, a new deployment that fits nowhere: failed",
      desired: desired(deployment(), { placed: { ok: false, message: "no node fits" } }),
      actual: { containers: [] },
      nodes: { unusable: [], down: [] },
      expect: (plan) => assert.equal(plan.action, "fail"),
    },
    {
      name: "cluster, a stopped service and a running one for one slot: the running one stays",
      desired: desired(deployment()),
      actual: {
        containers: [container({ nodeId: N1, state: "exited" }), container({ nodeId: N2 })],
      },
      nodes: { unusable: [], down: [] },
      expect: (plan) => {
        const roll = rollOf(plan);
        assert.deepEqual(roll.replicas, [
          { replica: 0, name: containerName(D1, 0, B1, 0, N2), nodeId: N2, running: true },
        ]);
      },
    },
  ];

  for (const c of cases) {
    test(c.name, () => c.expect(planDeployment(c.desired, c.actual, c.nodes, NOW)));
  }

  test("a roll that failed says which step", () => {
    assert.equal(rollFailed("start", "boom").message, "the new version could not be started: boom");
    assert.equal(
      rollFailed("health", "boom").message,
      "the new version did not become healthy: boom",
    );
  });
});

describe("planFailedStart: what follows a roll whose new version did not come up", () => {
  const lost = "image sha256:0123 not found on node n2 (ensureImage first): No such image";
  const failure = (overrides: Partial<StartFailure> = {}): StartFailure => ({
    phase: "start",
    message: lost,
    imageMissing: true,
    ...overrides,
  });
  const rebuild: FailedStartPlan = {
    action: "rebuild",
    lostBuildId: B1,
    commit: "abcdef0123",
    status: {
      status: "queued",
      message: "the image of build abcdef0 is on no reachable node: building commit abcdef0 again",
    },
  };
  const cases: Array<{
    name: string;
    build: BuildFacts;
    failure: StartFailure;
    builtNow: boolean;
    expect: FailedStartPlan;
  }> = [
    {
      name: "its image on no reachable engine: its commit is built again",
      build: build(),
      failure: failure(),
      builtNow: false,
      expect: rebuild,
    },
    {
      name: "its image missing once the replica was to become healthy (a Swarm task): built again",
      build: build(),
      failure: failure({ phase: "health" }),
      builtNow: false,
      expect: rebuild,
    },
    {
      name: "its image missing right after it was built: failed, not built again (no loop)",
      build: build(),
      failure: failure(),
      builtNow: true,
      expect: {
        action: "fail",
        status: { status: "failed", message: `the new version could not be started: ${lost}` },
      },
    },
    {
      name: "its image missing and its commit unknown: failed (the branch's head is another version)",
      build: build(B1, { commitSha: "" }),
      failure: failure(),
      builtNow: false,
      expect: {
        action: "fail",
        status: { status: "failed", message: `the new version could not be started: ${lost}` },
      },
    },
    {
      name: "another failure to start (a bad network, no engine): failed",
      build: build(),
      failure: failure({ message: "network obiente-p1 not found", imageMissing: false }),
      builtNow: false,
      expect: {
        action: "fail",
        status: {
          status: "failed",
          message: "the new version could not be started: network obiente-p1 not found",
        },
      },
    },
    {
      name: "not healthy in time: failed, the build is not blamed on its image",
      build: build(),
      failure: failure({ phase: "health", message: "timed out", imageMissing: false }),
      builtNow: false,
      expect: {
        action: "fail",
        status: { status: "failed", message: "the new version did not become healthy: timed out" },
      },
    },
  ];

  for (const c of cases) {
    test(c.name, () => assert.deepEqual(planFailedStart(c.build, c.failure, c.builtNow), c.expect));
  }

  test("builds again only the lost build's own commit, and only when its image is missing", () => {
    fc.assert(
      fc.property(
        fc.record({
          commitSha: fc.oneof(fc.constant(""), fc.stringMatching(/^[0-9a-f]{40}$/)),
          phase: fc.constantFrom("start" as const, "health" as const),
          imageMissing: fc.boolean(),
          builtNow: fc.boolean(),
        }),
        ({ commitSha, phase, imageMissing, builtNow }) => {
          const b = build(B2, { commitSha });
          const next = planFailedStart(b, { phase, message: "x", imageMissing }, builtNow);
          const rebuilds = imageMissing && !builtNow && commitSha !== "";
          assert.equal(next.action, rebuilds ? "rebuild" : "fail");
          if (next.action === "rebuild") {
            assert.equal(next.commit, commitSha);
            assert.equal(next.lostBuildId, B2);
          } else {
            assert.equal(next.status.status, "failed");
          }
        },
      ),
    );
  });
});

describe("planFailedStart: which failures to start are tried again", () => {
  const retry: FailedStartPlan = { action: "retry" };
  const failed = (message: string): FailedStartPlan => ({
    action: "fail",
    status: { status: "failed", message: `the new version could not be started: ${message}` },
  });
  const cases: Array<{ name: string; failure: StartFailure; expect: FailedStartPlan }> = [
    {
      name: "a host port taken on the node (resource_exhausted): tried again, status kept",
      failure: {
        phase: "start",
        message: "could not start: port is already allocated",
        imageMissing: false,
        kind: "resource_exhausted",
      },
      expect: retry,
    },
    {
      name: "a Swarm manager that did not answer in time (deadline_exceeded): tried again",
      failure: {
        phase: "start",
        message: "create service: no answer within 10000 ms",
        imageMissing: false,
        kind: "deadline_exceeded",
      },
      expect: retry,
    },
    {
      name: "no answer in time while waiting until healthy (deadline_exceeded): tried again",
      failure: {
        phase: "health",
        message: "inspect task: no answer within 10000 ms",
        imageMissing: false,
        kind: "deadline_exceeded",
      },
      expect: retry,
    },
    {
      name: "transient, though its image was said missing: tried again, not built again",
      failure: { phase: "start", message: "busy", imageMissing: true, kind: "deadline_exceeded" },
      expect: retry,
    },
    {
      name: "a replica placed on a node the Swarm says is down (node_unavailable): tried again",
      failure: {
        phase: "start",
        message: "node node3 is down/active: nothing new is placed on it",
        imageMissing: false,
        kind: "unavailable",
        nodeUnavailable: true,
      },
      expect: retry,
    },
    {
      name: "an engine that cannot be reached (unavailable): failed, saying so",
      failure: { phase: "start", message: "engine down", imageMissing: false, kind: "unavailable" },
      expect: failed("engine down"),
    },
    {
      name: "a bad configuration (invalid_argument): failed",
      failure: {
        phase: "start",
        message: "bad env",
        imageMissing: false,
        kind: "invalid_argument",
      },
      expect: failed("bad env"),
    },
    {
      name: "an error of no known kind: failed",
      failure: { phase: "start", message: "socket hang up", imageMissing: false },
      expect: failed("socket hang up"),
    },
  ];

  for (const c of cases) {
    test(c.name, () => assert.deepEqual(planFailedStart(build(), c.failure, false), c.expect));
  }

  test("a transient failure is tried again whatever the build and when it was built", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          ...Object.entries(TRANSIENT_START_FAILURE).flatMap(([kind, transient]) =>
            transient ? [kind as DomainErrorKind] : [],
          ),
        ),
        fc.constantFrom("start" as const, "health" as const),
        fc.boolean(),
        fc.boolean(),
        (kind, phase, imageMissing, builtNow) => {
          const failure = { phase, message: "x", imageMissing, kind };
          assert.deepEqual(planFailedStart(build(), failure, builtNow), retry);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Properties, on a model of the engine and the records that carries plans out as the deployer does.

interface World {
  desired: DesiredDeployment;
  containers: ContainerRef[];
  recorded: RecordedState;
  nodes: NodeHealth | undefined;
  /** Usable nodes, where the model's scheduler places. */
  usable: string[];
  /** The health the next started containers reach. */
  newHealth: "healthy" | "unhealthy";
  gone: boolean;
  nextPort: number;
}

/** Containers that serve: running, healthy or without a health check. */
const serving = (w: World) =>
  w.containers.filter(
    (c) => c.state === "running" && (c.health === "healthy" || c.health === "none"),
  );

/**
 * Carries out one plan on the world, as the deployer does; calls `observe` after every step of a
 * roll. Returns whether the plan completed (a roll whose new version came up, a stop, …).
 */
function apply(w: World, plan: DeploymentPlan, observe: (w: World) => void = () => {}): boolean {
  const d = w.desired.deployment;
  const setStatus = (status: string) => {
    w.desired = { ...w.desired, deployment: { ...w.desired.deployment, status } };
  };
  switch (plan.action) {
    case "none":
    case "retry":
      return true;
    case "fail":
      setStatus(plan.status.status);
      return false;
    case "forget":
    case "remove":
      w.containers = [];
      w.recorded = { locations: [], routes: [] };
      w.gone = true;
      return true;
    case "stop":
      w.containers = w.containers.filter((c) => !plan.retire.some((r) => r.id === c.id));
      w.recorded = { ...w.recorded, locations: [] };
      if (plan.status) setStatus(plan.status.status);
      return true;
    case "build": {
      const next = d.currentBuildId === B1 ? B2 : B1;
      w.desired = {
        ...w.desired,
        deployment: { ...d, currentBuildId: next },
        build: build(next),
      };
      return true;
    }
    case "place": {
      const nodes = plan.request.slots.map((_, i) => w.usable[i % Math.max(1, w.usable.length)]);
      w.desired = {
        ...w.desired,
        placed:
          w.usable.length > 0
            ? { ok: true, nodes: nodes as string[] }
            : { ok: false, message: "no node fits" },
      };
      return true;
    }
    case "roll":
      return applyRoll(w, plan, observe);
  }
}

function applyRoll(w: World, plan: RollPlan, observe: (w: World) => void): boolean {
  const started: ContainerRef[] = [];
  const fresh = new Set<string>();
  let settled: StatusChange | undefined;
  for (const step of plan.steps) {
    switch (step) {
      case "announce":
        if (plan.announce) {
          const status = plan.announce.status;
          w.desired = { ...w.desired, deployment: { ...w.desired.deployment, status } };
        }
        break;
      case "network":
        break;
      case "run":
        for (const r of plan.replicas) {
          const found = w.containers.find((c) => c.name === r.name);
          if (found) {
            // The runtime starts a stopped container of that name again.
            found.state = "running";
            started.push(found);
            continue;
          }
          const c: ContainerRef = {
            id: `c-${r.name}`,
            name: r.name,
            state: "running",
            health: "starting",
            labels: plan.labels[r.replica] ?? {},
            hostPort: w.nextPort++,
            ...(r.nodeId !== undefined ? { nodeId: r.nodeId } : {}),
          };
          w.containers.push(c);
          started.push(c);
          fresh.add(c.id);
        }
        break;
      case "await-healthy":
        // Those still starting end healthy or not; an unhealthy one that ran stays so.
        for (const c of started) if (c.health === "starting") c.health = w.newHealth;
        if (started.some((c) => c.health === "unhealthy" || c.health === "starting")) {
          // The new version did not come up: it goes, what served keeps serving.
          w.containers = w.containers.filter((c) => !fresh.has(c.id));
          w.desired = {
            ...w.desired,
            deployment: { ...w.desired.deployment, status: "failed" },
          };
          observe(w);
          return false;
        }
        break;
      case "record": {
        const domains = plan.routes.domains;
        const kept = new Set(started.map((c) => c.id));
        w.recorded = {
          locations: [
            ...w.recorded.locations.filter((l) => !kept.has(l.containerId)),
            ...started.map((c) => ({ containerId: c.id, port: c.hostPort ?? 0 })),
          ],
          routes: [
            ...(domains.length > 0
              ? []
              : w.recorded.routes.filter((r) => !domains.includes(r.domain))),
            ...domains.map((domain) => ({ domain, targetPort: plan.routes.port })),
          ],
        };
        break;
      }
      case "route":
        break;
      case "retire": {
        const { retire, status } = settleRoll(plan, w.containers, started);
        settled = status;
        const gone = new Set(retire.map((c) => c.id));
        w.containers = w.containers.filter((c) => !gone.has(c.id));
        w.recorded = {
          ...w.recorded,
          locations: w.recorded.locations.filter((l) => !gone.has(l.containerId)),
        };
        break;
      }
      case "settle":
        if (settled) {
          w.desired = {
            ...w.desired,
            deployment: { ...w.desired.deployment, status: settled.status },
          };
        }
        break;
    }
    observe(w);
  }
  return true;
}

const plan = (w: World) =>
  planDeployment(
    w.desired,
    { containers: w.containers.map((c) => ({ ...c })), recorded: w.recorded },
    w.nodes,
    NOW,
  );

const NODES = [N1, N2, N3];

const worldArb = fc
  .record({
    cluster: fc.boolean(),
    desiredState: fc.constantFrom<DeploymentFacts["desiredState"]>(
      "running",
      "running",
      "stopped",
      "deleted",
    ),
    status: fc.constantFrom("queued", "building", "deploying", "running", "stopped", "failed"),
    currentBuildId: fc.constantFrom<string | null>(B1, B2, null),
    replicas: fc.integer({ min: 1, max: 3 }),
    restartGeneration: fc.integer({ min: 0, max: 2 }),
    domains: fc.subarray(["a.example.test", "b.example.test"]),
    unusable: fc.subarray(NODES),
    downToo: fc.boolean(),
    newHealth: fc.constantFrom<"healthy" | "unhealthy">("healthy", "healthy", "unhealthy"),
    containers: fc.array(
      fc.record({
        replica: fc.integer({ min: 0, max: 3 }),
        buildId: fc.constantFrom(B1, B2),
        generation: fc.integer({ min: 0, max: 2 }),
        node: fc.constantFrom(...NODES),
        state: fc.constantFrom("running", "running", "exited", "created"),
        health: fc.constantFrom("none", "healthy", "unhealthy", "starting"),
      }),
      { maxLength: 6 },
    ),
    recordedAll: fc.boolean(),
  })
  .map((g): World => {
    const d = deployment({
      desiredState: g.desiredState,
      status: g.status,
      currentBuildId: g.currentBuildId,
      replicas: g.replicas,
      restartGeneration: g.restartGeneration,
    });
    const byName = new Map<string, ContainerRef>();
    g.containers.forEach((c, i) => {
      const made = container({
        replica: c.replica,
        buildId: c.buildId,
        generation: c.generation,
        state: c.state,
        health: c.health,
        hostPort: 21_000 + i,
        ...(g.cluster ? { nodeId: c.node } : {}),
      });
      if (!byName.has(made.name)) byName.set(made.name, made);
    });
    const containers = [...byName.values()];
    return {
      desired: desired(d, { domains: g.domains }),
      containers,
      recorded: g.recordedAll
        ? recordsOf(
            containers.filter((c) => c.state === "running"),
            g.domains,
          )
        : { locations: [], routes: [] },
      nodes: g.cluster ? { unusable: g.unusable, down: g.downToo ? g.unusable : [] } : undefined,
      usable: NODES.filter((n) => !g.unusable.includes(n)),
      newHealth: g.newHealth,
      gone: false,
      nextPort: 30_000,
    };
  });

/**
 * Plans and applies until a plan is carried out that is not a step towards another (build,
 * place), or one fails. `completed`: the last plan was carried out in full.
 */
function converge(
  w: World,
  observe?: (w: World) => void,
): { plans: DeploymentPlan[]; completed: boolean } {
  const plans: DeploymentPlan[] = [];
  for (let i = 0; i < 4 && !w.gone; i++) {
    const p = plan(w);
    plans.push(p);
    if (!apply(w, p, observe)) return { plans, completed: false };
    if (p.action !== "build" && p.action !== "place") break;
  }
  return { plans, completed: true };
}

describe("planDeployment, properties", () => {
  test("never retires the last serving replica before its replacement is healthy", () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        fc.pre(w.desired.deployment.desiredState === "running");
        const before = serving(w).length;
        converge(w, (now) => {
          if (before > 0) {
            assert.ok(serving(now).length > 0, "something serves at every step");
          }
        });
      }),
      { numRuns: 500 },
    );
  });

  test("applying a plan and planning again gives an empty plan", () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { plans, completed } = converge(w);
        const last = plans.at(-1);
        if (!completed || w.gone || last === undefined) return;
        if (last.action !== "roll" && last.action !== "stop") return;
        assert.deepEqual(plan(w), { action: "none" }, JSON.stringify(plans));
      }),
      { numRuns: 500 },
    );
  });

  test("no slot ever gets two replicas", () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { plans, completed } = converge(w);
        for (const p of plans) {
          if (p.action !== "roll") continue;
          const slots = p.replicas.map((r) => r.replica);
          assert.deepEqual(
            slots,
            Array.from({ length: w.desired.deployment.replicas }, (_, i) => i),
            "one replica for each slot, in order",
          );
          assert.equal(new Set(p.replicas.map((r) => r.name)).size, slots.length);
        }
        const last = plans.at(-1);
        if (last?.action === "roll" && completed) {
          // Once rolled, each slot has exactly one container.
          for (const r of last.replicas) {
            assert.equal(w.containers.filter((c) => c.name === r.name).length, 1);
          }
          assert.equal(w.containers.length, w.desired.deployment.replicas);
        }
      }),
      { numRuns: 500 },
    );
  });

  test("is a pure function: the same inputs, in any order, give the same plan", () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const once = plan(w);
        const reversed = planDeployment(
          w.desired,
          { containers: [...w.containers].reverse(), recorded: w.recorded },
          w.nodes,
          NOW,
        );
        // The order of what to retire follows the engine's listing; the decisions do not.
        const strip = (p: DeploymentPlan) =>
          p.action === "remove" || p.action === "stop"
            ? { ...p, retire: p.retire.map((c) => c.id).sort() }
            : p;
        assert.deepEqual(strip(reversed), strip(once));
      }),
    );
  });
});

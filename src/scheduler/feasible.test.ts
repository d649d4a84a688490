import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createContext, recordPlacement } from "./context.js";
import { FEASIBILITY_CHECKS, failedCheck, passesAll } from "./feasible.js";
import { FIXTURE_NOW, node, request, snapshotOf } from "./fixtures.js";
import { MIB, type NodeSnapshot, type PlacementRequest } from "./snapshot.js";

const GIB = 1024 * MIB;
const ago = (ms: number) => new Date(FIXTURE_NOW.getTime() - ms);

/** The first check the node fails, and why; "feasible" when it passes them all. */
function verdict(n: NodeSnapshot, req: Partial<PlacementRequest> = {}, placedBefore = 0) {
  const ctx = createContext(snapshotOf([n]), request(req), FIXTURE_NOW, {});
  for (let p = 0; p < placedBefore; p++) recordPlacement(ctx, 0);
  const failed = FEASIBILITY_CHECKS.find((check) => !check.passes(n, 0, ctx));
  return failed ? `${failed.name}: ${failed.reason(n, 0, ctx)}` : "feasible";
}

describe("feasibility checks", () => {
  const cases: [string, Partial<NodeSnapshot>, Partial<PlacementRequest>, string][] = [
    ["a typical worker", {}, {}, "feasible"],
    ["draining", { availability: "drain" }, {}, "active: node is draining"],
    ["down", { availability: "down" }, {}, "active: node is down"],
    ["never heard from", { lastHeartbeat: null }, {}, "healthy: no heartbeat received yet"],
    [
      "silent past the timeout",
      { lastHeartbeat: ago(45_000) },
      {},
      "healthy: last heartbeat 45s ago, over the 30s timeout",
    ],
    ["heard from exactly at the timeout", { lastHeartbeat: ago(30_000) }, {}, "feasible"],
    ["a heartbeat from a clock ahead of ours", { lastHeartbeat: ago(-5_000) }, {}, "feasible"],
    [
      "no compute label",
      { labels: { zone: "fra1-a" } },
      {},
      "labels: lacks the label compute=true",
    ],
    [
      "compute=false",
      { labels: { compute: "false" } },
      {},
      "labels: label compute=false, needs compute=true",
    ],
    [
      "lacks one of two required labels",
      { labels: { compute: "true" } },
      { requiredLabels: { compute: "true", gpu: "a100" } },
      "labels: lacks the label gpu=a100",
    ],
    [
      "carries both required labels",
      { labels: { compute: "true", gpu: "a100", zone: "fra1-b" } },
      { requiredLabels: { compute: "true", gpu: "a100" } },
      "feasible",
    ],
    ["no label required", { labels: {} }, { requiredLabels: {} }, "feasible"],
    [
      "at max_deployments",
      { deploymentCount: 50, maxDeployments: 50 },
      {},
      "max-deployments: at its limit of 50 deployments",
    ],
    ["one below max_deployments", { deploymentCount: 49, maxDeployments: 50 }, {}, "feasible"],
    [
      "CPU reserved by others",
      { cpuCores: 2, reservedCpuMillicores: 1800 },
      {},
      "cpu: not enough CPU: 200m free, 500m requested",
    ],
    [
      "CPU overcommitted already",
      { cpuCores: 2, reservedCpuMillicores: 2500 },
      { cpuMillicores: 0 },
      "cpu: not enough CPU: overcommitted by 500m, 0m requested",
    ],
    ["CPU that fits exactly", { cpuCores: 2, reservedCpuMillicores: 1500 }, {}, "feasible"],
    ["fractional cores", { cpuCores: 1.5, reservedCpuMillicores: 1000 }, {}, "feasible"],
    [
      "memory reserved by others",
      { memoryBytes: 8 * GIB, reservedMemoryBytes: 8 * GIB - 256 * MIB },
      {},
      "memory: not enough memory: 256 MiB free, 512 MiB requested",
    ],
    [
      "memory that fits exactly",
      { memoryBytes: 8 * GIB, reservedMemoryBytes: 8 * GIB - 512 * MIB },
      {},
      "feasible",
    ],
    [
      "the node a migration leaves",
      { id: "node-old" },
      { avoidNodes: ["node-old"] },
      "avoid: avoided: the deployment is moving off this node",
    ],
    ["avoiding another node", { id: "node-a" }, { avoidNodes: ["node-old"] }, "feasible"],
    [
      "drained and unlabelled: the first check speaks",
      { availability: "drain", labels: {} },
      {},
      "active: node is draining",
    ],
  ];
  for (const [name, overrides, req, expected] of cases) {
    it(name, () => assert.equal(verdict(node({ id: "node-a", ...overrides }), req), expected));
  }

  it("counts the replicas this request already placed on the node", () => {
    const roomForTwo = node({
      id: "node-a",
      memoryBytes: 4 * GIB,
      reservedMemoryBytes: 3 * GIB,
      deploymentCount: 10,
      maxDeployments: 12,
    });
    assert.equal(verdict(roomForTwo, {}, 1), "feasible");
    assert.equal(
      verdict(roomForTwo, {}, 2),
      "max-deployments: at its limit of 12 deployments (2 placed by this request)",
    );
    assert.equal(
      verdict({ ...roomForTwo, maxDeployments: 50 }, {}, 2),
      "memory: not enough memory: 0 MiB free, 512 MiB requested",
    );
  });

  /** A node and a request of any kind, and the context a pass would see it in. */
  const situations = fc
    .record({
      availability: fc.constantFrom("active", "drain", "down"),
      heartbeatAge: fc.option(fc.integer({ min: -10_000, max: 120_000 })),
      compute: fc.constantFrom("true", "false", undefined),
      cpuCores: fc.integer({ min: 0, max: 32 }),
      reservedCpuMillicores: fc.integer({ min: 0, max: 40_000 }),
      memoryGib: fc.integer({ min: 0, max: 128 }),
      reservedMemoryMib: fc.integer({ min: 0, max: 140_000 }),
      maxDeployments: fc.integer({ min: 0, max: 100 }),
      deploymentCount: fc.integer({ min: 0, max: 110 }),
      avoided: fc.boolean(),
      placedBefore: fc.integer({ min: 0, max: 3 }),
      cpuMillicores: fc.integer({ min: 0, max: 4000 }),
      memoryMb: fc.integer({ min: 0, max: 8192 }),
    })
    .map((a) => {
      const n = node({
        id: "node-a",
        availability: a.availability,
        lastHeartbeat: a.heartbeatAge === null ? null : ago(a.heartbeatAge),
        labels: a.compute === undefined ? {} : { compute: a.compute },
        cpuCores: a.cpuCores,
        reservedCpuMillicores: a.reservedCpuMillicores,
        memoryBytes: a.memoryGib * GIB,
        reservedMemoryBytes: a.reservedMemoryMib * MIB,
        maxDeployments: a.maxDeployments,
        deploymentCount: a.deploymentCount,
      });
      const req = request({
        cpuMillicores: a.cpuMillicores,
        memoryMb: a.memoryMb,
        avoidNodes: a.avoided ? ["node-a"] : [],
      });
      const ctx = createContext(snapshotOf([n]), req, FIXTURE_NOW, {});
      for (let p = 0; p < a.placedBefore; p++) recordPlacement(ctx, 0);
      return { n, ctx };
    });

  it("passesAll agrees with the checks one by one", () => {
    fc.assert(
      fc.property(situations, ({ n, ctx }) => {
        const oneByOne = FEASIBILITY_CHECKS.every((check) => check.passes(n, 0, ctx));
        assert.equal(passesAll(n, 0, ctx), oneByOne);
      }),
    );
  });

  it("failedCheck names the first check that fails, as the list does", () => {
    fc.assert(
      fc.property(situations, ({ n, ctx }) => {
        const first = FEASIBILITY_CHECKS.findIndex((check) => !check.passes(n, 0, ctx));
        assert.equal(failedCheck(n, 0, ctx), first);
      }),
      // A node fails a late check only after passing the earlier ones: enough runs to see each.
      { numRuns: 5_000 },
    );
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FIXTURE_NOW, node, request, snapshotOf } from "./fixtures.js";
import { type ScheduleResult, schedule } from "./schedule.js";
import {
  MIB,
  type NodeSnapshot,
  type PlacementRequest,
  type SchedulerState,
  type StrategyName,
} from "./snapshot.js";

const GIB = 1024 * MIB;

function placed(result: ScheduleResult): string[] {
  assert.ok(result.ok, result.ok ? "" : result.message);
  return result.placements.map((p) => p.nodeId);
}

function run(
  nodes: NodeSnapshot[],
  strategy: StrategyName,
  req: Partial<PlacementRequest> = {},
  state: SchedulerState = {},
) {
  return schedule(snapshotOf(nodes), request(req), strategy, FIXTURE_NOW, state);
}

/** Three ordinary workers at different loads. */
const workers = () => [
  node({ id: "node-a", cpuPercent: 62, deploymentCount: 20 }),
  node({ id: "node-b", cpuPercent: 9, deploymentCount: 4 }),
  node({ id: "node-c", cpuPercent: 35, deploymentCount: 11 }),
];

describe("schedule", () => {
  describe("placement by strategy", () => {
    const cases: [string, StrategyName, NodeSnapshot[], Partial<PlacementRequest>, string[]][] = [
      ["least-loaded takes the emptiest node", "least-loaded", workers(), {}, ["node-b"]],
      [
        "least-loaded spreads replicas from the emptiest up",
        "least-loaded",
        workers(),
        { replicas: 3 },
        ["node-b", "node-c", "node-a"],
      ],
      [
        "round-robin starts at the first id",
        "round-robin",
        workers(),
        { replicas: 2 },
        ["node-a", "node-b"],
      ],
      [
        "resource-based packs onto the node it fills best",
        "resource-based",
        [
          node({
            id: "big",
            cpuCores: 16,
            memoryBytes: 64 * GIB,
            reservedCpuMillicores: 2000,
            reservedMemoryBytes: 4 * GIB,
          }),
          node({
            id: "snug",
            cpuCores: 2,
            memoryBytes: 4 * GIB,
            reservedCpuMillicores: 1250,
            reservedMemoryBytes: 3 * GIB,
          }),
        ],
        {},
        ["snug"],
      ],
      [
        "resource-based goes to the bigger node when the snug one cannot fit",
        "resource-based",
        [
          node({
            id: "big",
            cpuCores: 16,
            memoryBytes: 64 * GIB,
            reservedCpuMillicores: 2000,
            reservedMemoryBytes: 4 * GIB,
          }),
          node({
            id: "snug",
            cpuCores: 2,
            memoryBytes: 4 * GIB,
            reservedCpuMillicores: 1250,
            reservedMemoryBytes: 3 * GIB,
          }),
        ],
        { memoryMb: 2048 },
        ["big"],
      ],
    ];
    for (const [name, strategy, nodes, req, expected] of cases) {
      it(name, () => assert.deepEqual(placed(run(nodes, strategy, req)), expected));
    }
  });

  describe("round-robin", () => {
    it("cycles through the nodes, call after call, with the cursor it returns", () => {
      let state: SchedulerState = {};
      const order: string[] = [];
      for (let call = 0; call < 4; call++) {
        const result = run(workers(), "round-robin", {}, state);
        order.push(...placed(result));
        state = result.state;
      }
      assert.deepEqual(order, ["node-a", "node-b", "node-c", "node-a"]);
      assert.deepEqual(state, { roundRobinCursor: "node-a" });
    });

    it("resumes from a persisted cursor, as after a restart or on another controller", () => {
      const result = run(workers(), "round-robin", { replicas: 2 }, { roundRobinCursor: "node-b" });
      assert.deepEqual(placed(result), ["node-c", "node-a"]);
      assert.deepEqual(result.state, { roundRobinCursor: "node-a" });
    });

    it("skips nodes that cannot take the replica", () => {
      const nodes = workers().map((n) =>
        n.id === "node-c" ? { ...n, availability: "drain" as const } : n,
      );
      assert.deepEqual(placed(run(nodes, "round-robin", {}, { roundRobinCursor: "node-b" })), [
        "node-a",
      ]);
    });

    it("other strategies leave the cursor where it was", () => {
      for (const strategy of ["least-loaded", "resource-based"] as const) {
        assert.deepEqual(run(workers(), strategy, {}, { roundRobinCursor: "node-b" }).state, {
          roundRobinCursor: "node-b",
        });
      }
    });
  });

  describe("nodes that cannot take work", () => {
    const nodes = [
      node({ id: "node-drain", availability: "drain", cpuPercent: 0 }),
      node({ id: "node-down", availability: "down", cpuPercent: 0 }),
      node({
        id: "node-silent",
        lastHeartbeat: new Date(FIXTURE_NOW.getTime() - 95_000),
        cpuPercent: 0,
      }),
      node({ id: "node-manager", labels: { role: "manager" }, cpuPercent: 0 }),
      node({ id: "node-full", deploymentCount: 50, maxDeployments: 50, cpuPercent: 0 }),
      node({ id: "node-ok", cpuPercent: 80 }),
    ];

    for (const strategy of ["least-loaded", "round-robin", "resource-based"] as const) {
      it(`${strategy}: only the node that can take it, every other one saying why`, () => {
        const result = run(nodes, strategy);
        assert.deepEqual(placed(result), ["node-ok"]);
        assert.deepEqual(
          result.explanations.map((e) => [
            e.nodeId,
            e.constraint ?? "",
            e.reason ?? "",
            e.selected,
          ]),
          [
            ["node-down", "active", "node is down", false],
            ["node-drain", "active", "node is draining", false],
            ["node-full", "max-deployments", "at its limit of 50 deployments", false],
            ["node-manager", "labels", "lacks the label compute=true", false],
            ["node-ok", "", "", true],
            ["node-silent", "healthy", "last heartbeat 95s ago, over the 30s timeout", false],
          ],
        );
      });
    }
  });

  describe("spread", () => {
    it("puts replicas on distinct nodes while there are enough", () => {
      const result = run(workers(), "least-loaded", { replicas: 3 });
      assert.equal(new Set(placed(result)).size, 3);
    });

    it("shares nodes when there are fewer feasible nodes than replicas, evenly", () => {
      const result = run(workers().slice(0, 2), "least-loaded", { replicas: 5 });
      assert.deepEqual(placed(result), ["node-b", "node-a", "node-b", "node-a", "node-b"]);
    });

    it("steers away from nodes where replicas already run", () => {
      const result = run(workers(), "least-loaded", { replicas: 1, existing: ["node-b"] });
      assert.deepEqual(placed(result), ["node-c"]);
    });

    it("fills a node that still has room when the others are full", () => {
      const nodes = [
        node({ id: "node-a", memoryBytes: 8 * GIB, reservedMemoryBytes: 8 * GIB - 512 * MIB }),
        node({ id: "node-b", memoryBytes: 8 * GIB, reservedMemoryBytes: 0 }),
      ];
      assert.deepEqual(placed(run(nodes, "round-robin", { replicas: 4 })), [
        "node-a",
        "node-b",
        "node-b",
        "node-b",
      ]);
    });
  });

  describe("migration", () => {
    it("never places back on the node being left", () => {
      const result = run(workers(), "least-loaded", {
        avoidNodes: ["node-b"],
        existing: ["node-c"],
      });
      assert.deepEqual(placed(result), ["node-a"]);
      const avoided = result.explanations.find((e) => e.nodeId === "node-b");
      assert.equal(avoided?.constraint, "avoid");
    });
  });

  describe("when nothing fits", () => {
    const full = [
      node({ id: "node-a", memoryBytes: 8 * GIB, reservedMemoryBytes: 8 * GIB - 256 * MIB }),
      node({ id: "node-b", cpuCores: 2, reservedCpuMillicores: 2000 }),
      node({ id: "node-c", availability: "drain" }),
    ];

    it("answers infeasible, with every node's reason and a message naming them", () => {
      const result = run(full, "least-loaded", {}, { roundRobinCursor: "node-a" });
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.error, "infeasible");
      assert.equal(result.placeable, 0);
      assert.deepEqual(
        result.explanations.map((e) => [e.nodeId, e.feasible, e.constraint]),
        [
          ["node-a", false, "memory"],
          ["node-b", false, "cpu"],
          ["node-c", false, "active"],
        ],
      );
      assert.equal(
        result.message,
        "replica 1 of 1 of deployment 5f0c8a2e-3b1d-4e6f-9a7b-2c4d6e8f0a1b " +
          "(500m CPU, 512 MiB, labels compute=true) fits on no node (3 checked): " +
          "node-a: not enough memory: 256 MiB free, 512 MiB requested; " +
          "node-b: not enough CPU: 0m free, 500m requested; node-c: node is draining",
      );
      assert.deepEqual(result.state, { roundRobinCursor: "node-a" }, "the cursor does not move");
    });

    it("places nothing when only some replicas fit, and says how many would", () => {
      const roomForTwo = [
        node({ id: "node-a", memoryBytes: 8 * GIB, reservedMemoryBytes: 7 * GIB }),
        node({ id: "node-b", availability: "down" }),
      ];
      const result = run(roomForTwo, "round-robin", { replicas: 3 });
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.placeable, 2);
      assert.deepEqual(
        result.explanations.map((e) => e.reason),
        ["not enough memory: 0 MiB free, 512 MiB requested", "node is down"],
      );
      assert.match(result.message, /^replica 3 of 3 /);
      assert.deepEqual(result.state, {});
    });

    it("says so when there are no nodes", () => {
      const result = run([], "least-loaded");
      assert.equal(result.ok, false);
      assert.match(result.ok ? "" : result.message, /: there are no nodes$/);
    });
  });

  describe("explanations", () => {
    it("show each chosen node with the scores it was chosen with", () => {
      const result = run(workers(), "least-loaded", { replicas: 2 });
      const byId = Object.fromEntries(result.explanations.map((e) => [e.nodeId, e]));
      assert.equal(byId["node-b"]?.selected, true);
      assert.equal(byId["node-b"]?.scores.spread, 0, "no replica there yet when it was chosen");
      assert.equal(byId["node-c"]?.selected, true);
      assert.equal(byId["node-c"]?.scores.spread, 0);
      assert.equal(byId["node-a"]?.selected, false);
      assert.ok((byId["node-b"]?.scores.total ?? 0) > (byId["node-a"]?.scores.total ?? 1));
    });

    it("explain every node even when no replica is asked for", () => {
      const result = run(workers(), "least-loaded", { replicas: 0 });
      assert.deepEqual(placed(result), []);
      assert.deepEqual(
        result.explanations.map((e) => [e.nodeId, e.feasible, e.selected]),
        [
          ["node-a", true, false],
          ["node-b", true, false],
          ["node-c", true, false],
        ],
      );
    });

    it("can be left out, for the same placements", () => {
      const snapshot = snapshotOf(workers());
      for (const strategy of ["least-loaded", "round-robin", "resource-based"] as const) {
        const explained = schedule(snapshot, request({ replicas: 2 }), strategy, FIXTURE_NOW);
        const lean = schedule(
          snapshot,
          request({ replicas: 2 }),
          strategy,
          FIXTURE_NOW,
          {},
          { explain: false },
        );
        assert.deepEqual(lean.explanations, []);
        assert.deepEqual(placed(lean), placed(explained));
        assert.deepEqual(lean.state, explained.state);
      }
    });

    it("are always given when nothing fits", () => {
      const full = [node({ id: "node-a", availability: "down" })];
      const result = schedule(
        snapshotOf(full),
        request(),
        "least-loaded",
        FIXTURE_NOW,
        {},
        { explain: false },
      );
      assert.deepEqual(
        result.explanations.map((e) => e.reason),
        ["node is down"],
      );
    });
  });

  it("gives the same answer whatever the order of the nodes", () => {
    const forwards = run(workers(), "round-robin", { replicas: 2 }, { roundRobinCursor: "node-a" });
    const backwards = run(
      workers().reverse(),
      "round-robin",
      { replicas: 2 },
      { roundRobinCursor: "node-a" },
    );
    assert.deepEqual(placed(backwards), placed(forwards));
    assert.deepEqual(backwards.explanations, forwards.explanations);
  });
});

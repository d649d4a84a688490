import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createContext, recordPlacement } from "./context.js";
import {
  type CompactVerdicts,
  expandVerdicts,
  infeasibleMessage,
  type NodeExplanation,
  TOTAL,
  Verdicts,
} from "./explain.js";
import { FEASIBILITY_CHECKS } from "./feasible.js";
import { cluster, FIXTURE_NOW, node, request, snapshotOf } from "./fixtures.js";
import { createPipeline, evaluate } from "./pipeline.js";
import { MIB, type PlacementRequest, STRATEGY_NAMES, type StrategyName } from "./snapshot.js";

describe("Verdicts.explain", () => {
  it("gives a rejected node its constraint and reason, a feasible one its scores", () => {
    const nodes = [node({ id: "node-a", availability: "drain" }), node({ id: "node-b" })];
    const ctx = createContext(snapshotOf(nodes), request(), FIXTURE_NOW, {});
    const pipeline = createPipeline("least-loaded");
    const verdicts = new Verdicts(2, pipeline.scorers.length);
    verdicts.reject(0, 0);
    verdicts.accept(1);
    verdicts.score(1, 0, 0.75);
    verdicts.score(1, 1, 0);
    verdicts.setTotal(1, 0.75);
    assert.deepEqual(
      verdicts.explain(ctx, pipeline, (i) => i === 1),
      [
        {
          nodeId: "node-a",
          feasible: false,
          reason: "node is draining",
          constraint: "active",
          scores: {},
          selected: false,
        },
        {
          nodeId: "node-b",
          feasible: true,
          scores: { "least-loaded": 0.75, spread: 0, [TOTAL]: 0.75 },
          selected: true,
        },
      ],
    );
  });

  it("copies one node's verdict from another table", () => {
    const from = new Verdicts(2, 1);
    from.accept(1);
    from.score(1, 0, 0.5);
    from.setTotal(1, 0.5);
    const to = new Verdicts(2, 1);
    to.reject(1, 3);
    to.copyRow(from, 1);
    const ctx = createContext(
      snapshotOf([node({ id: "a" }), node({ id: "b" })]),
      request(),
      FIXTURE_NOW,
      {},
    );
    assert.deepEqual(to.explain(ctx, { checks: [], scorers: [{ name: "s" }] }, () => false)[1], {
      nodeId: "b",
      feasible: true,
      scores: { s: 0.5, total: 0.5 },
      selected: false,
    });
  });
});

/** Through JSON and back, as the placements table keeps it. */
const stored = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe("expandVerdicts", () => {
  /**
   * One pass over a generated cluster, recorded, after `placed` replicas went to its first
   * feasible nodes: the verdicts built at once (Verdicts.explain) and the compact form.
   */
  function explainedBothWays(
    strategy: StrategyName,
    req: Partial<PlacementRequest>,
    placed = 0,
    snapshot = cluster({ size: 300, seed: 11 }),
  ) {
    const ctx = createContext(snapshot, request(req), FIXTURE_NOW, {
      roundRobinCursor: snapshot.nodes[40]?.id as string,
    });
    const pipeline = createPipeline(strategy);
    const selected: number[] = [];
    for (let p = 0; p < placed; p++) {
      const i = evaluate(pipeline, ctx);
      if (i < 0) break;
      selected.push(i);
      recordPlacement(ctx, i);
    }
    const verdicts = new Verdicts(ctx.nodes.length, pipeline.scorers.length);
    evaluate(pipeline, ctx, verdicts);
    const eager = verdicts.explain(ctx, pipeline, (i) => selected.includes(i));
    return { eager, compact: verdicts.compact(ctx, pipeline, selected) };
  }

  /** Nodes one below their cap, so that a request's own replicas fill them. */
  const nearlyFull = snapshotOf(
    ["a", "b", "c"].map((id) => node({ id, deploymentCount: 49, maxDeployments: 50 })),
  );
  const avoided = cluster({ size: 300, seed: 11 }).nodes[7]?.id as string;
  // Requests that between them meet every check: the fixtures have drained, down, silent and
  // unlabelled nodes, and full ones; the rest fail on CPU, memory, the cap or the avoided node.
  const requests: [string, Partial<PlacementRequest>, number, typeof nearlyFull?][] = [
    ["a small replica", { cpuMillicores: 250, memoryMb: 256 }, 0],
    ["a large one", { cpuMillicores: 2000, memoryMb: 2048 }, 0],
    ["memory before CPU", { cpuMillicores: 100, memoryMb: 24 * 1024 }, 0],
    ["a second label", { requiredLabels: { compute: "true", size: "8c-32g" } }, 0],
    ["nowhere: nothing fits", { cpuMillicores: 500, memoryMb: 1 << 20 }, 0],
    ["after placements, moving off a node", { replicas: 4, avoidNodes: [avoided] }, 3],
    ["the cap reached by this request", { replicas: 3 }, 2, nearlyFull],
  ];
  for (const strategy of STRATEGY_NAMES) {
    for (const [name, req, placed, snapshot] of requests) {
      it(`${strategy}, ${name}: the explanation the compact form gives is the one built at once`, () => {
        const { eager, compact } = explainedBothWays(strategy, req, placed, snapshot);
        assert.deepEqual(expandVerdicts(compact), eager);
        // And as ExplainPlacement reads it: from the JSON the placements table holds.
        assert.deepEqual(expandVerdicts(stored(compact)), stored(eager));
      });
    }
  }

  it("the requests above meet every check", () => {
    const met = new Set<string>();
    for (const [, req, placed, snapshot] of requests) {
      const { eager } = explainedBothWays("least-loaded", req, placed, snapshot);
      for (const e of eager) met.add(e.reason ?? "");
    }
    const reasons = [...met].join("\n");
    for (const pattern of [
      /draining/,
      /node is down/,
      /last heartbeat/,
      /lacks the label compute=true/,
      /label size=\S+, needs size=8c-32g/,
      /at its limit of \d+ deployments \(\d+ placed by this request\)/,
      /not enough CPU/,
      /not enough memory/,
      /avoided: the deployment is moving off this node/,
    ]) {
      assert.match(reasons, pattern);
    }
  });

  it("writes each check's reason from its facts as read back from JSON", () => {
    const nodes = [
      node({ id: "a", availability: "down" }),
      node({ id: "b", lastHeartbeat: null }),
      node({ id: "c", labels: { compute: "false" } }),
      node({ id: "d", deploymentCount: 50 }),
      node({ id: "e", reservedCpuMillicores: 4200 }),
      node({ id: "f", reservedMemoryBytes: 8192 * MIB }),
      node({ id: "g" }),
    ];
    const ctx = createContext(snapshotOf(nodes), request({ avoidNodes: ["g"] }), FIXTURE_NOW, {});
    ctx.nodes.forEach((n, i) => {
      const check = FEASIBILITY_CHECKS[i] as (typeof FEASIBILITY_CHECKS)[number];
      assert.ok(!check.passes(n, i, ctx), `${n.id} fails ${check.name}`);
      const facts = stored(check.facts(n, i, ctx));
      const { cpuMillicores, memoryBytes, heartbeatTimeoutMs, requiredLabels } = ctx;
      const requestFacts = stored({
        cpuMillicores,
        memoryBytes,
        heartbeatTimeoutMs,
        requiredLabels,
      });
      assert.equal(check.describe(facts, requestFacts), check.reason(n, i, ctx), check.name);
    });
  });

  it("gives a check it no longer knows its name as the reason", () => {
    const compact: CompactVerdicts = {
      checks: ["gpu"],
      scorers: ["least-loaded"],
      request: { cpuMillicores: 0, memoryBytes: 0, heartbeatTimeoutMs: 0, requiredLabels: [] },
      nodes: ["a", "b"],
      failed: [0, -1],
      facts: [[], null],
      scores: [
        [null, 0.5],
        [null, 0.5],
      ],
      selected: [1],
    };
    assert.deepEqual(expandVerdicts(compact), [
      {
        nodeId: "a",
        feasible: false,
        reason: "gpu",
        constraint: "gpu",
        scores: {},
        selected: false,
      },
      {
        nodeId: "b",
        feasible: true,
        scores: { "least-loaded": 0.5, [TOTAL]: 0.5 },
        selected: true,
      },
    ]);
  });
});

describe("infeasibleMessage", () => {
  const rejected = (nodeId: string, constraint: string, reason: string): NodeExplanation => ({
    nodeId,
    feasible: false,
    reason,
    constraint,
    scores: {},
    selected: false,
  });

  it("names each node and its reason", () => {
    assert.equal(
      infeasibleMessage("replica 1 of 1", [
        rejected("node-a", "memory", "not enough memory: 256 MiB free, 512 MiB requested"),
        rejected("node-b", "active", "node is draining"),
      ]),
      "replica 1 of 1 fits on no node (2 checked): node-a: not enough memory: 256 MiB free, " +
        "512 MiB requested; node-b: node is draining",
    );
  });

  it("names the first ten and counts the rest by constraint", () => {
    const many = Array.from({ length: 25 }, (_, k) =>
      k % 5 === 0
        ? rejected(`node-${k}`, "active", "node is down")
        : rejected(`node-${k}`, "cpu", "not enough CPU: 100m free, 500m requested"),
    );
    const message = infeasibleMessage("replica 2 of 3", many);
    assert.match(
      message,
      /^replica 2 of 3 fits on no node \(25 checked\): node-0: node is down; node-1: /,
    );
    assert.equal(message.split("; ").length, 11);
    assert.match(message, /; and 15 more \(active: 3, cpu: 12\)$/);
  });

  it("says when there are no nodes at all", () => {
    assert.equal(infeasibleMessage("replica 1 of 1", []), "replica 1 of 1: there are no nodes");
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createContext, recordPlacement } from "./context.js";
import { Verdicts } from "./explain.js";
import { FIXTURE_NOW, node, request, snapshotOf } from "./fixtures.js";
import { leastLoaded, resourceBased, roundRobin, type Scorer, weightedTotal } from "./rank.js";
import { MIB, type NodeSnapshot, type PlacementRequest } from "./snapshot.js";
import { spread } from "./spread.js";

const GIB = 1024 * MIB;

/** Each node's score, by id, as the scorer gives it in one run over all of them. */
function scores(
  scorer: Scorer,
  nodes: NodeSnapshot[],
  options: { req?: Partial<PlacementRequest>; cursor?: string; placed?: string[] } = {},
) {
  const state = options.cursor === undefined ? {} : { roundRobinCursor: options.cursor };
  const ctx = createContext(snapshotOf(nodes), request(options.req), FIXTURE_NOW, state);
  for (const id of options.placed ?? [])
    recordPlacement(
      ctx,
      ctx.nodes.findIndex((n) => n.id === id),
    );
  return Object.fromEntries(ctx.nodes.map((n, i) => [n.id, scorer.score(n, i, ctx)]));
}

/** The ids, best first. */
const ranking = (byId: Record<string, number>) =>
  Object.entries(byId)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([id]) => id);

describe("least-loaded", () => {
  const cases: [string, Partial<NodeSnapshot>[], string[]][] = [
    [
      "lowest CPU first",
      [{ cpuPercent: 70 }, { cpuPercent: 5 }, { cpuPercent: 35 }],
      ["node-b", "node-c", "node-a"],
    ],
    [
      "at the same CPU, fewest deployments",
      [
        { cpuPercent: 12, deploymentCount: 30 },
        { cpuPercent: 12, deploymentCount: 3 },
      ],
      ["node-b", "node-a"],
    ],
    [
      "CPU is compared in whole percent: 12.2% and 11.8% are the same load",
      [
        { cpuPercent: 12.2, deploymentCount: 2 },
        { cpuPercent: 11.8, deploymentCount: 9 },
      ],
      ["node-a", "node-b"],
    ],
    [
      "a whole percent less CPU beats any number of deployments",
      [
        { cpuPercent: 10, deploymentCount: 90 },
        { cpuPercent: 11, deploymentCount: 0 },
      ],
      ["node-a", "node-b"],
    ],
  ];
  for (const [name, overrides, expected] of cases) {
    it(name, () => {
      const nodes = overrides.map((o, k) => node({ id: `node-${"abc"[k]}`, ...o }));
      assert.deepEqual(ranking(scores(leastLoaded, nodes)), expected);
    });
  }

  it("stays within (0, 1], the emptiest node scoring 1", () => {
    const byId = scores(leastLoaded, [
      node({ id: "empty", cpuPercent: 0, deploymentCount: 0 }),
      node({ id: "busy", cpuPercent: 100, deploymentCount: 99 }),
      node({ id: "odd", cpuPercent: 140, deploymentCount: 5 }),
    ]);
    assert.equal(byId.empty, 1);
    for (const score of Object.values(byId)) assert.ok(score > 0 && score <= 1, String(score));
  });

  it("counts the replicas this run placed as deployments", () => {
    const nodes = [
      node({ id: "node-a", cpuPercent: 12, deploymentCount: 3 }),
      node({ id: "node-b", cpuPercent: 12, deploymentCount: 4 }),
    ];
    assert.deepEqual(ranking(scores(leastLoaded, nodes, { placed: ["node-a", "node-a"] })), [
      "node-b",
      "node-a",
    ]);
  });
});

describe("round-robin", () => {
  const nodes = ["node-a", "node-b", "node-c", "node-d"].map((id) => node({ id }));
  const cases: [string, string | undefined, Record<string, number>][] = [
    [
      "no cursor yet: from the first id",
      undefined,
      { "node-a": 1, "node-b": 0.75, "node-c": 0.5, "node-d": 0.25 },
    ],
    [
      "the node after the cursor first",
      "node-b",
      { "node-c": 1, "node-d": 0.75, "node-a": 0.5, "node-b": 0.25 },
    ],
    [
      "wraps after the last id",
      "node-d",
      { "node-a": 1, "node-b": 0.75, "node-c": 0.5, "node-d": 0.25 },
    ],
    [
      "a cursor on a node since removed",
      "node-bb",
      { "node-c": 1, "node-d": 0.75, "node-a": 0.5, "node-b": 0.25 },
    ],
    [
      "a cursor past every id",
      "zzz",
      { "node-a": 1, "node-b": 0.75, "node-c": 0.5, "node-d": 0.25 },
    ],
  ];
  for (const [name, cursor, expected] of cases) {
    it(name, () => assert.deepEqual(scores(roundRobin, nodes, { cursor }), expected));
  }

  it("moves past each node this run placed on", () => {
    assert.deepEqual(ranking(scores(roundRobin, nodes, { cursor: "node-a", placed: ["node-b"] })), [
      "node-c",
      "node-d",
      "node-a",
      "node-b",
    ]);
  });
});

describe("resource-based", () => {
  it("prefers the node left with the least free CPU and memory", () => {
    const byId = scores(resourceBased, [
      node({
        id: "roomy",
        cpuCores: 32,
        memoryBytes: 128 * GIB,
        reservedCpuMillicores: 0,
        reservedMemoryBytes: 0,
      }),
      node({
        id: "snug",
        cpuCores: 2,
        memoryBytes: 4 * GIB,
        reservedCpuMillicores: 1000,
        reservedMemoryBytes: 3 * GIB,
      }),
      node({
        id: "half",
        cpuCores: 4,
        memoryBytes: 8 * GIB,
        reservedCpuMillicores: 2000,
        reservedMemoryBytes: 4 * GIB,
      }),
    ]);
    assert.deepEqual(ranking(byId), ["snug", "half", "roomy"]);
  });

  const cases: [string, Partial<NodeSnapshot>, number][] = [
    [
      "an exact fit scores 1",
      {
        cpuCores: 2,
        memoryBytes: 4 * GIB,
        reservedCpuMillicores: 1500,
        reservedMemoryBytes: 4 * GIB - 512 * MIB,
      },
      1,
    ],
    [
      "an empty node scores the request's share of it",
      { cpuCores: 4, memoryBytes: 8 * GIB, reservedCpuMillicores: 0, reservedMemoryBytes: 0 },
      (500 / 4000 + 512 / 8192) / 2,
    ],
    [
      "CPU and memory count alike",
      { cpuCores: 4, memoryBytes: 8 * GIB, reservedCpuMillicores: 3500, reservedMemoryBytes: 0 },
      (1 + 512 / 8192) / 2,
    ],
    [
      "a node with no recorded capacity scores as full",
      { cpuCores: 0, memoryBytes: 0, reservedCpuMillicores: 0, reservedMemoryBytes: 0 },
      1,
    ],
  ];
  for (const [name, overrides, expected] of cases) {
    it(name, () => {
      const byId = scores(resourceBased, [node({ id: "node-a", ...overrides })]);
      assert.ok(
        Math.abs((byId["node-a"] ?? Number.NaN) - expected) < 1e-12,
        `${byId["node-a"]} ≠ ${expected}`,
      );
    });
  }

  it("counts what this run placed", () => {
    const nodes = [
      node({
        id: "node-a",
        cpuCores: 4,
        memoryBytes: 8 * GIB,
        reservedCpuMillicores: 1000,
        reservedMemoryBytes: 2 * GIB,
      }),
      node({
        id: "node-b",
        cpuCores: 4,
        memoryBytes: 8 * GIB,
        reservedCpuMillicores: 1200,
        reservedMemoryBytes: 2 * GIB,
      }),
    ];
    assert.deepEqual(ranking(scores(resourceBased, nodes)), ["node-b", "node-a"]);
    assert.deepEqual(ranking(scores(resourceBased, nodes, { placed: ["node-a"] })), [
      "node-a",
      "node-b",
    ]);
  });
});

describe("weightedTotal", () => {
  const nodes = [
    node({ id: "node-a", cpuPercent: 37.4, deploymentCount: 3 }),
    node({ id: "node-b", cpuPercent: 3, reservedCpuMillicores: 3000 }),
    node({ id: "node-c", cpuPercent: 91, memoryBytes: 3 * GIB }),
  ];
  const lists: [string, Scorer[]][] = [
    ["two scorers, written out", [leastLoaded, spread]],
    ["three, in a loop", [resourceBased, roundRobin, spread]],
  ];
  for (const [name, scorers] of lists) {
    it(`${name}: the weighted sum from 0 in order, each score recorded`, () => {
      const ctx = createContext(snapshotOf(nodes), request({ existing: ["node-b"] }), FIXTURE_NOW, {
        roundRobinCursor: "node-a",
      });
      recordPlacement(ctx, 2);
      const total = weightedTotal(scorers);
      const verdicts = new Verdicts(nodes.length, scorers.length);
      ctx.nodes.forEach((n, i) => {
        let sum = 0;
        for (const s of scorers) sum += s.weight * s.score(n, i, ctx);
        assert.equal(total(n, i, ctx), sum, n.id);
        verdicts.accept(i);
        assert.equal(total(n, i, ctx, verdicts), sum, n.id);
      });
      const explained = verdicts.explain(ctx, { checks: [], scorers }, () => false);
      explained.forEach((e, i) => {
        const n = ctx.nodes[i] as NodeSnapshot;
        for (const s of scorers) assert.equal(e.scores[s.name], s.score(n, i, ctx), s.name);
        assert.equal(e.scores.total, total(n, i, ctx));
      });
    });
  }
});

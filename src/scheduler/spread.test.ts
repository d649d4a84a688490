import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createContext, recordPlacement } from "./context.js";
import { FIXTURE_NOW, node, request, snapshotOf } from "./fixtures.js";
import { leastLoaded, resourceBased, roundRobin } from "./rank.js";
import { SPREAD_WEIGHT, spread } from "./spread.js";

describe("spread", () => {
  const nodes = ["node-a", "node-b", "node-c"].map((id) => node({ id }));

  const cases: [string, { existing?: string[]; placed?: string[] }, number[]][] = [
    ["no replica anywhere", {}, [0, 0, 0]],
    ["replicas already running", { existing: ["node-a", "node-a", "node-c"] }, [-2, 0, -1]],
    ["replicas placed by this run", { placed: ["node-b"] }, [0, -1, 0]],
    ["both", { existing: ["node-b"], placed: ["node-b", "node-a"] }, [-1, -2, 0]],
    ["an existing replica on a node not in the snapshot", { existing: ["node-gone"] }, [0, 0, 0]],
  ];
  for (const [name, { existing, placed = [] }, expected] of cases) {
    it(name, () => {
      const ctx = createContext(snapshotOf(nodes), request({ existing }), FIXTURE_NOW, {});
      for (const id of placed)
        recordPlacement(
          ctx,
          ctx.nodes.findIndex((n) => n.id === id),
        );
      assert.deepEqual(
        ctx.nodes.map((n, i) => spread.score(n, i, ctx)),
        expected,
      );
    });
  }

  it("outweighs the whole range of every strategy's score", () => {
    // The best a strategy can give a node with one more replica must lose to the worst it
    // can give a node with one fewer.
    for (const scorer of [leastLoaded, roundRobin, resourceBased]) {
      assert.ok(SPREAD_WEIGHT * 1 > scorer.weight * (1 - 0), scorer.name);
    }
  });
});

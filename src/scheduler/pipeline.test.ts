import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createContext } from "./context.js";
import { Verdicts } from "./explain.js";
import { FEASIBILITY_CHECKS } from "./feasible.js";
import { FIXTURE_NOW, node, request, snapshotOf } from "./fixtures.js";
import { createPipeline, evaluate } from "./pipeline.js";
import { STRATEGY_NAMES } from "./snapshot.js";

describe("createPipeline", () => {
  for (const strategy of STRATEGY_NAMES) {
    it(`${strategy}: every check, the strategy's scorer then spread, highest total`, () => {
      const pipeline = createPipeline(strategy);
      assert.deepEqual(pipeline.checks, FEASIBILITY_CHECKS);
      assert.deepEqual(
        pipeline.scorers.map((s) => s.name),
        [strategy, "spread"],
      );
      assert.equal(pipeline.rotates, strategy === "round-robin");
    });
  }
});

describe("evaluate", () => {
  it("chooses the same node whether it records verdicts or not", () => {
    const nodes = ["node-a", "node-b", "node-c"].map((id, k) => node({ id, cpuPercent: 50 - k }));
    const pipeline = createPipeline("least-loaded");
    const ctx = createContext(snapshotOf(nodes), request(), FIXTURE_NOW, {});
    assert.equal(evaluate(pipeline, ctx), 2);
    assert.equal(evaluate(pipeline, ctx, new Verdicts(3, 2)), 2);
  });

  it("records the first failed check of a rejected node and the scores of a feasible one", () => {
    const nodes = [
      node({ id: "node-a", cpuPercent: 40 }),
      node({ id: "node-b", labels: {}, availability: "drain" }),
      node({ id: "node-c", labels: {} }),
    ];
    const pipeline = createPipeline("least-loaded");
    const ctx = createContext(
      snapshotOf(nodes),
      request({ existing: ["node-a"] }),
      FIXTURE_NOW,
      {},
    );
    const verdicts = new Verdicts(nodes.length, pipeline.scorers.length);
    assert.equal(evaluate(pipeline, ctx, verdicts), 0, "the only feasible node is chosen");
    const [a, b, c] = verdicts.explain(ctx, pipeline, () => false);
    assert.equal(b?.constraint, "active");
    assert.equal(c?.constraint, "labels");
    assert.equal(a?.feasible, true);
    const leastLoaded = 1 - (40 + 5 / 6) / 101;
    assert.deepEqual(a?.scores, {
      "least-loaded": leastLoaded,
      spread: -1,
      total: leastLoaded - 2,
    });
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createContext } from "./context.js";
import { infeasibleMessage, type NodeExplanation, TOTAL, Verdicts } from "./explain.js";
import { FIXTURE_NOW, node, request, snapshotOf } from "./fixtures.js";
import { createPipeline } from "./pipeline.js";

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

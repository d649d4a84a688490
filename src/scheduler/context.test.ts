import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DomainError } from "../domain/errors.js";
import { createContext, freeCpuMillicores, freeMemoryBytes, recordPlacement } from "./context.js";
import { FIXTURE_NOW, node, request, snapshotOf } from "./fixtures.js";
import { MIB, type PlacementRequest } from "./snapshot.js";

const ids = ["node-c", "node-a", "Node-Z", "node-b"];

describe("createContext", () => {
  it("puts the nodes in id order, by code unit rather than locale", () => {
    const ctx = createContext(
      snapshotOf(ids.map((id) => node({ id }))),
      request(),
      FIXTURE_NOW,
      {},
    );
    assert.deepEqual(
      ctx.nodes.map((n) => n.id),
      ["Node-Z", "node-a", "node-b", "node-c"],
    );
  });

  it("keeps the snapshot's array when it is already in order", () => {
    const nodes = ["a", "b", "c"].map((id) => node({ id }));
    assert.equal(createContext(snapshotOf(nodes), request(), FIXTURE_NOW, {}).nodes, nodes);
  });

  it("resolves the request: MiB to bytes, compute=true by default, now in ms", () => {
    const ctx = createContext(snapshotOf([]), request({ memoryMb: 512 }), FIXTURE_NOW, {});
    assert.equal(ctx.memoryBytes, 512 * MIB);
    assert.deepEqual(ctx.requiredLabels, [["compute", "true"]]);
    assert.equal(ctx.nowMs, FIXTURE_NOW.getTime());
  });

  it("counts existing replicas per node and marks avoided nodes; unknown ids are ignored", () => {
    const ctx = createContext(
      snapshotOf(ids.map((id) => node({ id }))),
      request({ existing: ["node-b", "node-b", "node-gone"], avoidNodes: ["node-c", "node-gone"] }),
      FIXTURE_NOW,
      {},
    );
    assert.deepEqual(ctx.replicasOn, [0, 0, 2, 0]);
    assert.deepEqual(ctx.avoided, [3]);
  });

  const cursors: [string, string | undefined, number][] = [
    ["no cursor", undefined, 0],
    ["on a node", "node-a", 2],
    ["between two ids", "node-aa", 2],
    ["before every id", "A", 0],
    ["on the last node: wraps", "node-c", 0],
  ];
  for (const [name, cursor, start] of cursors) {
    it(`starts the rotation after the cursor: ${name}`, () => {
      const state = cursor === undefined ? {} : { roundRobinCursor: cursor };
      const ctx = createContext(
        snapshotOf(ids.map((id) => node({ id }))),
        request(),
        FIXTURE_NOW,
        state,
      );
      assert.equal(ctx.rotationStart, start);
    });
  }

  const invalid: [string, Partial<PlacementRequest>][] = [
    ["negative replicas", { replicas: -1 }],
    ["fractional replicas", { replicas: 1.5 }],
    ["negative CPU", { cpuMillicores: -100 }],
    ["fractional memory", { memoryMb: 0.5 }],
  ];
  for (const [name, req] of invalid) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => createContext(snapshotOf([]), request(req), FIXTURE_NOW, {}),
        (e: unknown) => e instanceof DomainError && e.kind === "invalid_argument",
      );
    });
  }
});

describe("recordPlacement", () => {
  it("takes capacity, counts the replica, and moves the rotation past the node", () => {
    const nodes = ["a", "b", "c"].map((id) =>
      node({
        id,
        cpuCores: 4,
        reservedCpuMillicores: 1000,
        memoryBytes: 8192 * MIB,
        reservedMemoryBytes: 1024 * MIB,
      }),
    );
    const ctx = createContext(
      snapshotOf(nodes),
      request({ cpuMillicores: 500, memoryMb: 512 }),
      FIXTURE_NOW,
      {},
    );
    recordPlacement(ctx, 1);
    recordPlacement(ctx, 1);
    assert.equal(freeCpuMillicores(ctx, nodes[1] as (typeof nodes)[number], 1), 2000);
    assert.equal(freeMemoryBytes(ctx, nodes[1] as (typeof nodes)[number], 1), 6144 * MIB);
    assert.deepEqual(ctx.placedOn, [0, 2, 0]);
    assert.deepEqual(ctx.replicasOn, [0, 2, 0]);
    assert.equal(ctx.rotationStart, 2);
    recordPlacement(ctx, 2);
    assert.equal(ctx.rotationStart, 0, "wraps after the last node");
  });
});

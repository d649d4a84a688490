/**
 * Properties of schedule() over generated clusters and requests, checked against an oracle
 * written apart from the scheduler's own checks: how many replicas of the request each node
 * could take on its own.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createContext, recordPlacement } from "./context.js";
import { expandVerdicts, Verdicts } from "./explain.js";
import { FIXTURE_NOW, HEARTBEAT_TIMEOUT_MS } from "./fixtures.js";
import { createPipeline, evaluate } from "./pipeline.js";
import { schedule } from "./schedule.js";
import {
  type ClusterSnapshot,
  MIB,
  type NodeSnapshot,
  type PlacementRequest,
  STRATEGY_NAMES,
} from "./snapshot.js";

const GIB = 1024 * MIB;

/** Most nodes healthy workers at some load; some with one of the faults a cluster has. */
const nodeArbitrary = (id: string) =>
  fc
    .record({
      fault: fc.constantFrom(
        ...Array<undefined>(8).fill(undefined),
        "drain",
        "down",
        "silent",
        "never heard from",
        "unlabelled",
        "compute=false",
        "at max",
      ),
      heartbeatAge: fc.integer({ min: -2_000, max: 30_000 }),
      cpuCores: fc.constantFrom(0, 1, 1.5, 2, 4, 8, 16),
      cpuUsed: fc.double({ min: 0, max: 1.05, noNaN: true }),
      memoryGib: fc.constantFrom(0, 1, 2, 4, 8, 16, 32),
      memoryUsed: fc.double({ min: 0, max: 1.05, noNaN: true }),
      maxDeployments: fc.integer({ min: 1, max: 40 }),
      deploymentCount: fc.integer({ min: 0, max: 40 }),
      cpuPercent: fc.double({ min: 0, max: 100, noNaN: true }),
    })
    .map(
      (a): NodeSnapshot => ({
        id,
        hostname: `${id}.internal`,
        address: "10.0.0.1",
        availability: a.fault === "drain" ? "drain" : a.fault === "down" ? "down" : "active",
        lastHeartbeat:
          a.fault === "never heard from"
            ? null
            : new Date(FIXTURE_NOW.getTime() - (a.fault === "silent" ? 31_000 : a.heartbeatAge)),
        labels:
          a.fault === "unlabelled"
            ? { zone: "fra1-a" }
            : { compute: a.fault === "compute=false" ? "false" : "true" },
        cpuCores: a.cpuCores,
        memoryBytes: a.memoryGib * GIB,
        maxDeployments: a.maxDeployments,
        cpuPercent: a.cpuPercent,
        memoryUsedBytes: 0,
        deploymentCount:
          a.fault === "at max" ? a.maxDeployments : a.deploymentCount % (a.maxDeployments + 1),
        reservedCpuMillicores: Math.round(a.cpuCores * 1000 * a.cpuUsed),
        reservedMemoryBytes: Math.round((a.memoryGib * GIB * a.memoryUsed) / MIB) * MIB,
      }),
    );

const clusterArbitrary = fc
  .uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), {
    minLength: 1,
    maxLength: 12,
    size: "medium",
  })
  .chain((ids) => fc.tuple(...ids.map(nodeArbitrary)))
  .map((nodes): ClusterSnapshot => ({ nodes, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS }));

const inputArbitrary = clusterArbitrary.chain((snapshot) => {
  const ids = snapshot.nodes.map((n) => n.id);
  const someId = ids.length > 0 ? fc.oneof(fc.constantFrom(...ids), fc.string()) : fc.string();
  return fc.record({
    snapshot: fc.constant(snapshot),
    request: fc.record({
      deploymentId: fc.constant("5f0c8a2e-3b1d-4e6f-9a7b-2c4d6e8f0a1b"),
      replicas: fc.integer({ min: 0, max: 8 }),
      cpuMillicores: fc.constantFrom(0, 100, 250, 250, 500, 500, 1000, 2000),
      memoryMb: fc.constantFrom(0, 64, 256, 256, 512, 512, 1024, 4096),
      avoidNodes: fc.array(someId, { maxLength: 2 }),
      existing: fc.array(someId, { maxLength: 3 }),
    }) as fc.Arbitrary<PlacementRequest>,
    strategy: fc.constantFrom(...STRATEGY_NAMES),
    cursor: fc.option(someId, { nil: undefined }),
  });
});

/** How many replicas of the request the node could take on its own (the oracle). */
function capacity(node: NodeSnapshot, request: PlacementRequest, timeoutMs: number): number {
  const heartbeat = node.lastHeartbeat;
  if (node.availability !== "active") return 0;
  if (heartbeat === null || FIXTURE_NOW.getTime() - heartbeat.getTime() > timeoutMs) return 0;
  if (node.labels.compute !== "true") return 0;
  if (request.avoidNodes?.includes(node.id)) return 0;
  const fits = (free: number, each: number) =>
    free < 0 ? 0 : each === 0 ? Number.POSITIVE_INFINITY : Math.floor(free / each);
  return Math.max(
    0,
    Math.min(
      node.maxDeployments - node.deploymentCount,
      fits(node.cpuCores * 1000 - node.reservedCpuMillicores, request.cpuMillicores),
      fits(node.memoryBytes - node.reservedMemoryBytes, request.memoryMb * MIB),
    ),
  );
}

type Input = {
  snapshot: ClusterSnapshot;
  request: PlacementRequest;
  strategy: (typeof STRATEGY_NAMES)[number];
  cursor: string | undefined;
};

const run = ({ snapshot, request, strategy, cursor }: Input) =>
  schedule(
    snapshot,
    request,
    strategy,
    FIXTURE_NOW,
    cursor === undefined ? {} : { roundRobinCursor: cursor },
  );

const countsOf = (ids: string[]) => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
};

describe("schedule, for any cluster and request", () => {
  it("never places a replica on a node that cannot take it", () => {
    fc.assert(
      fc.property(inputArbitrary, (input) => {
        const result = run(input);
        if (!result.ok) return;
        const placedOn = countsOf(result.placements.map((p) => p.nodeId));
        for (const node of input.snapshot.nodes) {
          const placed = placedOn.get(node.id) ?? 0;
          const room = capacity(node, input.request, input.snapshot.heartbeatTimeoutMs);
          assert.ok(placed <= room, `${placed} replicas on ${node.id}, which has room for ${room}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("places every replica when the cluster has room for them, and otherwise none", () => {
    fc.assert(
      fc.property(inputArbitrary, (input) => {
        const { snapshot, request } = input;
        const room = snapshot.nodes.reduce(
          (sum, n) =>
            sum + Math.min(capacity(n, request, snapshot.heartbeatTimeoutMs), request.replicas),
          0,
        );
        const result = run(input);
        if (room >= request.replicas) {
          assert.ok(result.ok, result.ok ? "" : result.message);
          assert.equal(result.placements.length, request.replicas);
          assert.deepEqual(
            result.placements.map((p) => p.replica),
            Array.from({ length: request.replicas }, (_, r) => r),
          );
        } else {
          assert.ok(!result.ok);
          assert.equal(result.placeable, room);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("is deterministic, whatever the order of the nodes", () => {
    fc.assert(
      fc.property(inputArbitrary, fc.infiniteStream(fc.nat()), (input, randoms) => {
        const shuffled = [...input.snapshot.nodes]
          .map((n) => ({ n, key: randoms.next().value as number }))
          .sort((a, b) => a.key - b.key)
          .map(({ n }) => n);
        const once = run(input);
        const again = run(input);
        const reordered = run({ ...input, snapshot: { ...input.snapshot, nodes: shuffled } });
        for (const other of [again, reordered]) {
          assert.equal(other.ok, once.ok);
          assert.deepEqual(other.state, once.state);
          assert.deepEqual(other.explanations, once.explanations);
          if (other.ok && once.ok) assert.deepEqual(other.placements, once.placements);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("spreads: a node gets a second replica more than another only when that one is full", () => {
    fc.assert(
      fc.property(inputArbitrary, (input) => {
        const request = { ...input.request, existing: [] };
        const result = run({ ...input, request });
        if (!result.ok) return;
        const placedOn = countsOf(result.placements.map((p) => p.nodeId));
        const timeout = input.snapshot.heartbeatTimeoutMs;
        for (const many of input.snapshot.nodes) {
          for (const few of input.snapshot.nodes) {
            const gap = (placedOn.get(many.id) ?? 0) - (placedOn.get(few.id) ?? 0);
            if (gap < 2) continue;
            assert.equal(placedOn.get(few.id) ?? 0, capacity(few, request, timeout), few.id);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("explains every node, once, in id order; selected exactly where replicas went", () => {
    fc.assert(
      fc.property(inputArbitrary, (input) => {
        const result = run(input);
        const ids = input.snapshot.nodes.map((n) => n.id).sort((a, b) => (a < b ? -1 : 1));
        assert.deepEqual(
          result.explanations.map((e) => e.nodeId),
          ids,
        );
        if (!result.ok) {
          for (const e of result.explanations) {
            assert.ok(!e.feasible && !e.selected && e.reason && e.constraint, e.nodeId);
          }
          return;
        }
        const targets = new Set(result.placements.map((p) => p.nodeId));
        for (const e of result.explanations) {
          assert.equal(e.selected, targets.has(e.nodeId), e.nodeId);
          assert.equal(e.feasible, e.reason === undefined, e.nodeId);
          if (e.selected) assert.ok(e.feasible, e.nodeId);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("keeps verdicts whose explanation, read back from JSON, is the one built at once", () => {
    const stored = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
    fc.assert(
      fc.property(inputArbitrary, (input) => {
        const result = run(input);
        const atOnce = result.ok ? recordedAsItRan(input) : failingPass(input, result.placeable);
        assert.deepEqual(expandVerdicts(stored(result.compact)), stored(atOnce));
        assert.deepEqual(result.explanations, atOnce);
      }),
      { numRuns: 500 },
    );
  });

  it("explains what the passes saw: as if every pass had recorded every node's verdict", () => {
    fc.assert(
      fc.property(inputArbitrary, (input) => {
        const result = run(input);
        if (!result.ok) return;
        assert.deepEqual(result.explanations, recordedAsItRan(input));
      }),
      { numRuns: 500 },
    );
  });
});

/**
 * The explanation written down while the run goes, pass by pass, rather than built afterwards:
 * each pass records every node's verdict, and a node that gets a replica keeps the one it was
 * chosen with. Undefined when a replica fits nowhere.
 */
function recordedAsItRan({ snapshot, request, strategy, cursor }: Input) {
  const pipeline = createPipeline(strategy);
  const state = cursor === undefined ? {} : { roundRobinCursor: cursor };
  const ctx = createContext(snapshot, request, FIXTURE_NOW, state);
  const size = ctx.nodes.length;
  const pass = new Verdicts(size, pipeline.scorers.length);
  const kept = new Verdicts(size, pipeline.scorers.length);
  const placed = new Set<number>();
  evaluate(pipeline, ctx, pass); // with nothing to place, the verdicts of the first pass
  for (let i = 0; i < size; i++) kept.copyRow(pass, i);
  for (let replica = 0; replica < ctx.replicas; replica++) {
    const chosen = evaluate(pipeline, ctx, pass);
    if (chosen < 0) return undefined;
    for (let i = 0; i < size; i++) if (!placed.has(i) || i === chosen) kept.copyRow(pass, i);
    placed.add(chosen);
    recordPlacement(ctx, chosen);
  }
  return kept.explain(ctx, pipeline, (i) => placed.has(i));
}

/**
 * The verdicts of the pass that found no node for a replica, recorded and written out at once,
 * after the replicas that did fit.
 */
function failingPass({ snapshot, request, strategy, cursor }: Input, placeable: number) {
  const pipeline = createPipeline(strategy);
  const state = cursor === undefined ? {} : { roundRobinCursor: cursor };
  const ctx = createContext(snapshot, request, FIXTURE_NOW, state);
  for (let replica = 0; replica < placeable; replica++) {
    recordPlacement(ctx, evaluate(pipeline, ctx));
  }
  const verdicts = new Verdicts(ctx.nodes.length, pipeline.scorers.length);
  evaluate(pipeline, ctx, verdicts);
  return verdicts.explain(ctx, pipeline, () => false);
}

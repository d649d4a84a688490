import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cluster, FIXTURE_NOW } from "./fixtures.js";

describe("cluster", () => {
  const { nodes, heartbeatTimeoutMs } = cluster({ size: 2000, seed: 7 });

  it("is the same for the same seed, and different for another", () => {
    assert.deepEqual(cluster({ size: 50, seed: 7 }), cluster({ size: 50, seed: 7 }));
    assert.notDeepEqual(cluster({ size: 50, seed: 7 }), cluster({ size: 50, seed: 8 }));
  });

  it("comes in id order, with unique Swarm-like ids", () => {
    for (let i = 1; i < nodes.length; i++)
      assert.ok((nodes[i - 1]?.id ?? "") < (nodes[i]?.id ?? ""));
    assert.ok(nodes.every((n) => /^[a-z0-9]{25}$/.test(n.id)));
  });

  it("reserves whole deployments within each node's capacity and cap", () => {
    for (const n of nodes) {
      assert.ok(n.reservedCpuMillicores <= n.cpuCores * 1000, n.hostname);
      assert.ok(n.reservedMemoryBytes <= n.memoryBytes, n.hostname);
      assert.ok(n.deploymentCount <= n.maxDeployments, n.hostname);
      assert.equal(n.deploymentCount === 0, n.reservedCpuMillicores === 0, n.hostname);
    }
  });

  it("has a cluster's usual share of nodes that cannot take work", () => {
    const share = (predicate: (n: (typeof nodes)[number]) => boolean) =>
      nodes.filter(predicate).length / nodes.length;
    const silent = (n: (typeof nodes)[number]) =>
      FIXTURE_NOW.getTime() - (n.lastHeartbeat?.getTime() ?? 0) > heartbeatTimeoutMs;
    assert.ok(Math.abs(share((n) => n.availability === "drain") - 0.04) < 0.015);
    assert.ok(Math.abs(share((n) => n.availability === "down") - 0.02) < 0.01);
    assert.ok(Math.abs(share(silent) - 0.02) < 0.01);
    assert.ok(Math.abs(share((n) => n.labels.compute !== "true") - 0.04) < 0.015);
  });
});

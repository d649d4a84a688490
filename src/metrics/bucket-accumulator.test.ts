import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BucketAccumulator } from "./bucket-accumulator.js";
import type { ContainerMinuteRow, NodeMinuteRow } from "./rows.js";
import type { ContainerSample } from "./samples.js";

function sample(at: number, cpu: number, memory: number, rx: number): ContainerSample {
  return {
    containerId: "c1",
    deploymentId: "d",
    projectId: "p",
    at,
    cpuPercent: cpu,
    memoryUsedBytes: memory,
    memoryLimitBytes: 1_000,
    networkRxBytes: rx,
    networkTxBytes: 1,
    blockReadBytes: 2,
    blockWriteBytes: 3,
    pids: at / 5_000,
  };
}

describe("BucketAccumulator", () => {
  test("sums a minute of samples into one row, each sample standing for one interval", () => {
    const acc = new BucketAccumulator(60_000);
    for (let at = 0; at < 65_000; at += 5_000) {
      acc.add({
        nodeId: "n",
        at,
        intervalMs: 5_000,
        samples: [sample(at, 50, 100, 10)],
        node: {
          nodeId: "n",
          at,
          cpuPercent: at < 30_000 ? 10 : 30,
          memoryUsedBytes: 100,
          memoryTotalBytes: 1_000,
          diskPercent: 40,
          deploymentCount: 1,
          networkRxBytes: 0,
          networkTxBytes: 0,
        },
      });
    }
    assert.equal(acc.drain(0).length, 0, "nothing before the first bucket");
    const rows = acc.drain(60_000);
    const container = rows.find((r): r is ContainerMinuteRow => r.kind === "container");
    const node = rows.find((r): r is NodeMinuteRow => r.kind === "node");
    assert.ok(container && node);
    assert.equal(container.samples, 12);
    assert.equal(container.seconds, 60);
    assert.equal(container.cpuSeconds, 30, "half a core for a minute");
    assert.equal(container.memoryByteSeconds, 6_000);
    assert.equal(container.networkRxBytes, 120);
    assert.equal(container.blockWriteBytes, 36);
    assert.equal(container.pidsMax, 11);
    assert.equal(node.cpuPercentAvg, 20);
    assert.equal(node.cpuPercentMax, 30);
    assert.equal(acc.size, 2, "the next minute is still open");
    assert.equal(acc.drain().length, 2);
    assert.equal(acc.size, 0);
  });
});

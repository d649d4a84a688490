import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LiveCache } from "./live-cache.js";
import type { ContainerSample, SampleBatch } from "./samples.js";

const INTERVAL = 5_000;

function sample(
  containerId: string,
  deploymentId: string,
  at: number,
  cpu: number,
): ContainerSample {
  return {
    containerId,
    deploymentId,
    projectId: "proj",
    at,
    cpuPercent: cpu,
    memoryUsedBytes: 1_000,
    memoryLimitBytes: 10_000,
    networkRxBytes: 10,
    networkTxBytes: 20,
    blockReadBytes: 0,
    blockWriteBytes: 5,
    pids: 2,
  };
}

const batch = (nodeId: string, at: number, samples: ContainerSample[]): SampleBatch => ({
  nodeId,
  at,
  intervalMs: INTERVAL,
  samples,
});

describe("LiveCache", () => {
  test("adds up a deployment's containers slot by slot, across nodes", () => {
    let now = 100_000;
    const cache = new LiveCache({ windowMs: 60_000, maxContainers: 100, now: () => now });
    const touched = cache.ingest(
      batch("n1", 95_000, [sample("c1", "d", 95_000, 10), sample("x", "other", 95_000, 1)]),
    );
    assert.deepEqual([...touched].sort(), ["d", "other"]);
    cache.ingest(batch("n2", 95_000, [sample("c2", "d", 95_000, 30)]));
    now = 105_000;
    cache.ingest(batch("n1", 100_000, [sample("c1", "d", 100_000, 50)]));

    const series = cache.series("d");
    assert.deepEqual(
      series.map((s) => [s.at.getTime(), s.cpuPercent]),
      [
        [95_000, 40],
        [100_000, 50],
      ],
    );
    assert.equal(series[0]?.memoryBytes, 2_000);
    assert.equal(series[0]?.networkTxBytes, 40);
    assert.equal(cache.latest("d")?.cpuPercent, 50);
    assert.equal(cache.slot("d", 95_000).pids, 4);
    assert.deepEqual(cache.series("d", 100_000).length, 1, "since is inclusive");
  });

  test("forgets samples and containers older than the window", () => {
    let now = 0;
    const cache = new LiveCache({ windowMs: 20_000, maxContainers: 100, now: () => now });
    for (let at = 0; at <= 60_000; at += INTERVAL) {
      now = at;
      cache.ingest(batch("n1", at, [sample("c1", "d", at, 1)]));
      if (at <= 10_000) cache.ingest(batch("n1", at, [sample("gone", "old", at, 1)]));
    }
    assert.deepEqual(
      cache.series("d").map((s) => s.at.getTime()),
      [40_000, 45_000, 50_000, 55_000, 60_000],
    );
    assert.equal(cache.latest("old"), undefined, "a container silent for a window is dropped");
    assert.equal(cache.stats().containers, 1);
    assert.equal(cache.stats().samples, 5);
  });

  test("refuses containers past its bound", () => {
    const cache = new LiveCache({ windowMs: 60_000, maxContainers: 2, now: () => 0 });
    cache.ingest(
      batch(
        "n",
        0,
        ["a", "b", "c"].map((id) => sample(id, "d", 0, 1)),
      ),
    );
    assert.equal(cache.stats().containers, 2);
    assert.equal(cache.stats().refused, 1);
  });

  test("keeps each node's latest usage", () => {
    const cache = new LiveCache({ windowMs: 60_000, maxContainers: 2, now: () => 10_000 });
    const node = {
      nodeId: "n",
      at: 5_000,
      cpuPercent: 12,
      memoryUsedBytes: 1,
      memoryTotalBytes: 2,
      diskPercent: 3,
      deploymentCount: 1,
      networkRxBytes: 0,
      networkTxBytes: 0,
    };
    cache.ingest({ ...batch("n", 5_000, []), node });
    assert.deepEqual(cache.latestNodes(), [node]);
  });
});

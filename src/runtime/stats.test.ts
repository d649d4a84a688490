import assert from "node:assert/strict";
import { test } from "node:test";
import { computeStats, type RawDockerStats } from "./stats.js";

/** A real sample (Docker 20.10, cgroup v1) of a busy loop with a 64 MiB limit, trimmed. */
const busyLoop: RawDockerStats = {
  read: "2026-11-27T04:56:14.089526327Z",
  pids_stats: { current: 1 },
  blkio_stats: { io_service_bytes_recursive: [] },
  cpu_stats: {
    cpu_usage: { total_usage: 2059897019, percpu_usage: [1992546454, 67350565] },
    system_cpu_usage: 2281440000000,
    online_cpus: 2,
  },
  precpu_stats: {
    cpu_usage: { total_usage: 1052869406, percpu_usage: [1030766924, 22102482] },
    system_cpu_usage: 2279440000000,
    online_cpus: 2,
  },
  memory_stats: {
    usage: 524288,
    stats: { total_inactive_file: 0, inactive_file: 0, cache: 0 },
    limit: 67108864,
  },
  networks: { eth0: { rx_bytes: 736, tx_bytes: 0 } },
};

test("cpu, memory, network and pids from a real cgroup v1 sample", () => {
  const stats = computeStats(busyLoop);
  assert.equal(stats.at.toISOString(), "2026-11-27T04:56:14.089Z");
  // (2059897019 - 1052869406) / (2281440000000 - 2279440000000) * 2 cores * 100
  assert.ok(Math.abs(stats.cpuPercent - 100.7027613) < 1e-6, String(stats.cpuPercent));
  assert.equal(stats.onlineCpus, 2);
  assert.equal(stats.memoryUsedBytes, 524288);
  assert.equal(stats.memoryLimitBytes, 67108864);
  assert.equal(stats.memoryPercent, 0.78125);
  assert.deepEqual([stats.networkRxBytes, stats.networkTxBytes], [736, 0]);
  assert.deepEqual([stats.blockReadBytes, stats.blockWriteBytes], [0, 0]);
  assert.equal(stats.pids, 1);
});

test("reclaimable page cache is left out of memory use, on cgroup v1 and v2", () => {
  const v1 = computeStats({
    memory_stats: { usage: 1000, limit: 4000, stats: { total_inactive_file: 400 } },
  });
  const v2 = computeStats({
    memory_stats: { usage: 1000, limit: 4000, stats: { inactive_file: 300 } },
  });
  const tooBig = computeStats({ memory_stats: { usage: 1000, stats: { inactive_file: 5000 } } });
  assert.deepEqual(
    [v1.memoryUsedBytes, v1.memoryPercent, v2.memoryUsedBytes, tooBig.memoryUsedBytes],
    [600, 15, 700, 1000],
  );
});

test("block I/O sums reads and writes over devices, whatever the case of the op", () => {
  const stats = computeStats({
    blkio_stats: {
      io_service_bytes_recursive: [
        { op: "Read", value: 100 },
        { op: "Write", value: 10 },
        { op: "read", value: 5 },
        { op: "write", value: 1 },
        { op: "Total", value: 116 },
      ],
    },
    networks: { eth0: { rx_bytes: 1, tx_bytes: 2 }, eth1: { rx_bytes: 10, tx_bytes: 20 } },
  });
  assert.deepEqual(
    [stats.blockReadBytes, stats.blockWriteBytes, stats.networkRxBytes, stats.networkTxBytes],
    [105, 11, 11, 22],
  );
});

test("a stopped container's empty sample gives zeros, not NaN", () => {
  const stats = computeStats({
    read: "0001-01-01T00:00:00Z",
    cpu_stats: { cpu_usage: { total_usage: 0 }, system_cpu_usage: 0 },
    precpu_stats: { cpu_usage: { total_usage: 0 } },
    memory_stats: {},
    blkio_stats: { io_service_bytes_recursive: null },
  });
  assert.equal(stats.cpuPercent, 0);
  assert.equal(stats.onlineCpus, 1);
  assert.equal(stats.memoryPercent, 0);
  assert.equal(stats.pids, 0);
  assert.ok(!Number.isNaN(stats.at.getTime()));
});

test("without a previous sample the cpu use is unknown and reported as 0", () => {
  const stats = computeStats({
    cpu_stats: { cpu_usage: { total_usage: 5e9 }, system_cpu_usage: 9e12, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 0 } },
  });
  assert.equal(stats.cpuPercent, 0);
});

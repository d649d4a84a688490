/**
 * Fan-out: 1,000 subscribers on one deployment's live stream. Delivery latency is the time from
 * the batch entering the hub (LiveHub.ingest) to each subscriber's loop receiving the sample;
 * p50/p99/max over every delivery. Memory: the heap taken by the subscribers, and its growth over
 * the run. A second run adds 100 stalled subscribers (never read) to show that they cost the
 * others nothing and are dropped.
 *
 *   node --expose-gc --import tsx bench/metrics-fanout.ts [subscribers] [samples]
 */
import { setMaxListeners } from "node:events";
import { LiveHub } from "../src/metrics/live-hub.js";
import type { SampleBatch } from "../src/metrics/samples.js";

const SUBSCRIBERS = Number(process.argv[2] ?? 1_000);
const SAMPLES = Number(process.argv[3] ?? 500);
const CONTAINERS = 3;

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  return process.memoryUsage().heapUsed;
};

function batch(at: number): SampleBatch {
  return {
    nodeId: "node",
    at,
    intervalMs: 5_000,
    samples: Array.from({ length: CONTAINERS }, (_, i) => ({
      containerId: `c${i}`,
      deploymentId: "dep",
      projectId: "proj",
      at,
      cpuPercent: 10,
      memoryUsedBytes: 1e8,
      memoryLimitBytes: 2e8,
      networkRxBytes: 100,
      networkTxBytes: 100,
      blockReadBytes: 0,
      blockWriteBytes: 0,
      pids: 3,
    })),
  };
}

async function run(stalled: number) {
  let now = Date.now();
  const hub = new LiveHub({
    windowMs: 300_000,
    maxContainers: 1_000,
    subscriberQueue: 8,
    subscriberMaxLag: 120,
    maxSubscribers: SUBSCRIBERS + stalled + 10,
    now: () => now,
  });
  const before = heap();
  const abort = new AbortController();
  // One signal for every subscriber here; an RPC has its own.
  setMaxListeners(0, abort.signal);
  const latencies = new Float64Array(SUBSCRIBERS * SAMPLES);
  let delivered = 0;
  const publishedAt = new Map<number, number>();
  const readers = Array.from({ length: SUBSCRIBERS }, async () => {
    let received = 0;
    for await (const sample of hub.watch("dep", abort.signal)) {
      const sent = publishedAt.get(sample.at.getTime());
      if (sent !== undefined) latencies[delivered++] = performance.now() - sent;
      if (++received === SAMPLES) break;
    }
  });
  const idle = Array.from({ length: stalled }, () => hub.watch("dep", abort.signal));
  await new Promise((resolve) => setImmediate(resolve));
  const subscribed = heap();

  const started = performance.now();
  let midRun = 0;
  for (let i = 0; i < SAMPLES; i++) {
    if (i === SAMPLES / 2) midRun = heap();
    now += 5_000;
    publishedAt.set(now, performance.now());
    hub.ingest(batch(now));
    // Let the readers run between samples, as a 5 s interval would (only much faster).
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(readers);
  const elapsed = performance.now() - started;
  const stats = hub.stats();
  abort.abort();
  await hub.close();
  for (const s of idle) await s.return();

  const sorted = latencies.slice(0, delivered).sort();
  const pct = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  console.log(
    `${SUBSCRIBERS} readers + ${stalled} stalled, ${SAMPLES} samples: ${delivered.toLocaleString("en-US")} deliveries in ${elapsed.toFixed(0)} ms; ` +
      `latency p50 ${(pct(50) * 1000).toFixed(0)} µs, p99 ${(pct(99) * 1000).toFixed(0)} µs, max ${(pct(100) * 1000).toFixed(0)} µs; ` +
      `heap +${((subscribed - before) / 1024).toFixed(0)} KiB for the subscribers (${((subscribed - before) / (SUBSCRIBERS + stalled)).toFixed(0)} B each), ` +
      `${((midRun - subscribed) / 1024).toFixed(0)} KiB more halfway through the run; ` +
      `stalled dropped: ${stats.subscribers.dropped}, coalesced ${stats.subscribers.coalesced}`,
  );
}

if (!gc) console.log("# run with --expose-gc for steadier memory figures");
await run(0);
await run(100);

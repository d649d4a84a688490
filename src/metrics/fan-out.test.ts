import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DomainError } from "../domain/errors.js";
import { FanOut } from "./fan-out.js";
import { type DeploymentSample, emptySample } from "./samples.js";

const options = { queueSize: 4, maxLag: 10, maxSubscribers: 100 };

function sample(at: number, rx = 0): DeploymentSample {
  return { ...emptySample(at), cpuPercent: at, networkRxBytes: rx };
}

describe("FanOut", () => {
  test("a subscriber that never reads does not delay a fast one, and is dropped past its bound", async () => {
    const fanOut = new FanOut(options);
    const stalled = fanOut.subscribe("dep");
    const fast = fanOut.subscribe("dep");
    const received: number[] = [];
    const latencies: number[] = [];
    let publishedAt = 0;
    const reading = (async () => {
      for await (const s of fast) {
        latencies.push(performance.now() - publishedAt);
        received.push(s.at.getTime());
        if (received.length === 50) break;
      }
    })();
    for (let i = 0; i < 50; i++) {
      publishedAt = performance.now();
      fanOut.publish("dep", sample(i));
      // Let the fast reader take it before the next one, as a live stream would.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await reading;
    assert.deepEqual(
      received,
      Array.from({ length: 50 }, (_, i) => i),
      "the fast reader got every sample, in order",
    );
    assert.ok(
      Math.max(...latencies) < 50,
      `fast delivery, worst ${Math.max(...latencies).toFixed(2)} ms`,
    );

    // 4 queued, then 10 coalesced are tolerated; the 11th drops it.
    assert.equal(stalled.closed, true, "the stalled subscriber was dropped");
    await assert.rejects(stalled.next(), (error: unknown) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.kind, "resource_exhausted");
      return true;
    });
    assert.deepEqual(await stalled.next(), { value: undefined, done: true });
    const stats = fanOut.stats();
    assert.equal(stats.dropped, 1);
    assert.equal(stats.subscribers, 0, "both are gone: one dropped, one returned");
  });

  test("a slow reader gets coalesced samples that keep every byte, and survives while it reads", async () => {
    const fanOut = new FanOut(options);
    const slow = fanOut.subscribe("dep");
    let sent = 0;
    for (let i = 0; i < 8; i++) {
      fanOut.publish("dep", sample(i, 100));
      sent += 100;
    }
    const got: DeploymentSample[] = [];
    for (let i = 0; i < 4; i++) {
      const { value } = await slow.next();
      assert.ok(value);
      got.push(value);
    }
    assert.deepEqual(
      got.map((s) => s.at.getTime()),
      [0, 1, 2, 7],
      "the newest sample carries the gauges",
    );
    assert.equal(
      got.reduce((sum, s) => sum + s.networkRxBytes, 0),
      sent,
      "no traffic is lost",
    );
    // It read, so its lag restarts: another burst within the bound keeps it.
    for (let i = 8; i < 8 + options.queueSize + options.maxLag; i++)
      fanOut.publish("dep", sample(i, 1));
    assert.equal(slow.closed, false);
    await slow.return();
    assert.equal(fanOut.stats().subscribers, 0);
  });

  test("aborting the signal ends the iteration without an error", async () => {
    const fanOut = new FanOut(options);
    const abort = new AbortController();
    const subscription = fanOut.subscribe("dep", abort.signal);
    const next = subscription.next();
    abort.abort();
    assert.deepEqual(await next, { value: undefined, done: true });
    assert.equal(fanOut.stats().subscribers, 0);
  });

  test("memory stays bounded however many samples a stalled subscriber misses", () => {
    const fanOut = new FanOut({ queueSize: 4, maxLag: 1_000_000, maxSubscribers: 10 });
    const stalled = fanOut.subscribe("dep");
    for (let i = 0; i < 100_000; i++) fanOut.publish("dep", sample(i, 1));
    const queue = (stalled as unknown as { queue: DeploymentSample[] }).queue;
    assert.equal(queue.length, 4);
    assert.equal(
      queue.reduce((sum, s) => sum + s.networkRxBytes, 0),
      100_000,
    );
  });

  test("refuses subscribers past the limit, and close ends them all", async () => {
    const fanOut = new FanOut({ ...options, maxSubscribers: 2 });
    const a = fanOut.subscribe("a");
    fanOut.subscribe("b");
    assert.throws(
      () => fanOut.subscribe("c"),
      (e: unknown) => e instanceof DomainError && e.kind === "resource_exhausted",
    );
    const pending = a.next();
    fanOut.close();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.equal(fanOut.stats().subscribers, 0);
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { mapLimit } from "./map-limit.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("never more than `limit` calls in flight, every item done, results in the items' order", async () => {
  let inFlight = 0;
  let most = 0;
  // Later items finish sooner, so the results' order is the items', not the finishing order.
  const results = await mapLimit([5, 4, 3, 2, 1, 0], 2, async (n) => {
    inFlight++;
    most = Math.max(most, inFlight);
    for (let i = 0; i < n; i++) await tick();
    inFlight--;
    return n * 10;
  });
  assert.deepEqual(results, [50, 40, 30, 20, 10, 0]);
  assert.equal(most, 2);
});

test("no items: no call, no result", async () => {
  let calls = 0;
  assert.deepEqual(
    await mapLimit([], 4, async () => {
      calls++;
    }),
    [],
  );
  assert.equal(calls, 0);
});

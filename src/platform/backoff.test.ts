import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "./backoff.js";

test("backoff doubles per failure, keeps at least half of it, and is capped", () => {
  const low = () => 0;
  const high = () => 1;
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => [
      backoffDelay(n, 100, 10_000, low),
      backoffDelay(n, 100, 10_000, high),
    ]),
    [
      [50, 100],
      [100, 200],
      [200, 400],
      [400, 800],
    ],
  );
  assert.equal(backoffDelay(30, 100, 1_000, high), 1_000);
  assert.equal(backoffDelay(30, 100, 1_000, low), 500);
});

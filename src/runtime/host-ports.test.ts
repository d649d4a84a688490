import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError } from "../domain/errors.js";
import { candidatePorts, checkPortRange } from "./host-ports.js";

test("candidates start at the offset, wrap around and skip taken ports", () => {
  const range = { from: 100, to: 104 };
  assert.deepEqual(candidatePorts(range, new Set(), 0), [100, 101, 102, 103, 104]);
  assert.deepEqual(candidatePorts(range, new Set([104, 101]), 3), [103, 100, 102]);
  assert.deepEqual(candidatePorts(range, new Set(), 12), [102, 103, 104, 100, 101]);
  assert.deepEqual(candidatePorts(range, new Set([100, 101, 102, 103, 104]), 1), []);
});

test("port ranges must be ordered and within 1-65535", () => {
  assert.deepEqual(checkPortRange({ from: 20000, to: 20000 }), { from: 20000, to: 20000 });
  for (const range of [
    { from: 0, to: 10 },
    { from: 10, to: 5 },
    { from: 1, to: 65536 },
    { from: 1.5, to: 10 },
  ]) {
    assert.throws(
      () => checkPortRange(range),
      (error: unknown) => error instanceof DomainError && error.kind === "invalid_argument",
    );
  }
});

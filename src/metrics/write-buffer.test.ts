import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { WriteBuffer } from "./write-buffer.js";

describe("WriteBuffer", () => {
  test("keeps the newest rows within its bound", () => {
    const buffer = new WriteBuffer<number>(5);
    assert.equal(buffer.push([1, 2, 3]), 0);
    assert.equal(buffer.push([4, 5, 6, 7]), 2);
    assert.deepEqual(buffer.snapshot(), [3, 4, 5, 6, 7]);
    assert.equal(buffer.dropped, 2);
  });

  test("a release after rows were dropped meanwhile removes only what was written", () => {
    const buffer = new WriteBuffer<number>(4);
    buffer.push([1, 2, 3, 4]);
    const { rows, end } = buffer.peek(2);
    assert.deepEqual(rows, [1, 2]);
    buffer.push([5, 6, 7]); // drops 1, 2, 3 while the write is in flight
    buffer.release(end);
    assert.deepEqual(buffer.snapshot(), [4, 5, 6, 7]);
  });

  test("never holds more than its bound and loses nothing it keeps (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 30 }).map((n) => ({ push: n })),
            fc.integer({ min: 1, max: 30 }).map((n) => ({ write: n })),
          ),
          { maxLength: 60 },
        ),
        (max, operations) => {
          const buffer = new WriteBuffer<number>(max);
          let next = 0;
          const written: number[] = [];
          for (const op of operations) {
            if ("push" in op) buffer.push(Array.from({ length: op.push }, () => next++));
            else {
              const { rows, end } = buffer.peek(op.write);
              written.push(...rows);
              buffer.release(end);
            }
            assert.ok(buffer.size <= max);
          }
          const kept = buffer.snapshot();
          // Rows come out in order, each at most once, and what is left are the newest.
          const all = [...written, ...kept];
          assert.deepEqual(
            all,
            [...all].sort((a, b) => a - b),
          );
          assert.equal(new Set(all).size, all.length);
          assert.equal(all.length + buffer.dropped, next);
          if (kept.length > 0) assert.equal(kept.at(-1), next - 1);
        },
      ),
    );
  });
});

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ShardedMap } from "./sharded-map.js";

describe("ShardedMap", () => {
  test("property: answers as one Map does, whatever the keys and the size it expected", () => {
    const key = fc.oneof(
      fc.constantFrom("", "a", "ab", "ba"),
      fc.uuid(),
      fc.string({ maxLength: 6 }),
      fc.stringMatching(/^[0-9a-f]{64}$/),
    );
    const op = fc.record({ kind: fc.constantFrom("set", "get", "has"), key, value: fc.nat() });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.array(op), (expected, ops) => {
        const sharded = new ShardedMap<number>(expected);
        const map = new Map<string, number>();
        for (const { kind, key, value } of ops) {
          if (kind === "set") {
            sharded.set(key, value);
            map.set(key, value);
          } else if (kind === "get") assert.equal(sharded.get(key), map.get(key));
          else assert.equal(sharded.has(key), map.has(key));
        }
        const byKey = ([a]: [string, number], [b]: [string, number]) => (a < b ? -1 : 1);
        assert.deepEqual([...sharded.entries()].sort(byKey), [...map.entries()].sort(byKey));
      }),
    );
  });

  test("spreads ids over its shards: none holds more than twice its share", () => {
    const keys = Array.from({ length: 16_384 }, () => randomUUID());
    const sharded = new ShardedMap<number>(keys.length);
    keys.forEach((k, i) => {
      sharded.set(k, i);
    });
    const sizes = sharded.shardSizes();
    assert.equal(sizes.length, 16);
    assert.ok(Math.max(...sizes) <= (2 * keys.length) / sizes.length, sizes.join(" "));
  });
});

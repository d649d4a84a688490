import assert from "node:assert/strict";
import { test } from "node:test";
import { assertNamespace, namespacesOf, storageTtl } from "./cache.js";

test("a key belongs to every namespace that ends at one of its separators", () => {
  assert.deepEqual(namespacesOf("org:42:projects"), ["", "org:", "org:42:"]);
  assert.deepEqual(namespacesOf("plain"), [""]);
  assert.deepEqual(namespacesOf("org:"), ["", "org:"]);
});

test("only whole namespaces can be invalidated", () => {
  assertNamespace("");
  assertNamespace("org:42:");
  assert.throws(() => assertNamespace("org:4"), TypeError);
});

test("TTLs are whole milliseconds, 0 or less meaning 'do not store'", () => {
  assert.equal(storageTtl(1.2), 2);
  assert.equal(storageTtl(-5), 0);
  assert.throws(() => storageTtl(Number.NaN), TypeError);
  assert.throws(() => storageTtl(Number.POSITIVE_INFINITY), TypeError);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { KeyLock } from "./key-lock.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("calls under one key run one at a time, in order, whatever the earlier ones' outcome", async () => {
  const lock = new KeyLock();
  const order: string[] = [];
  let running = 0;
  const step = (name: string, fail = false) =>
    lock.run("k", async () => {
      running++;
      assert.equal(running, 1, "never two at once");
      order.push(`${name}+`);
      await tick();
      order.push(`${name}-`);
      running--;
      if (fail) throw new Error(name);
      return name;
    });
  const results = await Promise.allSettled([step("a"), step("b", true), step("c")]);
  assert.deepEqual(order, ["a+", "a-", "b+", "b-", "c+", "c-"]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "rejected", "fulfilled"],
  );
  await tick();
  assert.equal(lock.size, 0, "no key kept once everything settled");
});

test("other keys do not wait", async () => {
  const lock = new KeyLock();
  let release: () => void = () => undefined;
  const slow = lock.run("a", () => new Promise<void>((resolve) => (release = resolve)));
  assert.equal(await lock.run("b", async () => "b"), "b");
  release();
  await slow;
});

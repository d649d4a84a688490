import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { Periodic } from "./periodic.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a pass at once, then every interval; a failed pass does not stop the loop", async () => {
  let passes = 0;
  const loop = new Periodic({
    name: "test loop",
    intervalMs: 20,
    run: async () => {
      passes++;
      if (passes === 1) throw new Error("first pass fails");
    },
    logger: pino({ level: "silent" }),
  });
  loop.start();
  await sleep(5);
  assert.equal(passes, 1, "the first pass runs at once");
  await sleep(100);
  assert.ok(passes >= 3, `passes after the failed one: ${passes}`);
  await loop.close();
});

test("stop() waits for the pass in progress; start() runs again; after close() nothing runs", async () => {
  let passes = 0;
  let finished = 0;
  const loop = new Periodic({
    name: "test loop",
    intervalMs: 10,
    run: async () => {
      passes++;
      await sleep(30);
      finished++;
    },
    logger: pino({ level: "silent" }),
  });
  loop.start();
  loop.start(); // a second start while running changes nothing
  await sleep(5);
  await loop.stop();
  assert.equal(finished, passes, "stop() returned after the pass in progress");
  const stopped = passes;
  await sleep(60);
  assert.equal(passes, stopped, "no pass while stopped");

  loop.start();
  await sleep(60);
  assert.ok(passes > stopped, "a pass after start() again");
  await loop.close();
  await loop.close(); // safe twice
  const closed = passes;
  loop.start(); // closed for good
  await sleep(60);
  assert.equal(passes, closed, "no pass after close()");
});

/**
 * The reconcile loop's own mechanics, with an engine and a database that hold nothing: when a
 * pass runs, which calls share it, and how the loop stops and starts again (demotion and
 * re-election). What a pass does is plan.ts's (plan.test.ts) and the deploy tests' business.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { RuntimePort } from "../runtime/runtime-port.js";
import type { Db } from "../store/database.js";
import type { Deployer } from "./deployer.js";
import { Reconciler } from "./reconciler.js";
import type { RouteSync } from "./routing.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A reconciler over empty state; `list` may be held to keep a pass in progress. */
function emptyWorld(intervalMs = 3_600_000) {
  let passes = 0;
  let hold: Promise<void> | undefined;
  let release = () => {};
  const runtime = {
    ping: async () => {},
    list: async () => {
      passes++;
      await hold;
      return [];
    },
  } as unknown as RuntimePort;
  const db = { select: () => ({ from: async () => [] }) } as unknown as Db;
  const reconciler = new Reconciler({
    db,
    runtime,
    deployer: {} as Deployer,
    routes: {} as RouteSync,
    intervalMs,
    orphanPolicy: "remove",
    logger: pino({ level: "silent" }),
  });
  return {
    reconciler,
    passes: () => passes,
    holdPasses() {
      hold = new Promise((resolve) => {
        release = resolve;
      });
    },
    releasePasses() {
      hold = undefined;
      release();
    },
  };
}

test("a call while a pass runs gets a pass that starts after it, shared by such calls", async () => {
  const world = emptyWorld();
  world.holdPasses();
  const first = world.reconciler.reconcileOnce();
  await sleep(10);
  assert.equal(world.passes(), 1);
  // The pass in progress read the engine before these calls: they get the next one.
  const second = world.reconciler.reconcileOnce();
  const third = world.reconciler.reconcileOnce();
  assert.equal(second, third);
  assert.notEqual(second, first);
  world.releasePasses();
  assert.ok(await first);
  assert.ok(await second);
  assert.equal(world.passes(), 2);
  // With no pass running, a call starts one at once.
  assert.ok(await world.reconciler.reconcileOnce());
  assert.equal(world.passes(), 3);
  await world.reconciler.close();
});

test("the loop stops on stop() and runs again on start() (demotion, then re-election)", async () => {
  const world = emptyWorld(20);
  world.reconciler.start();
  await sleep(100);
  const whileLeading = world.passes();
  assert.ok(whileLeading >= 2, `passes while leading: ${whileLeading}`);

  await world.reconciler.stop();
  const stopped = world.passes();
  await sleep(100);
  assert.equal(world.passes(), stopped, "no pass while stopped");

  world.reconciler.start();
  world.reconciler.start(); // a second start while running changes nothing
  await sleep(100);
  const again = world.passes() - stopped;
  assert.ok(again >= 2 && again <= 8, `passes after the new start: ${again}`);

  await world.reconciler.close();
  const closed = world.passes();
  world.reconciler.start(); // closed for good
  assert.equal(await world.reconciler.reconcileOnce().then(() => world.passes()), closed + 1);
  await sleep(100);
  assert.equal(world.passes(), closed + 1, "no loop after close()");
});

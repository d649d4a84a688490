import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { heartbeatClock } from "./heartbeat-clock.js";

const NOW = new Date("2026-12-07T12:00:00Z");
const ago = (seconds: number) => ({ lastHeartbeat: new Date(NOW.getTime() - seconds * 1000) });
const judgedAge = (nodes: Array<{ lastHeartbeat: Date | null }>, index: number) =>
  (heartbeatClock(nodes, NOW).getTime() - (nodes[index]?.lastHeartbeat?.getTime() ?? 0)) / 1000;

describe("heartbeatClock", () => {
  it("is the newest heartbeat while heartbeats arrive: a moment behind the clock", () => {
    assert.deepEqual(heartbeatClock([ago(2), ago(4), ago(1)], NOW), ago(1).lastHeartbeat);
  });

  it("finds the one silent node late while the others are heard", () => {
    const nodes = [ago(1), ago(30), ago(3)];
    assert.equal(judgedAge(nodes, 1), 29);
    assert.equal(judgedAge(nodes, 0), 0);
  });

  it("finds no node late when none could write (the database failing over)", () => {
    // Every heartbeat stopped 25 s ago, when PostgreSQL went away; a 15 s timeout.
    const nodes = [ago(25), ago(27), ago(26)];
    for (const index of [0, 1, 2]) assert.ok(judgedAge(nodes, index) <= 2);
  });

  it("is the clock with no heartbeat at all, and never later than the clock", () => {
    assert.deepEqual(heartbeatClock([{ lastHeartbeat: null }], NOW), NOW);
    assert.deepEqual(heartbeatClock([], NOW), NOW);
    assert.deepEqual(heartbeatClock([ago(-5)], NOW), NOW);
  });
});

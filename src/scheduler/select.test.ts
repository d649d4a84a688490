import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { highestTotal } from "./select.js";

describe("highestTotal", () => {
  /** Offers each node's total in index order; null for a node that failed a check. */
  function choose(totals: (number | null)[]): number {
    const selector = highestTotal();
    for (const [i, total] of totals.entries()) if (total !== null) selector.offer(i, total);
    return selector.chosen;
  }

  const cases: [string, (number | null)[], number][] = [
    ["the highest total", [0.2, 0.9, 0.5], 1],
    ["a tie goes to the lowest id (the first offered)", [0.5, 0.9, 0.9], 1],
    ["nodes that failed a check are not offered", [null, 0.1, null], 1],
    ["negative totals (spread penalties) still compete", [-1.5, -0.2, -2], 1],
    ["no feasible node", [null, null], -1],
    ["no node at all", [], -1],
  ];
  for (const [name, totals, expected] of cases) {
    it(name, () => assert.equal(choose(totals), expected));
  }

  it("starts afresh for each pass", () => {
    const first = highestTotal();
    first.offer(0, 1);
    assert.equal(highestTotal().chosen, -1);
  });
});

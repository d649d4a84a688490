import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { strategyFor } from "./snapshot.js";

describe("strategyFor", () => {
  const cases: [string, string][] = [
    ["least-loaded", "least-loaded"],
    ["round-robin", "round-robin"],
    ["resource-based", "resource-based"],
    ["", "least-loaded"],
    ["something-else", "least-loaded"],
  ];
  for (const [stored, expected] of cases) {
    it(`"${stored}" → ${expected}`, () => assert.equal(strategyFor(stored), expected));
  }
});

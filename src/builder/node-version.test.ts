import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { majorForRange, majorFromVersionFile } from "./node-version.js";

describe("majorForRange", () => {
  const cases: [range: string, expected: number | undefined][] = [
    ["*", 22],
    ["", 22],
    [">=18", 22],
    [">= 20.19", 22],
    [">=20.0", 22],
    ["^20.11.0", 20],
    ["20.x", 20],
    ["~20.11.1", 20],
    ["20", 20],
    ["v18.19.0", 18],
    ["18 || 20", 20],
    ["^18.0.0 || ^20.0.0 || >=22.0.0", 22],
    [">=18 <21", 20],
    ["<22", 20],
    ["<=22", 22],
    [">22", 24],
    ["20 - 21", 21],
    ["^24", 24],
    ["26.x", 26],
    [">=99 <98", undefined],
    ["^0.10", undefined],
    ["latest", undefined],
  ];
  for (const [range, expected] of cases) {
    it(`"${range}" → ${expected}`, () => assert.equal(majorForRange(range, 22), expected));
  }
});

describe("majorFromVersionFile", () => {
  const cases: [text: string, expected: number | undefined][] = [
    ["20\n", 20],
    ["v22.3.0", 22],
    ["lts/iron", 20],
    ["lts/jod\n", 22],
    ["node", undefined],
    ["lts/*", undefined],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => assert.equal(majorFromVersionFile(text), expected));
  }
});

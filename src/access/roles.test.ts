import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Action, allows, ROLE_NAMES } from "./roles.js";

describe("allows", () => {
  const table: Record<string, Action[]> = {
    owner: ["read", "write", "manage", "own"],
    admin: ["read", "write", "manage"],
    developer: ["read", "write"],
    viewer: ["read"],
  };
  for (const role of ROLE_NAMES) {
    it(`${role} may do exactly ${table[role]?.join(", ")}`, () => {
      for (const action of ["read", "write", "manage", "own"] as const) {
        assert.equal(allows(role, action), table[role]?.includes(action), action);
      }
    });
  }
});

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";

describe("test platform harness", () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  it("answers WhoAmI for the bootstrap admin", async () => {
    const me = await t.client(AuthService).whoAmI({});
    assert.equal(me.user?.platformAdmin, true);
    assert.equal(me.memberships.length, 1);
  });
});

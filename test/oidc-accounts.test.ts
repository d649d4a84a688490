/**
 * Accounts through OIDC, on the real server with a real issuer (oidc-provider on 127.0.0.1):
 * an identity is known by (issuer, subject) only, so that a verified email never hands over an
 * existing account (the bootstrap administrator's above all).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";
import { type OidcIssuer, startOidcIssuer } from "./helpers/oidc-issuer.js";

describe("OIDC accounts: no takeover by email", () => {
  let op: OidcIssuer;
  let t: TestPlatform;

  before(async () => {
    op = await startOidcIssuer({
      accounts: {
        // Someone at the issuer whose verified email is the bootstrap administrator's.
        mallory: { email: "admin@obiente.local", emailVerified: true, name: "Mallory" },
      },
    });
    t = await startTestPlatform({
      database: "postgres",
      env: { OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: op.audience },
    });
  });
  after(async () => {
    await t?.close();
    await op?.close();
  });

  it("gives a sign-in whose verified email is the admin's a new, unprivileged user", async () => {
    const admin = await t.client(AuthService).whoAmI({});
    assert.equal(admin.user?.platformAdmin, true);
    assert.equal(admin.user?.email, "admin@obiente.local");

    const jwt = await op.getUserAccessToken("mallory");
    const me = await t.client(AuthService, jwt).whoAmI({});
    assert.notEqual(me.user?.id, admin.user?.id, "the OIDC sign-in became the administrator");
    assert.equal(me.user?.platformAdmin, false);
    assert.ok(
      !me.memberships.some((m) =>
        admin.memberships.some((a) => a.organizationId === m.organizationId),
      ),
      "the new user is in the administrator's organization",
    );
    // The administrator's account is as it was: still no OIDC identity, still its token's.
    const again = await t.client(AuthService).whoAmI({});
    assert.equal(again.user?.id, admin.user?.id);
    assert.equal(again.user?.platformAdmin, true);
  });
});

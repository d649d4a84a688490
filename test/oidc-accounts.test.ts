/**
 * Accounts through OIDC, on the real server with a real issuer (oidc-provider on 127.0.0.1):
 * an identity is known by (issuer, subject) only, so that a verified email never hands over an
 * existing account (the bootstrap administrator's above all).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { registerAdminCommands } from "../src/cli/admin-commands.js";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";
import { runCommands } from "./helpers/cli.js";
import { type OidcIssuer, startOidcIssuer } from "./helpers/oidc-issuer.js";

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail("the call was not refused");
}

describe("OIDC accounts (SIGNUP=open): no takeover by email", () => {
  let op: OidcIssuer;
  let t: TestPlatform;

  before(async () => {
    op = await startOidcIssuer({
      accounts: {
        // Someone at the issuer whose verified email is the bootstrap administrator's.
        mallory: { email: "admin@obiente.local", emailVerified: true, name: "Mallory" },
        // Claims the invitee's address, unverified.
        pretender: { email: "invitee@obiente.test", emailVerified: false },
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

  it("lets an invitation be taken by the invited email, verified, and by nothing else", async () => {
    const org = (await t.client(OrganizationService).createOrganization({ name: "Invites Inc" }))
      .organization;
    assert.ok(org);
    await t.client(OrganizationService).addMember({
      organizationId: org.id,
      email: "Invitee@Obiente.test",
      role: Role.DEVELOPER,
    });
    const listed = await t.client(OrganizationService).listMembers({ organizationId: org.id });
    assert.equal(listed.members.find((m) => m.email === "invitee@obiente.test")?.invited, true);

    // The address, not verified: a user of its own, not the invitation.
    const unverified = await t
      .client(AuthService, await op.getUserAccessToken("pretender"))
      .whoAmI({});
    assert.ok(!unverified.memberships.some((m) => m.organizationId === org.id));
    assert.match(unverified.user?.email ?? "", /@oidc\.invalid$/);

    const me = await t.client(AuthService, await op.getUserAccessToken("invitee")).whoAmI({});
    assert.deepEqual(
      me.memberships.map((m) => [m.organizationId, m.role]),
      [[org.id, Role.DEVELOPER]],
    );
    assert.equal(me.user?.oidcSubject, "invitee");
    const after = await t.client(OrganizationService).listMembers({ organizationId: org.id });
    assert.equal(after.members.find((m) => m.email === "invitee@obiente.test")?.invited, false);
  });

  it("links an identity to an account only when a platform administrator says so", async () => {
    // The operator signs in first: an account of their own, unprivileged.
    const first = await t.client(AuthService, await op.getUserAccessToken("operator")).whoAmI({});
    assert.equal(first.user?.platformAdmin, false);
    const admin = (await t.client(AuthService).whoAmI({})).user;
    assert.ok(admin);

    // Nobody else may link.
    const denied = await refusal(
      t
        .client(AuthService, await op.getUserAccessToken("operator"))
        .linkIdentity({ user: admin.email, issuer: op.issuer, subject: "operator", move: true }),
    );
    assert.equal(Code[denied.code], "PermissionDenied", denied.rawMessage);

    // The identity is someone's: refused unless moved.
    const taken = await refusal(
      t
        .client(AuthService)
        .linkIdentity({ user: admin.email, issuer: op.issuer, subject: "operator" }),
    );
    assert.equal(Code[taken.code], "AlreadyExists", taken.rawMessage);
    assert.match(taken.rawMessage, /pass move to take it from them/);
    for (const [input, message] of [
      [{ user: admin.email, issuer: "not a url", subject: "operator" }, /issuer must be/],
      [{ user: admin.email, issuer: op.issuer, subject: "" }, /subject must be/],
      [
        { user: "nobody@nowhere.test", issuer: op.issuer, subject: "operator" },
        /user nobody@nowhere.test not found/,
      ],
    ] as const) {
      const bad = await refusal(t.client(AuthService).linkIdentity(input));
      assert.match(bad.rawMessage, message);
    }

    // Through the CLI, as the operator would: `obiente users link`.
    const printed = await runCommands(
      [registerAdminCommands],
      ["users", "link", admin.email, "--issuer", op.issuer, "--subject", "operator", "--move"],
      { api: t.baseUrl, token: t.adminToken },
    );
    assert.match(
      printed[0] ?? "",
      new RegExp(
        `^admin@obiente\\.local \\(${admin.id}\\) now signs in as .* operator; taken from user ${first.user?.id}$`,
      ),
    );
    const now = await t.client(AuthService, await op.getUserAccessToken("operator")).whoAmI({});
    assert.equal(now.user?.id, admin.id);
    assert.equal(now.user?.platformAdmin, true);
    assert.equal(now.user?.oidcIssuer, op.issuer);
  });
});

describe("OIDC sign-ups: SIGNUP=invite and SIGNUP=closed", () => {
  let op: OidcIssuer;
  let invite: TestPlatform;
  let closed: TestPlatform;

  before(async () => {
    op = await startOidcIssuer({
      accounts: { unverified: { email: "guest@obiente.test", emailVerified: false } },
    });
    const env = { OIDC_ISSUER: op.issuer, OIDC_AUDIENCE: op.audience };
    invite = await startTestPlatform({ env: { ...env, SIGNUP: "invite" } });
    closed = await startTestPlatform({ env: { ...env, SIGNUP: "closed" } });
  });
  after(async () => {
    await invite?.close();
    await closed?.close();
    await op?.close();
  });

  it("invite: only someone invited gets in, into the organization that invited them", async () => {
    const stranger = await refusal(
      invite.client(AuthService, await op.getUserAccessToken("stranger")).whoAmI({}),
    );
    assert.equal(Code[stranger.code], "PermissionDenied", stranger.rawMessage);
    assert.match(
      stranger.rawMessage,
      /^this platform takes new accounts by invitation only, and stranger@obiente\.test has no invitation: ask an organization's administrator to invite stranger@obiente\.test$/,
    );
    const org = (await invite.client(OrganizationService).createOrganization({ name: "Guests" }))
      .organization;
    assert.ok(org);
    await invite.client(OrganizationService).addMember({
      organizationId: org.id,
      email: "guest@obiente.test",
      role: Role.VIEWER,
    });
    // The invited address, but not verified by the issuer: still refused.
    const unverified = await refusal(
      invite.client(AuthService, await op.getUserAccessToken("unverified")).whoAmI({}),
    );
    assert.equal(Code[unverified.code], "PermissionDenied", unverified.rawMessage);
    const guest = await invite.client(AuthService, await op.getUserAccessToken("guest")).whoAmI({});
    assert.deepEqual(
      guest.memberships.map((m) => [m.organizationId, m.role]),
      [[org.id, Role.VIEWER]],
      "the invitation's organization, and no organization of their own",
    );
    // Once in, they stay in.
    const again = await invite.client(AuthService, await op.getUserAccessToken("guest")).whoAmI({});
    assert.equal(again.user?.id, guest.user?.id);
  });

  it("closed: nobody new, not even with an invitation; a linked identity gets in", async () => {
    const org = (await closed.client(OrganizationService).createOrganization({ name: "Closed" }))
      .organization;
    assert.ok(org);
    const added = await closed.client(OrganizationService).addMember({
      organizationId: org.id,
      email: "member@obiente.test",
      role: Role.DEVELOPER,
    });
    for (const account of ["newcomer", "member"]) {
      const refused = await refusal(
        closed.client(AuthService, await op.getUserAccessToken(account)).whoAmI({}),
      );
      assert.equal(Code[refused.code], "PermissionDenied", refused.rawMessage);
      assert.equal(
        refused.rawMessage,
        `this platform takes no new accounts: ask a platform administrator to link your identity (issuer ${op.issuer}, subject ${account}) to an account`,
      );
    }
    await closed
      .client(AuthService)
      .linkIdentity({ user: added.member?.userId ?? "", issuer: op.issuer, subject: "member" });
    const member = await closed
      .client(AuthService, await op.getUserAccessToken("member"))
      .whoAmI({});
    assert.equal(member.user?.id, added.member?.userId);
    assert.deepEqual(
      member.memberships.map((m) => m.organizationId),
      [org.id],
    );
  });
});

/**
 * Authentication at the API edge, with the platform in this process and a real OIDC issuer
 * (oidc-provider on 127.0.0.1): every way a request can fail to authenticate answers
 * Unauthenticated (HTTP 401 on the REST alias), OIDC users are provisioned on first sign-in, and
 * API tokens act as the user who made them and never show their secret again.
 *
 * Tokens no well-behaved issuer hands out (expired, another issuer, another audience) are signed
 * with a local key that the API trusts next to the issuer's own: the API is pointed
 * (OIDC_JWKS_URI) at a key set serving both, so that these tokens fail on the claim being tested
 * and not on their signature.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { eq } from "drizzle-orm";
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { hashApiToken } from "../src/crypto/tokens.js";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { apiTokens } from "../src/store/schema.js";
import { startTestPlatform, type TestPlatform, transport } from "./helpers/api.js";
import { type OidcIssuer, startOidcIssuer } from "./helpers/oidc-issuer.js";

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const nowSec = () => Math.floor(Date.now() / 1000);

async function rejectsUnauthenticated(promise: Promise<unknown>, message?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConnectError, `not a ConnectError: ${String(error)}`);
    assert.equal(error.code, Code.Unauthenticated, error.message);
    if (message) assert.match(error.rawMessage, message);
    assert.doesNotMatch(error.rawMessage, /JWS|JWT|JWK|JOSE|ERR_|stack/, "internals leaked");
    return true;
  });
}

describe("API authentication", () => {
  let op: OidcIssuer;
  let keys: Server;
  let localKey: CryptoKey;
  let t: TestPlatform;

  /** A token signed with a key the API trusts, with whatever claims the test needs. */
  const sign = (claims: JWTPayload) =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "local-1" }).sign(localKey);
  const claims = (): JWTPayload => ({
    iss: op.issuer,
    aud: op.audience,
    sub: "crafted-user",
    iat: nowSec(),
    exp: nowSec() + 300,
  });

  /** GET /api/v1/organizations with this Authorization header (or none). */
  const restWith = async (authorization: string | undefined) => {
    const response = await fetch(`${t.baseUrl}/api/v1/organizations`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  /** WhoAmI with a raw Authorization header, through the Connect client. */
  const whoAmIWith = (authorization: string | undefined) =>
    createClient(AuthService, transport(t.baseUrl, undefined)).whoAmI(
      {},
      authorization === undefined ? {} : { headers: { authorization } },
    );

  async function refused(authorization: string | undefined, message?: RegExp) {
    await rejectsUnauthenticated(whoAmIWith(authorization), message);
    const rest = await restWith(authorization);
    assert.equal(rest.status, 401, JSON.stringify(rest.body));
    assert.equal(rest.body.code, "unauthenticated");
    if (message) assert.match(String(rest.body.message), message);
  }

  before(async () => {
    op = await startOidcIssuer();
    const pair = await generateKeyPair("ES256", { extractable: true });
    localKey = pair.privateKey;
    const local: JWK = { ...(await exportJWK(pair.publicKey)), kid: "local-1", alg: "ES256" };
    const discovery = (await (
      await fetch(`${op.issuer}/.well-known/openid-configuration`)
    ).json()) as { jwks_uri: string };
    const issuerKeys = (await (await fetch(discovery.jwks_uri)).json()) as { keys: JWK[] };
    const body = JSON.stringify({ keys: [...issuerKeys.keys, local] });
    keys = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(body),
    );
    await new Promise<void>((resolve) => keys.listen(0, "127.0.0.1", resolve));
    // PostgreSQL rather than PGlite: concurrent requests really run concurrently there.
    t = await startTestPlatform({
      database: "postgres",
      env: {
        OIDC_ISSUER: op.issuer,
        OIDC_AUDIENCE: op.audience,
        OIDC_JWKS_URI: `http://127.0.0.1:${(keys.address() as AddressInfo).port}/jwks`,
      },
    });
  });

  after(async () => {
    await t?.close();
    keys?.closeAllConnections();
    await new Promise((resolve) => keys?.close(resolve));
    await op?.close();
  });

  describe("refuses", () => {
    it("a request without a token", async () => {
      await refused(undefined, /missing Authorization header/);
      await refused("", /missing Authorization header/);
    });

    it("malformed tokens and other schemes", async () => {
      await refused("Bearer garbage", /^malformed token$/);
      await refused("Basic xyz", /unsupported Authorization scheme/);
      await refused("Bearer", /malformed Authorization header/);
      await refused("Bearer a b", /malformed Authorization header/);
      await refused("Bearer obt_short", /malformed API token/);
      await refused("Bearer a.b.c", /^malformed token$/);
    });

    it("an API token that was never issued", async () => {
      await refused(`Bearer obt_${"A".repeat(43)}`, /API token is not valid/);
    });

    it("a revoked API token", async () => {
      const admin = t.client(AuthService);
      const { token, apiToken } = await admin.createApiToken({ name: "to revoke" });
      assert.ok(apiToken);
      assert.equal((await t.client(AuthService, token).whoAmI({})).authMethod, "api_token");
      await admin.revokeApiToken({ id: apiToken.id });
      await refused(`Bearer ${token}`, /revoked/);
      const listed = (await admin.listApiTokens({})).apiTokens.find((x) => x.id === apiToken.id);
      assert.ok(listed?.revokedAt, "the revoked token is listed as revoked");
    });

    it("an expired API token", async () => {
      const admin = t.client(AuthService);
      const { token, apiToken } = await admin.createApiToken({
        name: "soon gone",
        expiresInDays: 1,
      });
      assert.ok(apiToken?.expiresAt);
      assert.equal((await t.client(AuthService, token).whoAmI({})).authMethod, "api_token");
      await t.platform.database.db
        .update(apiTokens)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(apiTokens.id, apiToken.id));
      await refused(`Bearer ${token}`, /expired/);
    });

    it("an expired JWT", async () => {
      await refused(
        `Bearer ${await sign({ ...claims(), iat: nowSec() - 3600, exp: nowSec() - 600 })}`,
        /^token expired$/,
      );
    });

    it("a JWT from another issuer", async () => {
      await refused(
        `Bearer ${await sign({ ...claims(), iss: "https://evil.example.com" })}`,
        /^token issuer is not trusted$/,
      );
    });

    it("a JWT for another audience", async () => {
      await refused(
        `Bearer ${await sign({ ...claims(), aud: "https://other-api.example.com" })}`,
        /wrong audience/,
      );
    });

    it('an unsigned JWT (alg "none"), and one "signed" with a shared secret', async () => {
      await refused(
        `Bearer ${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims())}.`,
        /alg "none"/,
      );
      await refused(
        `Bearer ${base64url({ alg: "HS256", typ: "JWT" })}.${base64url(claims())}.c2lnbmF0dXJl`,
        /signing algorithm is not accepted/,
      );
    });

    it("a real token whose payload was changed, or one signed with an unknown key", async () => {
      const [header, payload, signature] = (await op.getUserAccessToken("mallory")).split(".");
      const changed = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as JWTPayload;
      await refused(
        `Bearer ${header}.${base64url({ ...changed, sub: "someone-else" })}.${signature}`,
        /^token signature is not valid$/,
      );
      const rogue = await generateKeyPair("ES256");
      const forged = await new SignJWT(claims())
        .setProtectedHeader({ alg: "ES256", kid: "rogue" })
        .sign(rogue.privateKey);
      await refused(`Bearer ${forged}`, /not signed with a key of the trusted issuer/);
    });
  });

  describe("OIDC users", () => {
    it("are provisioned on first sign-in with a personal organization, then recognised", async () => {
      const token = await op.getUserAccessToken("alice");
      const me = await t.client(AuthService, token).whoAmI({});
      assert.equal(me.authMethod, "oidc");
      assert.equal(me.user?.email, "alice@obiente.test");
      assert.equal(me.user?.displayName, "alice");
      assert.equal(me.user?.platformAdmin, false);
      assert.equal(me.memberships.length, 1);
      assert.equal(me.memberships[0]?.role, Role.OWNER);
      assert.equal(me.memberships[0]?.organizationName, "alice projects");

      // The same token again, and a new token for the same account: the same user.
      const again = await t.client(AuthService, token).whoAmI({});
      assert.equal(again.user?.id, me.user?.id);
      const later = await t.client(AuthService, await op.getUserAccessToken("alice")).whoAmI({});
      assert.equal(later.user?.id, me.user?.id);
      assert.equal(later.memberships.length, 1);
      const orgs = await t.client(OrganizationService, token).listOrganizations({});
      assert.deepEqual(
        orgs.organizations.map((o) => o.id),
        [me.memberships[0]?.organizationId],
      );

      // The REST alias authenticates the same way.
      const rest = await restWith(`Bearer ${token}`);
      assert.equal(rest.status, 200);
      assert.deepEqual(
        (rest.body.organizations as Array<{ id: string }>).map((o) => o.id),
        [me.memberships[0]?.organizationId],
      );
    });

    it("are provisioned once when their first requests arrive together", async () => {
      const token = await op.getUserAccessToken("erin");
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () => t.client(AuthService, token).whoAmI({})),
      );
      const failures = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
      assert.deepEqual(failures, []);
      const ids = new Set(
        results.map((r) => (r.status === "fulfilled" ? r.value.user?.id : undefined)),
      );
      assert.equal(ids.size, 1);
      const me = await t.client(AuthService, token).whoAmI({});
      assert.equal(me.memberships.length, 1, "one personal organization");
    });

    it("accept service tokens (client credentials), which carry no email", async () => {
      const me = await t.client(AuthService, await op.getAccessToken()).whoAmI({});
      assert.equal(me.authMethod, "oidc");
      assert.match(me.user?.email ?? "", /@oidc\.invalid$/);
      assert.equal(me.user?.platformAdmin, false);
    });

    it("make API tokens that act as them", async () => {
      const jwt = await op.getUserAccessToken("bob");
      const bob = await t.client(AuthService, jwt).whoAmI({});
      const { token, apiToken } = await t
        .client(AuthService, jwt)
        .createApiToken({ name: "bob's laptop" });
      assert.match(token, /^obt_/);
      assert.equal(apiToken?.prefix, token.slice(0, 12));
      const viaToken = await t.client(AuthService, token).whoAmI({});
      assert.equal(viaToken.authMethod, "api_token");
      assert.equal(viaToken.user?.id, bob.user?.id);
      assert.equal(viaToken.user?.email, "bob@obiente.test");
      assert.deepEqual(viaToken.memberships, bob.memberships);
      // Listed for bob, not for the administrator.
      const bobs = await t.client(AuthService, token).listApiTokens({});
      assert.deepEqual(
        bobs.apiTokens.map((x) => x.id),
        [apiToken?.id],
      );
      const admins = await t.client(AuthService).listApiTokens({});
      assert.ok(!admins.apiTokens.some((x) => x.id === apiToken?.id));
    });
  });

  describe("API tokens", () => {
    it("are never listed with their secret or its hash", async () => {
      const { token, apiToken } = await t.client(AuthService).createApiToken({ name: "ci" });
      assert.ok(apiToken);
      const response = await fetch(`${t.baseUrl}/obiente.cloud.auth.v1.AuthService/ListApiTokens`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${t.adminToken}` },
        body: "{}",
      });
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.ok(text.includes(apiToken.id), "the new token is listed");
      assert.ok(text.includes(apiToken.prefix));
      for (const secret of [token, t.adminToken]) {
        assert.ok(!text.includes(secret), "a token's secret is listed");
        assert.ok(!text.includes(secret.slice(12)), "part of a token's secret is listed");
        assert.ok(!text.includes(hashApiToken(secret)), "a token's hash is listed");
      }
      const listed = JSON.parse(text) as { apiTokens: Array<Record<string, unknown>> };
      for (const entry of listed.apiTokens) {
        assert.deepEqual(
          Object.keys(entry).filter(
            (k) =>
              ![
                "id",
                "name",
                "prefix",
                "createdAt",
                "expiresAt",
                "lastUsedAt",
                "revokedAt",
              ].includes(k),
          ),
          [],
        );
      }
    });

    it("cannot be revoked by another user (NotFound), in either direction", async () => {
      const carol = await op.getUserAccessToken("carol");
      const carolsToken = await t.client(AuthService, carol).createApiToken({ name: "carol's" });
      const adminsToken = await t.client(AuthService).createApiToken({ name: "admin's" });
      const notFound = (error: unknown) => {
        assert.ok(error instanceof ConnectError);
        assert.equal(error.code, Code.NotFound, error.message);
        return true;
      };
      await assert.rejects(
        t.client(AuthService, carol).revokeApiToken({ id: adminsToken.apiToken?.id ?? "" }),
        notFound,
      );
      // A platform administrator cannot revoke a user's token through this RPC either.
      await assert.rejects(
        t.client(AuthService).revokeApiToken({ id: carolsToken.apiToken?.id ?? "" }),
        notFound,
      );
      // Both tokens still work.
      assert.equal(
        (await t.client(AuthService, adminsToken.token).whoAmI({})).user?.platformAdmin,
        true,
      );
      assert.equal(
        (await t.client(AuthService, carolsToken.token).whoAmI({})).user?.email,
        "carol@obiente.test",
      );
      // And the owner can.
      await t.client(AuthService, carol).revokeApiToken({ id: carolsToken.apiToken?.id ?? "" });
      await rejectsUnauthenticated(t.client(AuthService, carolsToken.token).whoAmI({}), /revoked/);
    });
  });
});

import assert from "node:assert/strict";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  type CryptoKey,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import {
  type ApiTokenRecord,
  Authenticator,
  type AuthLookups,
  type AuthUser,
  type OidcUserIdentity,
} from "../src/auth/index.js";
import { OidcVerifier } from "../src/auth/oidc-verifier.js";
import { generateApiToken } from "../src/crypto/index.js";
import { DomainError, type DomainErrorKind } from "../src/domain/errors.js";
import { type OidcIssuer, startOidcIssuer } from "./helpers/oidc-issuer.js";

/**
 * Authentication against a real OIDC issuer (oidc-provider on 127.0.0.1), and against a key set
 * served locally for the tokens no well-behaved issuer hands out (expired, wrong issuer, …).
 */

/** The store's side of authentication, in memory: users by id, OIDC users by issuer + subject. */
class MemoryLookups implements AuthLookups {
  readonly users = new Map<string, AuthUser>();
  readonly tokens = new Map<string, ApiTokenRecord>();
  readonly #oidcUsers = new Map<string, string>();

  async findApiToken(hash: string) {
    return this.tokens.get(hash);
  }
  async findUser(userId: string) {
    return this.users.get(userId);
  }
  async upsertOidcUser(identity: OidcUserIdentity) {
    const key = `${identity.issuer} ${identity.subject}`;
    const id = this.#oidcUsers.get(key) ?? `user-${this.#oidcUsers.size + 1}`;
    this.#oidcUsers.set(key, id);
    const user = {
      id,
      email: identity.email ?? "",
      displayName: identity.name ?? identity.subject,
      platformAdmin: false,
    };
    this.users.set(id, user);
    return user;
  }
}

async function rejectsWith(promise: Promise<unknown>, kind: DomainErrorKind, message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DomainError, `not a DomainError: ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /JWS|JWT|JWK|JOSE|ERR_/, "jose internals leaked");
    return true;
  });
}

async function listen(handler: RequestListener): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function closeServer(server: Server) {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const json = (body: unknown): RequestListener => {
  return (_req, res) =>
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
};

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const nowSec = () => Math.floor(Date.now() / 1000);

describe("OIDC against a real issuer", () => {
  let op: OidcIssuer;
  let verifier: OidcVerifier;

  before(async () => {
    op = await startOidcIssuer();
    verifier = new OidcVerifier({ issuer: op.issuer, audience: op.audience });
  });
  after(() => op.close());

  it("verifies a client-credentials access token, discovering the keys", async () => {
    const token = await op.getAccessToken();
    const identity = await verifier.verify(token);
    assert.equal(identity.issuer, op.issuer);
    assert.equal(identity.subject, "obiente-test-service");
    assert.equal(identity.email, undefined);
    assert.equal(identity.claims.aud, op.audience);
  });

  it("signs a user in with a token from the authorization code flow", async () => {
    const lookups = new MemoryLookups();
    const authenticator = new Authenticator({ oidc: verifier, lookups });

    const token = await op.getUserAccessToken("alice");
    const principal = await authenticator.authenticate(`Bearer ${token}`);
    assert.deepEqual(principal, {
      userId: "user-1",
      email: "alice@obiente.test",
      displayName: "alice",
      platformAdmin: false,
      method: "oidc",
    });

    // The same subject is the same user, with a fresh token.
    const again = await authenticator.authenticate(
      `Bearer ${await op.getUserAccessToken("alice")}`,
    );
    assert.equal(again.userId, "user-1");
    const bob = await authenticator.authenticate(`Bearer ${await op.getUserAccessToken("bob")}`);
    assert.equal(bob.userId, "user-2");
  });

  it("rejects a token for another audience", async () => {
    const other = new OidcVerifier({ issuer: op.issuer, audience: "https://other-api.test" });
    await rejectsWith(
      other.verify(await op.getAccessToken()),
      "unauthenticated",
      /^token is not meant for this API \(wrong audience\)$/,
    );
  });

  it("rejects a token whose payload was changed after signing", async () => {
    const [header, payload, signature] = (await op.getAccessToken()).split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    const forged = `${header}.${base64url({ ...claims, sub: "admin" })}.${signature}`;
    await rejectsWith(verifier.verify(forged), "unauthenticated", /^token signature is not valid$/);
  });

  it("rejects a token signed with a key the issuer does not publish", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const real = decodeJwt(await op.getAccessToken());
    const rogue = await new SignJWT(real)
      .setProtectedHeader({ alg: "RS256", kid: "rogue" })
      .sign(privateKey);
    await rejectsWith(
      verifier.verify(rogue),
      "unauthenticated",
      /^token was not signed with a key of the trusted issuer$/,
    );
    // Same key id as the issuer's key, different key: the signature does not verify.
    const [realHeader] = (await op.getAccessToken()).split(".");
    const [, body, sig] = rogue.split(".");
    await rejectsWith(
      verifier.verify(`${realHeader}.${body}.${sig}`),
      "unauthenticated",
      /^token signature is not valid$/,
    );
  });

  it('rejects an unsigned token (alg "none") without asking the issuer', async () => {
    const claims = decodeJwt(await op.getAccessToken());
    const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`;
    const authenticator = new Authenticator({ oidc: verifier, lookups: new MemoryLookups() });
    await rejectsWith(
      authenticator.authenticate(`Bearer ${unsigned}`),
      "unauthenticated",
      /^unsigned tokens \(alg "none"\) are not accepted$/,
    );
    const signedWithSecret = `${base64url({ alg: "HS256" })}.${base64url(claims)}.c2ln`;
    await rejectsWith(
      verifier.verify(signedWithSecret),
      "unauthenticated",
      /^token signing algorithm is not accepted/,
    );
  });

  it("rejects malformed tokens", async () => {
    const authenticator = new Authenticator({ oidc: verifier, lookups: new MemoryLookups() });
    for (const token of [
      "a.b.c",
      `${base64url("just a string")}.e30.c2ln`,
      "e30.bm90IGpzb24.c2ln",
    ]) {
      await rejectsWith(
        authenticator.authenticate(`Bearer ${token}`),
        "unauthenticated",
        /^malformed token$/,
      );
    }
    await rejectsWith(
      authenticator.authenticate("Bearer nonsense"),
      "unauthenticated",
      /^malformed token$/,
    );
    await rejectsWith(verifier.verify("not a token"), "unauthenticated", /^malformed token$/);
  });

  it("rejects a request without an Authorization header", async () => {
    const authenticator = new Authenticator({ oidc: verifier, lookups: new MemoryLookups() });
    await rejectsWith(
      authenticator.authenticate(undefined),
      "unauthenticated",
      /^missing Authorization header: send 'Authorization: Bearer <token>'$/,
    );
  });
});

describe("OIDC tokens no issuer should hand out (local key set)", () => {
  const issuer = "https://issuer.obiente.test";
  const audience = "https://api.obiente.test";
  let keys: { url: string; server: Server };
  let signingKey: CryptoKey;
  let verifier: OidcVerifier;

  const sign = (claims: JWTPayload, header: { alg?: string; kid?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: "local-1", ...header })
      .sign(signingKey);
  const valid = (): JWTPayload => ({
    iss: issuer,
    aud: audience,
    sub: "user-42",
    iat: nowSec(),
    exp: nowSec() + 300,
  });

  before(async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    signingKey = pair.privateKey;
    const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "local-1", alg: "ES256" };
    keys = await listen(json({ keys: [publicJwk] }));
    // The key set is given, so no discovery: the issuer's host is never contacted.
    verifier = new OidcVerifier({
      issuer,
      audience: [audience, "https://api2.obiente.test"],
      jwksUri: `${keys.url}/jwks`,
      clockToleranceSec: 5,
    });
  });
  after(() => closeServer(keys.server));

  it("accepts a well-formed token and reads the profile claims", async () => {
    const identity = await verifier.verify(
      await sign({
        ...valid(),
        email: "ada@example.com",
        email_verified: "true",
        preferred_username: "ada",
        roles: ["admin"],
      }),
    );
    assert.equal(identity.subject, "user-42");
    assert.equal(identity.email, "ada@example.com");
    assert.equal(identity.emailVerified, true);
    assert.equal(identity.name, "ada");
    assert.deepEqual(identity.claims.roles, ["admin"]);
  });

  it("rejects an expired token", async () => {
    const token = await sign({ ...valid(), iat: nowSec() - 3600, exp: nowSec() - 60 });
    await rejectsWith(verifier.verify(token), "unauthenticated", /^token expired$/);
  });

  it("tolerates a little clock skew", async () => {
    await verifier.verify(await sign({ ...valid(), exp: nowSec() - 2 }));
  });

  it("rejects a token without an expiry time, or without a subject", async () => {
    const { exp: _exp, ...noExpiry } = valid();
    await rejectsWith(
      verifier.verify(await sign(noExpiry)),
      "unauthenticated",
      /^token has no expiry time$/,
    );
    const { sub: _sub, ...noSubject } = valid();
    await rejectsWith(
      verifier.verify(await sign(noSubject)),
      "unauthenticated",
      /^token has no subject$/,
    );
  });

  it("rejects a token that is not valid yet", async () => {
    const token = await sign({ ...valid(), nbf: nowSec() + 600 });
    await rejectsWith(verifier.verify(token), "unauthenticated", /^token is not valid yet$/);
  });

  it("rejects a token from another issuer", async () => {
    const token = await sign({ ...valid(), iss: "https://evil.example.com" });
    await rejectsWith(verifier.verify(token), "unauthenticated", /^token issuer is not trusted$/);
  });

  it("rejects a token for another audience, accepts any of the configured ones", async () => {
    const wrong = await sign({ ...valid(), aud: ["https://other.example.com"] });
    await rejectsWith(verifier.verify(wrong), "unauthenticated", /wrong audience/);
    await verifier.verify(await sign({ ...valid(), aud: ["x", "https://api2.obiente.test"] }));
  });
});

describe("API tokens next to OIDC", () => {
  const lookups = new MemoryLookups();
  const authenticator = new Authenticator({ lookups });
  lookups.users.set("u1", {
    id: "u1",
    email: "u1@example.com",
    displayName: "U",
    platformAdmin: false,
  });

  const addToken = (fields: Partial<ApiTokenRecord>) => {
    const { token, hash } = generateApiToken();
    lookups.tokens.set(hash, {
      tokenId: hash.slice(0, 8),
      userId: "u1",
      revokedAt: null,
      expiresAt: null,
      ...fields,
    });
    return token;
  };

  it("accepts a valid token", async () => {
    const principal = await authenticator.authenticate(`Bearer ${addToken({})}`);
    assert.equal(principal.method, "api_token");
    assert.equal(principal.userId, "u1");
  });

  it("rejects a revoked token", async () => {
    const token = addToken({ revokedAt: new Date(Date.now() - 1000) });
    await rejectsWith(authenticator.authenticate(`Bearer ${token}`), "unauthenticated", /revoked/);
  });

  it("rejects an expired token", async () => {
    const token = addToken({ expiresAt: new Date(Date.now() - 1000) });
    await rejectsWith(authenticator.authenticate(`Bearer ${token}`), "unauthenticated", /expired/);
  });
});

describe("OIDC issuer unavailable", () => {
  it("reports an unreachable issuer as unavailable", async () => {
    const { url, server } = await listen(() => {});
    await closeServer(server); // nothing listens on that port any more
    const verifier = new OidcVerifier({ issuer: url, audience: "a", fetchTimeoutMs: 2000 });
    const token = `${base64url({ alg: "RS256" })}.${base64url({ sub: "x" })}.c2ln`;
    await rejectsWith(verifier.verify(token), "unavailable", /cannot reach the OIDC issuer/);
  });

  it("does not cache a failed discovery: recovers once the issuer answers", async () => {
    let up = false;
    let proxyUrl = "";
    const op = await startOidcIssuer();
    const proxy = await listen(async (req, res) => {
      if (!up) {
        res.writeHead(503).end();
        return;
      }
      const upstream = await fetch(`${op.issuer}${req.url}`);
      // Serve the issuer's own discovery document under the proxy's address.
      const body = (await upstream.text()).replaceAll(op.issuer, proxyUrl);
      res.writeHead(upstream.status, { "content-type": "application/json" }).end(body);
    });
    proxyUrl = proxy.url;
    try {
      const verifier = new OidcVerifier({ issuer: proxyUrl, audience: op.audience });
      const token = await op.getAccessToken();
      await rejectsWith(verifier.verify(token), "unavailable", /answered HTTP 503/);
      up = true;
      // Discovery now works, but the token names the real issuer, not the proxy.
      await rejectsWith(verifier.verify(token), "unauthenticated", /issuer is not trusted/);
    } finally {
      await closeServer(proxy.server);
      await op.close();
    }
  });

  it("refuses a discovery document for another issuer", async () => {
    const { url, server } = await listen(json({ issuer: "https://elsewhere.test", jwks_uri: "x" }));
    try {
      const verifier = new OidcVerifier({ issuer: url, audience: "a" });
      const token = `${base64url({ alg: "RS256" })}.${base64url({ sub: "x" })}.c2ln`;
      await rejectsWith(
        verifier.verify(token),
        "unavailable",
        /is for issuer "https:\/\/elsewhere.test"/,
      );
    } finally {
      await closeServer(server);
    }
  });

  it("reports a key set that cannot be fetched as unavailable", async () => {
    const { url, server } = await listen((_req, res) => res.writeHead(404).end());
    try {
      const verifier = new OidcVerifier({
        issuer: "https://id.test",
        audience: "a",
        jwksUri: `${url}/jwks`,
      });
      const token = `${base64url({ alg: "RS256" })}.${base64url({ sub: "x" })}.c2ln`;
      await rejectsWith(verifier.verify(token), "unavailable", /cannot fetch the signing keys/);
    } finally {
      await closeServer(server);
    }
  });

  it("refuses a configuration it cannot work with", () => {
    assert.throws(
      () => new OidcVerifier({ issuer: "issuer.test", audience: "a" }),
      /http\(s\) URL/,
    );
    assert.throws(
      () => new OidcVerifier({ issuer: "https://id.test", audience: "a", algorithms: ["HS256"] }),
      /cannot be verified with HS256/,
    );
    assert.throws(() => new OidcVerifier({ issuer: "https://id.test", audience: [] }), /audience/);
  });
});

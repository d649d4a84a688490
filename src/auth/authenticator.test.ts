import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateApiToken } from "../crypto/tokens.js";
import { DomainError } from "../domain/errors.js";
import {
  type ApiTokenRecord,
  Authenticator,
  type AuthLookups,
  type AuthUser,
  type OidcUserIdentity,
} from "./authenticator.js";
import type { OidcIdentity } from "./oidc-verifier.js";

const NOW = new Date("2030-01-01T12:00:00Z");

/** The store's side of authentication, in memory. */
class MemoryLookups implements AuthLookups {
  readonly users = new Map<string, AuthUser>();
  readonly tokens = new Map<string, ApiTokenRecord>();
  readonly touched: string[] = [];
  readonly upserts: OidcUserIdentity[] = [];
  failTouch = false;

  async findApiToken(hash: string) {
    return this.tokens.get(hash);
  }
  async touchApiToken(tokenId: string) {
    if (this.failTouch) throw new Error("database is read-only");
    this.touched.push(tokenId);
  }
  async findUser(userId: string) {
    return this.users.get(userId);
  }
  async upsertOidcUser(identity: OidcUserIdentity) {
    this.upserts.push(identity);
    const user = {
      id: `user-${identity.subject}`,
      email: identity.email ?? "",
      displayName: identity.name ?? identity.subject,
      platformAdmin: false,
    };
    this.users.set(user.id, user);
    return user;
  }

  addUser(id: string, platformAdmin = false): AuthUser {
    const user = { id, email: `${id}@example.com`, displayName: id, platformAdmin };
    this.users.set(id, user);
    return user;
  }
  addToken(userId: string, fields: Partial<ApiTokenRecord> = {}): string {
    const { token, hash } = generateApiToken();
    const tokenId = `token-${this.tokens.size + 1}`;
    this.tokens.set(hash, { tokenId, userId, revokedAt: null, expiresAt: null, ...fields });
    return token;
  }
}

function setup(options: { oidc?: { verify(token: string): Promise<OidcIdentity> } } = {}) {
  const lookups = new MemoryLookups();
  const backgroundErrors: unknown[] = [];
  const authenticator = new Authenticator({
    lookups,
    now: () => NOW,
    onBackgroundError: (error) => backgroundErrors.push(error),
    ...options,
  });
  return { lookups, authenticator, backgroundErrors };
}

async function rejectsUnauthenticated(promise: Promise<unknown>, message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DomainError, `not a DomainError: ${String(error)}`);
    assert.equal(error.kind, "unauthenticated");
    assert.match(error.message, message);
    return true;
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("Authenticator: the Authorization header", () => {
  const { authenticator } = setup();

  it("explains a missing header", async () => {
    for (const header of [undefined, "", "   "]) {
      await rejectsUnauthenticated(
        authenticator.authenticate(header),
        /^missing Authorization header: send 'Authorization: Bearer <token>'$/,
      );
    }
  });

  it("accepts only the Bearer scheme", async () => {
    for (const header of ["Basic dXNlcjpwYXNz", "Token obt_x", "Bearerobt_x", "obt_x"]) {
      await rejectsUnauthenticated(
        authenticator.authenticate(header),
        /unsupported Authorization scheme/,
      );
    }
  });

  it("wants exactly one token after Bearer", async () => {
    for (const header of ["Bearer", "Bearer ", "Bearer a b", "Bearer\ta"]) {
      await rejectsUnauthenticated(authenticator.authenticate(header), /malformed|unsupported/);
    }
  });

  it("calls anything that is neither an API token nor a JWT malformed", async () => {
    for (const token of ["abc", "a.b", "a.b.c.d", "a.b+c.d", "x".repeat(20_000)]) {
      await rejectsUnauthenticated(authenticator.authenticate(`Bearer ${token}`), /^malformed/);
    }
  });
});

describe("Authenticator: API tokens", () => {
  it("authenticates a valid token and records its use", async () => {
    const { lookups, authenticator } = setup();
    lookups.addUser("u1", true);
    const token = lookups.addToken("u1", { expiresAt: new Date(NOW.getTime() + 1000) });

    const principal = await authenticator.authenticate(`bearer  ${token}`);
    assert.deepEqual(principal, {
      userId: "u1",
      email: "u1@example.com",
      displayName: "u1",
      platformAdmin: true,
      method: "api_token",
      tokenId: "token-1",
    });
    await tick();
    assert.deepEqual(lookups.touched, ["token-1"]);
  });

  it("rejects a token the store does not know", async () => {
    const { authenticator } = setup();
    await rejectsUnauthenticated(
      authenticator.authenticate(`Bearer ${generateApiToken().token}`),
      /^API token is not valid$/,
    );
  });

  it("rejects a token that is not shaped like one", async () => {
    const { authenticator } = setup();
    const { token } = generateApiToken();
    for (const text of ["obt_", "obt_short", `${token}x`]) {
      await rejectsUnauthenticated(
        authenticator.authenticate(`Bearer ${text}`),
        /^malformed API token$/,
      );
    }
  });

  it("rejects a revoked token at once", async () => {
    const { lookups, authenticator } = setup();
    lookups.addUser("u1");
    const token = lookups.addToken("u1");
    await authenticator.authenticate(`Bearer ${token}`);

    for (const record of lookups.tokens.values()) record.revokedAt = NOW;
    await rejectsUnauthenticated(
      authenticator.authenticate(`Bearer ${token}`),
      /^API token has been revoked$/,
    );
  });

  it("rejects a token from its expiry time on", async () => {
    const { lookups, authenticator } = setup();
    lookups.addUser("u1");
    const expired = lookups.addToken("u1", { expiresAt: NOW });
    await rejectsUnauthenticated(
      authenticator.authenticate(`Bearer ${expired}`),
      /^API token has expired$/,
    );
  });

  it("rejects a token whose user is gone", async () => {
    const { lookups, authenticator } = setup();
    const token = lookups.addToken("deleted-user");
    await rejectsUnauthenticated(authenticator.authenticate(`Bearer ${token}`), /no longer exists/);
  });

  it("does not fail a request when recording the use fails", async () => {
    const { lookups, authenticator, backgroundErrors } = setup();
    lookups.addUser("u1");
    lookups.failTouch = true;
    const token = lookups.addToken("u1");
    const principal = await authenticator.authenticate(`Bearer ${token}`);
    assert.equal(principal.userId, "u1");
    await tick();
    assert.equal(backgroundErrors.length, 1);
    assert.match(String(backgroundErrors[0]), /read-only/);
  });

  it("lets store failures through, rather than calling them bad credentials", async () => {
    const { lookups, authenticator } = setup();
    lookups.findApiToken = async () => {
      throw new DomainError("unavailable", "database unavailable");
    };
    await assert.rejects(
      authenticator.authenticate(`Bearer ${generateApiToken().token}`),
      (error: unknown) => error instanceof DomainError && error.kind === "unavailable",
    );
  });
});

describe("Authenticator: OIDC tokens", () => {
  const jwtShaped = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";

  it("says so when OIDC is not configured", async () => {
    const { authenticator } = setup();
    await rejectsUnauthenticated(
      authenticator.authenticate(`Bearer ${jwtShaped}`),
      /OIDC is not configured/,
    );
  });

  it("hands JWTs to the verifier and signs the user in by issuer and subject", async () => {
    const seen: string[] = [];
    const { lookups, authenticator } = setup({
      oidc: {
        async verify(token) {
          seen.push(token);
          return {
            subject: "s1",
            issuer: "https://id.example.com",
            email: "s1@example.com",
            emailVerified: true,
            name: "Sam",
            claims: {},
          };
        },
      },
    });
    const principal = await authenticator.authenticate(`Bearer ${jwtShaped}`);
    assert.deepEqual(seen, [jwtShaped]);
    assert.deepEqual(lookups.upserts, [
      {
        issuer: "https://id.example.com",
        subject: "s1",
        email: "s1@example.com",
        emailVerified: true,
        name: "Sam",
      },
    ]);
    assert.deepEqual(principal, {
      userId: "user-s1",
      email: "s1@example.com",
      displayName: "Sam",
      platformAdmin: false,
      method: "oidc",
    });
  });
});

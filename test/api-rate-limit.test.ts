/**
 * Rate limiting in the embedded mode (in-process limiter, no Redis): past RATE_LIMIT_MAX calls
 * in a window, RPCs answer ResourceExhausted (HTTP 429 in the Connect protocol) and the REST
 * alias answers 429, per caller; guessing tokens does not buy a caller a fresh budget.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  addUserWithToken,
  startTestPlatform,
  type TestPlatform,
  transport,
} from "./helpers/api.js";

const MAX = 5;

const isExhausted = (error: unknown) => {
  assert.ok(error instanceof ConnectError, `not a ConnectError: ${String(error)}`);
  assert.equal(error.code, Code.ResourceExhausted, error.message);
  assert.match(error.rawMessage, /rate limit exceeded/);
  return true;
};

describe("rate limiting (embedded mode)", () => {
  let t: TestPlatform;
  /** Tokens of users made up front, each user with a budget of their own. */
  const tokens: string[] = [];

  before(async () => {
    // Long enough that no window ends during the test.
    t = await startTestPlatform({
      // The budget per address is test/api-address-limit.test.ts's: out of the way here.
      env: {
        RATE_LIMIT_MAX: String(MAX),
        RATE_LIMIT_WINDOW_MS: "600000",
        RATE_LIMIT_ADDRESS_MAX: "100000",
      },
    });
    // Users of their own: the budget is per user.
    for (let i = 0; i < 4; i++) {
      tokens.push((await addUserWithToken(t.platform.database.db)).token);
    }
  });
  after(() => t?.close());

  const token = (i: number) => {
    const value = tokens[i];
    assert.ok(value);
    return value;
  };

  it("answers ResourceExhausted to a Connect client past the limit", async () => {
    const client = t.client(AuthService, token(0));
    for (let i = 0; i < MAX; i++) await client.whoAmI({});
    await assert.rejects(client.whoAmI({}), isExhausted);
    await assert.rejects(client.listApiTokens({}), isExhausted);
  });

  it("answers HTTP 429 with code resource_exhausted in the Connect JSON protocol", async () => {
    const call = () =>
      fetch(`${t.baseUrl}/obiente.cloud.auth.v1.AuthService/WhoAmI`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token(1)}` },
        body: "{}",
      });
    for (let i = 0; i < MAX; i++) {
      const ok = await call();
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    }
    const refused = await call();
    assert.equal(refused.status, 429);
    const body = (await refused.json()) as { code: string; message: string };
    assert.equal(body.code, "resource_exhausted");
    assert.match(body.message, /rate limit exceeded/);
  });

  it("counts gRPC calls on the h2c port against the same budget", async () => {
    const sessionManager = new Http2SessionManager(t.grpcUrl);
    try {
      const grpc = createClient(
        AuthService,
        createGrpcTransport({
          baseUrl: t.grpcUrl,
          sessionManager,
          interceptors: [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${token(2)}`);
              return next(req);
            },
          ],
        }),
      );
      const connect = t.client(AuthService, token(2));
      for (let i = 0; i < MAX; i++) await (i % 2 === 0 ? grpc : connect).whoAmI({});
      await assert.rejects(grpc.whoAmI({}), isExhausted);
      await assert.rejects(connect.whoAmI({}), isExhausted);
    } finally {
      sessionManager.abort();
    }
  });

  it("answers 429 on the REST alias past the limit", async () => {
    const call = () =>
      fetch(`${t.baseUrl}/api/v1/organizations`, {
        headers: { authorization: `Bearer ${token(3)}` },
      });
    for (let i = 0; i < MAX; i++) {
      const ok = await call();
      assert.equal(ok.status, 200, await ok.text());
    }
    const refused = await call();
    assert.equal(refused.status, 429);
    assert.ok(refused.headers.get("retry-after"), "a Retry-After header");
    const body = (await refused.json()) as { code: string; message: string };
    assert.equal(body.code, "resource_exhausted");
    assert.match(body.message, /rate limit exceeded/);
  });

  it("does not limit other callers; gives one budget to all the tokens of a user", async () => {
    const admin = t.client(AuthService);
    const { token: second } = await admin.createApiToken({ name: "a second token" });
    for (let i = 0; i < MAX - 1; i++) await admin.whoAmI({});
    // MAX calls so far, with the first token: a new token of the same user is no way around it.
    await assert.rejects(t.client(AuthService, second).whoAmI({}), isExhausted);
    await assert.rejects(admin.whoAmI({}), isExhausted);
  });

  it("limits failed attempts by address, whatever token they carry", async () => {
    // Every attempt with a made-up token of its own: without a limit on failures, a guesser
    // would get a fresh budget with each guess.
    const anonymous = createClient(AuthService, transport(t.baseUrl, undefined));
    const guess = () => `Bearer obt_${randomBytes(32).toString("base64url")}`;
    const codes: Code[] = [];
    for (let i = 0; i < MAX + 2; i++) {
      try {
        await anonymous.whoAmI({}, { headers: { authorization: guess() } });
        assert.fail("a made-up token was accepted");
      } catch (error) {
        codes.push(ConnectError.from(error).code);
      }
    }
    assert.deepEqual(codes.slice(0, MAX), Array(MAX).fill(Code.Unauthenticated));
    assert.deepEqual(codes.slice(MAX), [Code.ResourceExhausted, Code.ResourceExhausted]);

    const statuses: number[] = [];
    for (let i = 0; i < MAX + 2; i++) {
      const response = await fetch(`${t.baseUrl}/api/v1/organizations`, {
        headers: { authorization: guess() },
      });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses.slice(0, MAX), Array(MAX).fill(401));
    assert.deepEqual(statuses.slice(MAX), [429, 429]);
  });
});

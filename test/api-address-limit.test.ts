/**
 * The budget per client address (RATE_LIMIT_ADDRESS_MAX), spent on every route of both listeners
 * before any body is read, and whose address is the one TRUST_PROXY lets Fastify resolve: a
 * client that rotates X-Forwarded-For itself gets no fresh budget, while behind a trusted proxy
 * each forwarded client has its own.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { AuthService } from "../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";

/** Long enough that no window ends during the test. */
const WINDOW_MS = "600000";
/** Per-user budgets out of the way: only the address budget is under test. */
const USER_MAX = "1000000";

let sequence = 0;
/** A different address each call, as a spoofing client would write. */
const rotating = () => {
  sequence += 1;
  return `203.0.${(sequence >> 8) & 255}.${sequence & 255}`;
};

/** One request of a mix of routes: an RPC, the REST alias, /health, a path no route names. */
async function call(t: TestPlatform, i: number, headers: Record<string, string>): Promise<number> {
  const auth = { authorization: `Bearer ${t.adminToken}` };
  const response = await [
    () =>
      fetch(`${t.baseUrl}/obiente.cloud.auth.v1.AuthService/WhoAmI`, {
        method: "POST",
        headers: { ...headers, ...auth, "content-type": "application/json" },
        body: "{}",
      }),
    () => fetch(`${t.baseUrl}/api/v1/organizations`, { headers: { ...headers, ...auth } }),
    () => fetch(`${t.baseUrl}/health`, { headers }),
    () => fetch(`${t.baseUrl}/no/such/route`, { headers }),
  ][i % 4]?.();
  assert.ok(response);
  await response.body?.cancel();
  return response.status;
}

/** `count` calls, `concurrency` at a time; the statuses in order. */
async function calls(
  count: number,
  concurrency: number,
  one: (i: number) => Promise<number>,
): Promise<number[]> {
  const statuses: number[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        statuses[i] = await one(i);
      }
    }),
  );
  return statuses;
}

const isExhausted = (error: unknown) => {
  assert.ok(error instanceof ConnectError, `not a ConnectError: ${String(error)}`);
  assert.equal(error.code, Code.ResourceExhausted, error.message);
  assert.match(error.rawMessage, /from one address/);
  return true;
};

describe("the budget per address, from a peer that is no trusted proxy", () => {
  const MAX = 100;
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({
      env: {
        RATE_LIMIT_ADDRESS_MAX: String(MAX),
        RATE_LIMIT_MAX: USER_MAX,
        RATE_LIMIT_WINDOW_MS: WINDOW_MS,
      },
    });
  });
  after(() => t?.close());

  it("gives 1,000 requests with a rotating X-Forwarded-For one budget, on every route", async () => {
    const statuses = await calls(1_000, 8, (i) => {
      const spoofed = rotating();
      return call(t, i, {
        "x-forwarded-for": spoofed,
        "x-real-ip": spoofed,
        forwarded: `for=${spoofed}`,
      });
    });
    const refused = statuses.filter((s) => s === 429).length;
    assert.equal(1_000 - refused, MAX, `statuses: ${JSON.stringify(countBy(statuses))}`);
    // The dashboard answers paths it does not know with its page: every served call is a 200.
    assert.deepEqual(new Set(statuses.filter((s) => s !== 429)), new Set([200]));
  });

  it("refuses before reading the body: a request whose body never comes is answered at once", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${t.baseUrl}/obiente.cloud.auth.v1.AuthService/WhoAmI`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(64 * 1024 ** 2) },
      });
      const timer = setTimeout(
        () => reject(new Error("no answer while the body was still to come")),
        10_000,
      );
      req.on("response", (res) => {
        clearTimeout(timer);
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.write("{");
    });
    assert.equal(status, 429);
  });

  it("answers ResourceExhausted in each protocol: Connect, its streams, gRPC-Web, gRPC (h2c)", async () => {
    const auth = { headers: { authorization: `Bearer ${t.adminToken}` } };
    await assert.rejects(t.client(AuthService).whoAmI({}), isExhausted);
    const stream = t
      .client(DeploymentService)
      .streamDeploymentStatus({ id: "00000000-0000-4000-8000-000000000000" });
    await assert.rejects(async () => {
      for await (const _ of stream) assert.fail("a message past the limit");
    }, isExhausted);
    const grpcWeb = createClient(
      AuthService,
      createGrpcWebTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }),
    );
    await assert.rejects(grpcWeb.whoAmI({}, auth), isExhausted);
    const sessionManager = new Http2SessionManager(t.grpcUrl);
    try {
      const grpc = createClient(
        AuthService,
        createGrpcTransport({ baseUrl: t.grpcUrl, sessionManager }),
      );
      await assert.rejects(grpc.whoAmI({}, auth), isExhausted);
    } finally {
      sessionManager.abort();
    }
  });
});

describe("the budget per address, behind a trusted proxy (TRUST_PROXY=127.0.0.1)", () => {
  const MAX = 5;
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({
      env: {
        TRUST_PROXY: "127.0.0.1",
        RATE_LIMIT_ADDRESS_MAX: String(MAX),
        RATE_LIMIT_MAX: USER_MAX,
        RATE_LIMIT_WINDOW_MS: WINDOW_MS,
      },
    });
  });
  after(() => t?.close());

  it("counts the forwarded address: 1,000 clients, a budget each", async () => {
    const statuses = await calls(1_000, 8, (i) => call(t, i, { "x-forwarded-for": rotating() }));
    assert.equal(statuses.filter((s) => s === 429).length, 0, JSON.stringify(countBy(statuses)));
  });

  it("spends one client's budget, whatever it writes before the proxy's entry", async () => {
    const one = await calls(MAX + 2, 1, (i) => call(t, i, { "x-forwarded-for": "198.51.100.7" }));
    assert.deepEqual(one.slice(MAX), [429, 429]);
    // The client wrote the first entry itself; the proxy appended the address it saw.
    const chained = await calls(MAX + 2, 1, (i) =>
      call(t, i, { "x-forwarded-for": `${rotating()}, 198.51.100.8` }),
    );
    assert.equal(chained.filter((s) => s === 429).length, 2, JSON.stringify(chained));
    // Another client behind the same proxy is not affected.
    assert.notEqual(await call(t, 2, { "x-forwarded-for": "198.51.100.9" }), 429);
  });
});

describe("the budget per address, behind one proxy by hop count (TRUST_PROXY=1)", () => {
  const MAX = 3;
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({
      env: {
        TRUST_PROXY: "1",
        RATE_LIMIT_ADDRESS_MAX: String(MAX),
        RATE_LIMIT_MAX: USER_MAX,
        RATE_LIMIT_WINDOW_MS: WINDOW_MS,
      },
    });
  });
  after(() => t?.close());

  it("counts the entry the one proxy appended, not the ones before it", async () => {
    const statuses = await calls(MAX + 2, 1, (i) =>
      call(t, i, { "x-forwarded-for": `${rotating()}, ${rotating()}, 198.51.100.20` }),
    );
    assert.deepEqual(statuses.slice(MAX), [429, 429]);
  });
});

function countBy(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

/**
 * The API's HTTP edge: CORS (only the origins of CORS_ORIGINS, preflights of Connect calls
 * included) and the security headers helmet sets, on every kind of response; the gRPC
 * listener (h2c), which serves the RPCs only.
 */
import assert from "node:assert/strict";
import { connect, type IncomingHttpHeaders } from "node:http2";
import { after, before, describe, it } from "node:test";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";

const ALLOWED = "https://app.example.com";
const OTHER = "https://evil.example.com";
const WHO_AM_I = "/obiente.cloud.auth.v1.AuthService/WhoAmI";

describe("HTTP edge: CORS and security headers", () => {
  let t: TestPlatform;

  before(async () => {
    t = await startTestPlatform({
      env: { CORS_ORIGINS: `${ALLOWED}, https://admin.example.com` },
    });
  });
  after(() => t?.close());

  const connectCall = (origin: string | undefined, token = t.adminToken) =>
    fetch(`${t.baseUrl}${WHO_AM_I}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
        ...(origin ? { origin } : {}),
      },
      body: "{}",
    });

  const preflight = (origin: string) =>
    fetch(`${t.baseUrl}${WHO_AM_I}`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,connect-protocol-version",
      },
    });

  describe("CORS", () => {
    it("allows a listed origin on a Connect call, and exposes the protocol's headers", async () => {
      const response = await connectCall(ALLOWED);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("access-control-allow-origin"), ALLOWED);
      assert.match(response.headers.get("vary") ?? "", /origin/i);
      assert.match(response.headers.get("access-control-expose-headers") ?? "", /grpc-status/i);
      await response.body?.cancel();
      const second = await connectCall("https://admin.example.com");
      assert.equal(second.headers.get("access-control-allow-origin"), "https://admin.example.com");
      await second.body?.cancel();
    });

    it("answers a preflight for a Connect call from a listed origin", async () => {
      const response = await preflight(ALLOWED);
      assert.equal(response.status, 204);
      assert.equal(response.headers.get("access-control-allow-origin"), ALLOWED);
      const methods = (response.headers.get("access-control-allow-methods") ?? "").split(/,\s*/);
      assert.ok(methods.includes("POST"), `allowed methods: ${methods}`);
      const headers = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase();
      for (const header of ["authorization", "content-type", "connect-protocol-version"]) {
        assert.ok(headers.includes(header), `${header} not in ${headers}`);
      }
      assert.equal(response.headers.get("access-control-max-age"), "7200");
      // Bearer tokens, not cookies: credentials are not allowed across origins.
      assert.equal(response.headers.get("access-control-allow-credentials"), null);
    });

    it("gives an origin that is not listed nothing to go on", async () => {
      const call = await connectCall(OTHER);
      assert.equal(call.headers.get("access-control-allow-origin"), null);
      await call.body?.cancel();
      const pre = await preflight(OTHER);
      // Without Access-Control-Allow-Origin the browser refuses the call, whatever else is said.
      assert.equal(pre.headers.get("access-control-allow-origin"), null);
      await pre.body?.cancel();
      // Not a prefix or suffix match either.
      for (const origin of [`${ALLOWED}.evil.com`, "https://evil-app.example.com", "null"]) {
        const response = await connectCall(origin);
        assert.equal(response.headers.get("access-control-allow-origin"), null, origin);
        await response.body?.cancel();
      }
      const rest = await fetch(`${t.baseUrl}/api/v1/organizations`, {
        headers: { origin: OTHER, authorization: `Bearer ${t.adminToken}` },
      });
      assert.equal(rest.status, 200);
      assert.equal(rest.headers.get("access-control-allow-origin"), null);
      await rest.body?.cancel();
    });

    it("applies to the REST alias and to errors too", async () => {
      const rest = await fetch(`${t.baseUrl}/api/v1/organizations`, {
        headers: { origin: ALLOWED },
      });
      assert.equal(rest.status, 401);
      // The browser must be able to read the error.
      assert.equal(rest.headers.get("access-control-allow-origin"), ALLOWED);
      await rest.body?.cancel();
      const rpc = await connectCall(ALLOWED, "garbage");
      assert.equal(rpc.status, 401);
      assert.equal(rpc.headers.get("access-control-allow-origin"), ALLOWED);
      await rpc.body?.cancel();
    });
  });

  describe("security headers", () => {
    const check = (response: Response, what: string) => {
      const h = response.headers;
      assert.equal(h.get("x-content-type-options"), "nosniff", what);
      assert.ok(h.get("x-frame-options"), `${what}: x-frame-options`);
      assert.match(h.get("strict-transport-security") ?? "", /max-age=\d+/, what);
      assert.equal(h.get("referrer-policy"), "no-referrer", what);
      assert.equal(h.get("x-dns-prefetch-control"), "off", what);
      assert.match(h.get("content-security-policy") ?? "", /frame-ancestors 'none'/, what);
      assert.match(h.get("content-security-policy") ?? "", /default-src 'self'/, what);
      assert.equal(h.get("x-powered-by"), null, what);
    };

    it("are on every kind of response", async () => {
      const responses: Array<[string, Response]> = [
        ["health", await fetch(`${t.baseUrl}/health`)],
        ["metrics", await fetch(`${t.baseUrl}/metrics`)],
        ["connect ok", await connectCall(undefined)],
        ["connect error", await connectCall(undefined, "garbage")],
        [
          "rest ok",
          await fetch(`${t.baseUrl}/api/v1/organizations`, {
            headers: { authorization: `Bearer ${t.adminToken}` },
          }),
        ],
        ["rest error", await fetch(`${t.baseUrl}/api/v1/organizations`)],
        ["not found", await fetch(`${t.baseUrl}/no/such/route`)],
        ["preflight", await preflight(ALLOWED)],
      ];
      for (const [what, response] of responses) {
        check(response, what);
        await response.body?.cancel();
      }
    });

    it("answers JSON with a JSON content type, and errors without internals", async () => {
      const response = await fetch(`${t.baseUrl}/api/v1/deployments`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${t.adminToken}` },
        body: "{not json",
      });
      assert.equal(response.status, 400);
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
      const body = (await response.json()) as { code: string; message: string };
      assert.equal(body.code, "invalid_argument");
      assert.doesNotMatch(JSON.stringify(body), /at .*\.ts|node_modules|FST_/);
    });
  });

  it("the gRPC listener (h2c) answers the RPCs, with the same headers, and nothing else", async () => {
    const session = connect(t.grpcUrl);
    const ask = (path: string, method: string, body?: string) =>
      new Promise<{ headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const stream = session.request({
          ":method": method,
          ":path": path,
          "content-type": "application/json",
          authorization: `Bearer ${t.adminToken}`,
        });
        let text = "";
        let headers: IncomingHttpHeaders = {};
        stream.on("response", (h) => {
          headers = h;
        });
        stream.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        stream.on("end", () => resolve({ headers, body: text }));
        stream.on("error", reject);
        stream.end(body);
      });
    try {
      const rpc = await ask(WHO_AM_I, "POST", "{}");
      assert.equal(rpc.headers[":status"], 200);
      assert.match(rpc.body, /"memberships"/);
      assert.equal(rpc.headers["x-content-type-options"], "nosniff");
      for (const path of ["/health", "/api/v1/auth/config", "/"]) {
        const other = await ask(path, "GET");
        assert.equal(other.headers[":status"], 404, path);
        assert.equal((JSON.parse(other.body) as { code: string }).code, "not_found");
      }
    } finally {
      session.close();
    }
  });
});

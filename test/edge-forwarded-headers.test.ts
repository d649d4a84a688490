/**
 * What an app learns about its client from the edge: a real container (the node test image running
 * a server that answers with the request headers it got) behind the built-in edge and behind a real
 * Caddy, and a client that sends every header by which proxies tell an app who the client is, with
 * made-up values. The app must see only what the edge itself set from the connection it accepted.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { BuiltinEdge, CaddyEdge, type Route, type RouteTable } from "../src/edge/index.js";
import { eventually, freePort, type RunningCaddy, startCaddy } from "./helpers/caddy.js";
import { NODE_IMAGE } from "./helpers/git-fixtures.js";
import { docker } from "./helpers/image.js";

/** Answers every request with the headers it received, as JSON. */
const ECHO_SERVER = [
  'require("node:http")',
  "  .createServer((req, res) => {",
  '    res.setHeader("content-type", "application/json");',
  "    res.end(JSON.stringify(req.headers));",
  "  })",
  '  .listen(8080, "0.0.0.0");',
].join("\n");

/** Every header a client could use to pose as another address, host, scheme or path. */
const SPOOFED: Record<string, string> = {
  forwarded: 'for=6.6.6.6;host=evil.test;proto=https, for="[2001:db8::6]"',
  "x-real-ip": "6.6.6.6",
  "x-forwarded-for": "6.6.6.6, 7.7.7.7",
  "x-forwarded-host": "evil.test",
  "x-forwarded-proto": "https",
  "x-forwarded-port": "443",
  "x-forwarded-prefix": "/admin",
  "x-forwarded-server": "evil",
  "x-forwarded-ssl": "on",
  "x-forwarded-scheme": "https",
  "x-forwarded": "for=6.6.6.6",
  "forwarded-for": "6.6.6.6",
  "x-client-ip": "6.6.6.6",
  "x-cluster-client-ip": "6.6.6.6",
  "true-client-ip": "6.6.6.6",
  "cf-connecting-ip": "6.6.6.6",
  "fastly-client-ip": "6.6.6.6",
  "x-original-forwarded-for": "6.6.6.6",
};

function route(domain: string, upstream: string): Route {
  return {
    domain,
    pathPrefix: "/",
    deploymentId: `deployment-${domain}`,
    tls: false,
    lbAlgorithm: "round_robin",
    weights: {},
    upstreams: [upstream],
  };
}

/** GET / with Host `host` and the spoofed headers; the app's view of the request's headers. */
function headersSeenByApp(port: number, host: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/",
        headers: { host, ...SPOOFED, "x-custom": "kept" },
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${body}`));
          else resolve(JSON.parse(body) as Record<string, string>);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** The names and values of SPOOFED that reached the app unchanged. */
function spoofedThrough(seen: Record<string, string>): string[] {
  return Object.entries(SPOOFED)
    .filter(([name, value]) => seen[name]?.includes(value))
    .map(([name]) => name);
}

describe("forwarded headers reaching an app (real container)", () => {
  const label = `obiente-test-forwarded=${randomUUID()}`;
  let containerId = "";
  let upstream = "";

  before(async () => {
    containerId = await docker([
      "run",
      "-d",
      "--label",
      label,
      "-p",
      "127.0.0.1::8080",
      NODE_IMAGE,
      "node",
      "-e",
      ECHO_SERVER,
    ]);
    const published = await docker(["port", containerId, "8080/tcp"]);
    upstream = published.split("\n")[0]?.trim() ?? "";
    assert.match(upstream, /^127\.0\.0\.1:\d+$/);
    await eventually(
      async () => {
        const [, port] = upstream.split(":");
        const ok = await new Promise<boolean>((resolve) => {
          const req = http.get({ host: "127.0.0.1", port: Number(port), path: "/" }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          });
          req.on("error", () => resolve(false));
        });
        return ok ? true : undefined;
      },
      20_000,
      "the echo container",
      100,
    );
  });

  after(async () => {
    if (containerId) await docker(["rm", "-f", containerId]);
  });

  describe("built-in edge", () => {
    let edge: BuiltinEdge;
    let port: number;

    before(async () => {
      edge = new BuiltinEdge({ host: "127.0.0.1", port: 0 });
      ({ port } = await edge.start());
      await edge.apply({ routes: [route("app.test", upstream)] });
    });
    after(() => edge.close());

    it("sets X-Forwarded-*, X-Real-IP and Forwarded from the connection, drops the client's", async () => {
      const seen = await headersSeenByApp(port, "app.test:8080");
      assert.deepEqual(spoofedThrough(seen), []);
      assert.equal(seen["x-custom"], "kept");
      assert.equal(seen.host, "app.test:8080");
      assert.equal(seen["x-forwarded-for"], "127.0.0.1");
      assert.equal(seen["x-forwarded-proto"], "http");
      assert.equal(seen["x-forwarded-host"], "app.test:8080");
      assert.equal(seen["x-real-ip"], "127.0.0.1");
      assert.equal(seen.forwarded, 'for=127.0.0.1;host="app.test:8080";proto=http');
      for (const name of Object.keys(SPOOFED)) {
        if (["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"].includes(name)) continue;
        if (name === "x-real-ip" || name === "forwarded") continue;
        assert.equal(seen[name], undefined, `${name} reached the app`);
      }
    });
  });

  describe("Caddy edge (real Caddy)", () => {
    let caddy: RunningCaddy;
    let edge: CaddyEdge;
    let httpPort: number;

    before(async () => {
      caddy = await startCaddy();
      httpPort = await freePort();
      edge = new CaddyEdge({
        adminUrl: caddy.adminUrl,
        httpPort,
        httpsPort: await freePort(),
        bindHost: "127.0.0.1",
      });
      const table: RouteTable = { routes: [route("app.test", upstream)] };
      await edge.apply(table);
    });
    after(async () => {
      await edge?.close();
      await caddy?.close();
    });

    it("sets X-Forwarded-* and X-Real-IP from the connection, drops the client's and Forwarded", async () => {
      const seen = await headersSeenByApp(httpPort, "app.test");
      assert.deepEqual(spoofedThrough(seen), [], caddy.log().slice(-2000));
      assert.equal(seen["x-custom"], "kept");
      assert.equal(seen["x-forwarded-for"], "127.0.0.1");
      assert.equal(seen["x-forwarded-proto"], "http");
      assert.equal(seen["x-forwarded-host"], "app.test");
      assert.equal(seen["x-real-ip"], "127.0.0.1");
      assert.equal(seen.forwarded, undefined);
    });
  });
});

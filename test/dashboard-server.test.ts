/**
 * How the API process serves the dashboard (src/api/dashboard.ts), over real HTTP: the strict
 * CSP, index.html for the app's paths and never for the API's, long caching of hashed assets,
 * revalidation, compression, the public OIDC settings, and the build when web/dist is missing.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { AUTH_CONFIG_PATH, dashboardCsp, registerDashboard } from "../src/api/dashboard.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw GET (no automatic decompression, unlike fetch). */
function get(base: string, path: string, headers: Record<string, string> = {}, method = "GET") {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

async function listen(app: FastifyInstance) {
  await app.listen({ host: "127.0.0.1", port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

describe("the dashboard's files, served by the api", () => {
  let dir: string;
  let app: FastifyInstance;
  let base: string;
  const js = `console.log(${JSON.stringify("x".repeat(4096))});\n`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "obiente-dashboard-"));
    await mkdir(join(dir, "assets"));
    await writeFile(
      join(dir, "index.html"),
      '<!doctype html><title>app</title><script type="module" src="/assets/index-abc123.js"></script>',
    );
    await writeFile(join(dir, "assets", "index-abc123.js"), js);
    await writeFile(join(dir, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
    app = Fastify();
    app.post("/api/v1/things", async () => ({ ok: true }));
    app.get("/health", async () => ({ status: "ok" }));
    await registerDashboard(app, {
      root: dir,
      buildIfMissing: false,
      oidc: { issuer: "http://127.0.0.1:5556/dex", clientId: "web" },
    });
    base = await listen(app);
  });

  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers the app's paths with index.html, under a strict CSP, never cached", async () => {
    for (const path of ["/", "/deployments", "/deployments/0b7c/logs", "/auth/callback?code=x"]) {
      const r = await get(base, path);
      assert.equal(r.status, 200, path);
      assert.match(String(r.headers["content-type"]), /^text\/html/);
      assert.match(r.body.toString(), /<title>app<\/title>/);
      assert.equal(r.headers["cache-control"], "no-cache");
      const csp = String(r.headers["content-security-policy"]);
      assert.equal(csp, dashboardCsp("http://127.0.0.1:5556/dex"));
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /style-src 'self'(;|$)/);
      assert.match(csp, /connect-src 'self' http:\/\/127\.0\.0\.1:5556(;|$)/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /require-trusted-types-for 'script'/);
      assert.doesNotMatch(csp, /unsafe/);
    }
  });

  it("caches hashed assets for a year, revalidates, compresses, and answers HEAD", async () => {
    const plain = await get(base, "/assets/index-abc123.js");
    assert.equal(plain.status, 200);
    assert.equal(plain.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.match(String(plain.headers["content-type"]), /^text\/javascript/);
    assert.equal(plain.body.toString(), js);
    const etag = String(plain.headers.etag);
    assert.equal(
      (await get(base, "/assets/index-abc123.js", { "if-none-match": etag })).status,
      304,
    );

    const br = await get(base, "/assets/index-abc123.js", { "accept-encoding": "gzip, br" });
    assert.equal(br.headers["content-encoding"], "br");
    assert.ok(br.body.length < js.length / 4, "compressed");
    const gz = await get(base, "/assets/index-abc123.js", { "accept-encoding": "gzip" });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.equal(gz.headers.vary, "accept-encoding");

    const head = await get(base, "/assets/index-abc123.js", {}, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers["content-length"]), js.length);

    const icon = await get(base, "/favicon.svg");
    assert.equal(icon.status, 200);
    assert.equal(icon.headers["content-type"], "image/svg+xml");
    assert.equal(icon.headers["cache-control"], "public, max-age=3600");
  });

  it("never answers the API's paths or missing files with the app", async () => {
    const api = await get(base, "/api/v1/nothing-here");
    assert.equal(api.status, 404);
    assert.deepEqual(JSON.parse(api.body.toString()), {
      code: "not_found",
      message: "no route for GET /api/v1/nothing-here",
    });
    assert.equal(
      (await get(base, "/obiente.cloud.deployment.v1.DeploymentService/Nope")).status,
      404,
    );
    assert.equal((await get(base, "/metrics/observability")).status, 404);
    assert.equal((await get(base, "/health")).status, 200, "a real route still answers");
    // A stale asset of an older build: 404, not HTML a script tag would choke on.
    const stale = await get(base, "/assets/index-old999.js");
    assert.equal(stale.status, 404);
    assert.match(String(stale.headers["content-type"]), /^text\/plain/);
    assert.equal((await get(base, "/robots.txt")).status, 404);
    // Other methods are no page loads.
    assert.equal((await get(base, "/deployments", {}, "DELETE")).status, 404);
    assert.equal((await get(base, "/%E0%A4%A")).status, 400);
  });

  it("tells the app its OIDC issuer and client", async () => {
    const r = await get(base, AUTH_CONFIG_PATH);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), {
      issuer: "http://127.0.0.1:5556/dex",
      clientId: "web",
      scope: "openid email profile",
    });
  });
});

describe("the dashboard, wired into the platform", () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t?.close());

  it("is served by the api role on the API's origin; no OIDC configured, no issuer given", async () => {
    const page = await get(t.baseUrl, "/deployments");
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<div id="app"/);
    assert.match(String(page.headers["content-security-policy"]), /connect-src 'self';/);
    const config = await get(t.baseUrl, AUTH_CONFIG_PATH);
    assert.deepEqual(JSON.parse(config.body.toString()), {
      issuer: null,
      clientId: null,
      scope: "openid email profile",
    });
    // The API itself is untouched.
    const health = await get(t.baseUrl, "/health");
    assert.equal(health.status, 200);
    assert.match(String(health.headers["content-type"]), /application\/json/);
  });
});

describe("a checkout without a built dashboard", () => {
  let dir: string;
  let app: FastifyInstance;

  after(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("builds it with Vite in the background, answering 503 meanwhile", {
    timeout: 180_000,
  }, async () => {
    dir = await mkdtemp(join(tmpdir(), "obiente-dashboard-build-"));
    const root = join(dir, "dist");
    app = Fastify();
    await registerDashboard(app, { root });
    const base = await listen(app);
    const first = await get(base, "/deployments");
    if (first.status === 503) {
      assert.match(first.body.toString(), /being built/);
      assert.equal(first.headers["retry-after"], "3");
    }
    const deadline = Date.now() + 150_000;
    let page = first;
    while (page.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      page = await get(base, "/deployments");
    }
    assert.equal(page.status, 200, page.body.toString());
    assert.ok(existsSync(join(root, "index.html")));
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.body.toString())?.[1];
    assert.ok(script, "index.html loads the app's script");
    assert.equal((await get(base, script)).status, 200);
  });
});

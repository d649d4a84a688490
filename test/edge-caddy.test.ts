import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { CaddyEdge, type Route, type RouteTable } from "../src/edge/index.js";
import {
  eventually,
  freePort,
  httpsGet,
  latencySummary,
  type RunningCaddy,
  requestByHost,
  startCaddy,
} from "./helpers/caddy.js";
import { type RunningPebble, startPebble } from "./helpers/pebble.js";

function route(domain: string, upstreams: string[], tlsOn = false): Route {
  return {
    domain,
    pathPrefix: "/",
    deploymentId: `deployment-${domain}`,
    tls: tlsOn,
    lbAlgorithm: "round_robin",
    weights: {},
    upstreams,
  };
}

describe("Caddy edge (real Caddy, real Pebble)", () => {
  let caddy: RunningCaddy;
  let pebble: RunningPebble;
  let upstream: http.Server;
  let upstreamAddress: string;
  let edge: CaddyEdge;
  let httpPort: number;
  let httpsPort: number;

  before(async () => {
    upstream = http.createServer((req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(
        `hello from upstream: ${req.headers.host} ${req.url} xff=${req.headers["x-forwarded-for"]}`,
      );
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    upstreamAddress = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    [httpPort, httpsPort] = [await freePort(), await freePort()];
    // Both started before failing on either, so that after() stops whichever did start.
    const [caddyStarted, pebbleStarted] = await Promise.allSettled([startCaddy(), startPebble()]);
    if (caddyStarted.status === "fulfilled") caddy = caddyStarted.value;
    if (pebbleStarted.status === "fulfilled") pebble = pebbleStarted.value;
    for (const started of [caddyStarted, pebbleStarted]) {
      if (started.status === "rejected") throw started.reason;
    }
    edge = new CaddyEdge({
      adminUrl: caddy.adminUrl,
      httpPort,
      httpsPort,
      bindHost: "127.0.0.1",
      acme: {
        ca: pebble.directoryUrl,
        email: "ops@obiente.test",
        trustedRootsPemFiles: [pebble.certificatePath],
      },
    });
  });

  after(async () => {
    await edge?.close();
    await edge?.close(); // safe twice
    await Promise.allSettled([caddy?.close(), pebble?.close()]);
    upstream?.closeAllConnections();
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  });

  const full: () => RouteTable = () => ({
    routes: [
      route("app.test", [upstreamAddress]),
      route("down.test", [`127.0.0.1:1`]),
      route("empty.test", []),
      route("retry.test", [`127.0.0.1:1`, upstreamAddress]),
      route("secure.test", [upstreamAddress], true),
    ],
  });

  it("serves an HTTP route by Host header", async () => {
    await edge.apply(full());
    const response = await requestByHost(httpPort, "app.test", "/hello");
    assert.equal(response.status, 200, caddy.log());
    assert.match(response.body, /^hello from upstream: app\.test \/hello xff=127\.0\.0\.1$/);
  });

  it("serves a TLS route with a certificate from Pebble over ACME", async () => {
    await edge.apply(full());
    const [root, intermediate] = await Promise.all([
      pebble.issuingRoot(),
      pebble.issuingIntermediate(),
    ]);
    const started = performance.now();
    // Caddy obtains the certificate in the background after the load: retry until it serves it.
    const response = await eventually(
      () => httpsGet(httpsPort, "secure.test", [root]), // only the root: Caddy sends the chain
      60_000,
      "a certificate for secure.test",
      100,
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)}\n--- caddy ---\n${caddy.log()}\n--- pebble ---\n${pebble.log()}`,
      );
    });
    console.log(
      `certificate from Pebble served after ${(performance.now() - started).toFixed(0)} ms`,
    );
    assert.equal(response.status, 200);
    assert.match(response.body, /^hello from upstream: secure\.test \//);
    // The chain was verified against Pebble's root (tls.connect rejects otherwise); check names too.
    assert.match(String(response.certificate.issuer.CN), /Pebble/);
    const leaf = new X509Certificate(response.certificate.raw);
    assert.match(leaf.subjectAltName ?? "", /DNS:secure\.test/);
    assert.ok(leaf.verify(new X509Certificate(intermediate).publicKey));
  });

  it("does not serve a TLS route over plain HTTP (Caddy redirects to HTTPS)", async () => {
    const response = await requestByHost(httpPort, "secure.test", "/x");
    assert.equal(response.status, 308);
    assert.match(response.headers.location ?? "", /^https:\/\/secure\.test/);
  });

  it("answers 502 with the page when the upstream is down or there is none", async () => {
    for (const host of ["down.test", "empty.test"]) {
      const response = await requestByHost(httpPort, host);
      assert.equal(response.status, 502, `${host}: ${response.body}`);
      assert.match(
        response.body,
        new RegExp(`${host.replace(".", "\\.")} is not running right now`),
      );
    }
  });

  it("moves on to the next upstream when one refuses connections", async () => {
    for (let i = 0; i < 4; i++) {
      const response = await requestByHost(httpPort, "retry.test");
      assert.equal(response.status, 200, response.body);
    }
  });

  it("answers 404 for an unknown host", async () => {
    const response = await requestByHost(httpPort, "nobody.test");
    assert.equal(response.status, 404);
    assert.match(response.body, /No deployment at nobody\.test/);
  });

  it("drops a route once a table without it is applied", async () => {
    const started = performance.now();
    await edge.apply({ routes: full().routes.filter((r) => r.domain !== "app.test") });
    const response = await eventually(
      async () => {
        const answer = await requestByHost(httpPort, "app.test");
        return answer.status === 404 ? answer : undefined;
      },
      10_000,
      "app.test to be gone",
    );
    assert.match(response.body, /No deployment at app\.test/);
    console.log(`route removal (Caddy): ${(performance.now() - started).toFixed(2)} ms`);
  });

  it("measures route propagation: apply() to the first answer", async () => {
    const base = full().routes;
    const samples: number[] = [];
    const applyOnly: number[] = [];
    for (let i = 0; i < 10; i++) {
      const host = `new-${i}.test`;
      const started = performance.now();
      await edge.apply({ routes: [...base, route(host, [upstreamAddress])] });
      applyOnly.push(performance.now() - started);
      await eventually(
        async () => ((await requestByHost(httpPort, host)).status === 200 ? true : undefined),
        10_000,
        host,
        0,
      );
      samples.push(performance.now() - started);
    }
    console.log(`route propagation (Caddy): ${latencySummary(samples)}`);
    console.log(`  of which POST /load (apply() itself): ${latencySummary(applyOnly)}`);
  });

  // Caddy 2.6 on Linux opens new SO_REUSEPORT listeners on every load and closes the old ones:
  // a connection the kernel had queued on an old listener is reset. Such a reset is counted and
  // printed, not failed on; any HTTP answer other than 200 (a route missing mid-swap) fails.
  it("answers right while whole configurations are pushed (resets counted)", async () => {
    const base = full().routes;
    const wrong: string[] = [];
    const resets: string[] = [];
    let applies = 0;
    let stop = false;
    const pusher = (async () => {
      while (!stop) {
        const extra = applies % 2 === 0 ? [route("extra.test", [upstreamAddress])] : [];
        await edge.apply({ routes: [...base, ...extra] });
        applies++;
      }
    })();
    const worker = async () => {
      for (let i = 0; i < 50; i++) {
        try {
          const response = await requestByHost(httpPort, "app.test");
          if (response.status !== 200) wrong.push(`HTTP ${response.status}: ${response.body}`);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          (code === "ECONNRESET" ? resets : wrong).push(String(error));
        }
      }
    };
    try {
      await Promise.all([worker(), worker(), worker(), worker()]);
    } finally {
      stop = true;
      await pusher;
    }
    console.log(
      `Caddy: 200 requests (new connection each) during ${applies} back-to-back configuration pushes: ${resets.length} connection resets, ${wrong.length} wrong answers`,
    );
    assert.deepEqual(wrong, []);
  });

  it("takes pushes back to back, the same table or not", async () => {
    const table = full();
    for (let i = 0; i < 5; i++) {
      await edge.apply(table);
      await edge.apply(table); // unchanged: Caddy keeps running what it has
    }
    await Promise.all([edge.apply({ routes: [] }), edge.apply(table)]); // in call order
    assert.equal((await requestByHost(httpPort, "app.test")).status, 200);
  });

  it("reports a configuration Caddy refuses, without changing what it serves", async () => {
    // The HTTP port is taken (by the upstream): Caddy cannot start the new configuration.
    const taken = Number(upstreamAddress.split(":")[1]);
    const broken = new CaddyEdge({
      adminUrl: caddy.adminUrl,
      httpPort: taken,
      httpsPort,
      bindHost: "127.0.0.1",
    });
    await assert.rejects(
      broken.apply(full()),
      /Caddy refused the configuration \(HTTP 400\).*address already in use/,
    );
    await broken.close();
    assert.equal((await requestByHost(httpPort, "app.test")).status, 200);
  });
});

import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { after, before, describe, it } from "node:test";
import { BuiltinEdge, type Route, type RouteTable } from "../src/edge/index.js";
import { eventually, freePort, latencySummary, requestByHost } from "./helpers/caddy.js";

/** A tiny upstream: answers with its name, the path and the headers it got; echoes WebSockets. */
async function startUpstream(name: string): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Duplex>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.setHeader("x-upstream", name);
      res.end(
        JSON.stringify({
          upstream: name,
          method: req.method,
          path: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (req.headers.upgrade?.toLowerCase() !== "websocket") {
      socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Upstream: ${name}\r\n\r\n`,
    );
    const echo = (data: Buffer) => socket.write(`${name} echo: ${data.toString("utf8")}`);
    if (head.length > 0) echo(head);
    socket.on("data", echo);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function route(domain: string, upstreams: string[], pathPrefix = "/"): Route {
  return {
    domain,
    pathPrefix,
    deploymentId: `deployment-${domain}`,
    tls: false,
    lbAlgorithm: "round_robin",
    weights: {},
    upstreams,
  };
}

/** Table routes in the order routeTable() gives: by domain, longest prefix first. */
function table(...routes: Route[]): RouteTable {
  return { routes };
}

describe("built-in edge (real sockets)", () => {
  let a: Awaited<ReturnType<typeof startUpstream>>;
  let b: Awaited<ReturnType<typeof startUpstream>>;
  let dead: string;
  let edge: BuiltinEdge;
  let port: number;

  before(async () => {
    [a, b] = await Promise.all([startUpstream("a"), startUpstream("b")]);
    dead = `127.0.0.1:${await freePort()}`; // nothing listens there
    edge = new BuiltinEdge({ host: "127.0.0.1", port: 0 });
    ({ port } = await edge.start());
  });

  after(async () => {
    await edge.close();
    await edge.close(); // safe twice
    await Promise.all([a.close(), b.close()]);
  });

  const get = async (host: string, path = "/") => {
    const response = await requestByHost(port, host, path);
    const json =
      response.headers["content-type"] === "application/json"
        ? (JSON.parse(response.body) as {
            upstream: string;
            path: string;
            headers: Record<string, string>;
            body: string;
          })
        : undefined;
    return { ...response, json };
  };

  it("routes by Host header (case and port ignored) and the longest path prefix", async () => {
    await edge.apply(table(route("app.test", [b.address], "/api"), route("app.test", [a.address])));
    assert.equal((await get("app.test")).json?.upstream, "a");
    assert.equal((await get("APP.Test:8080", "/index.html")).json?.upstream, "a");
    const api = await get("app.test", "/api/users?x=1");
    assert.equal(api.json?.upstream, "b");
    assert.equal(api.json?.path, "/api/users?x=1");
    assert.equal(edge.lookup("App.test:80", "/api/v1")?.pathPrefix, "/api");
    assert.equal(edge.lookup("app.test", "/")?.pathPrefix, "/");
    assert.equal(edge.lookup("other.test", "/"), undefined);
  });

  it("forwards method, body and headers, adds X-Forwarded-*, drops hop-by-hop headers", async () => {
    await edge.apply(table(route("app.test", [a.address])));
    const response = await new Promise<{
      status: number;
      body: string;
      headers: http.IncomingHttpHeaders;
    }>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/echo",
          agent: false,
          headers: {
            host: "app.test:8080",
            connection: "keep-alive, x-private",
            "x-private": "hop",
            "x-custom": "kept",
            "x-forwarded-for": "6.6.6.6",
            "transfer-encoding": "chunked",
          },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on("error", reject);
      req.write("hello ");
      setTimeout(() => req.end("world"), 20); // a body that arrives in pieces
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers["x-upstream"], "a");
    const echoed = JSON.parse(response.body) as {
      method: string;
      body: string;
      headers: Record<string, string>;
    };
    assert.equal(echoed.method, "POST");
    assert.equal(echoed.body, "hello world");
    assert.equal(echoed.headers.host, "app.test:8080");
    assert.equal(echoed.headers["x-custom"], "kept");
    assert.equal(echoed.headers["x-private"], undefined);
    assert.equal(echoed.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(echoed.headers["x-forwarded-proto"], "http");
    assert.equal(echoed.headers["x-forwarded-host"], "app.test:8080");
  });

  it("spreads requests round-robin across the upstreams", async () => {
    await edge.apply(table(route("rr.test", [a.address, b.address])));
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await get("rr.test")).json?.upstream ?? "?");
    assert.deepEqual(seen.filter((name) => name === "a").length, 3);
    assert.deepEqual(seen.filter((name) => name === "b").length, 3);
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1]);
  });

  it("moves on to the next upstream when one refuses connections", async () => {
    await edge.apply(table(route("retry.test", [dead, a.address])));
    for (let i = 0; i < 4; i++) {
      const response = await get("retry.test");
      assert.equal(response.status, 200);
      assert.equal(response.json?.upstream, "a");
    }
  });

  it("proxies WebSocket upgrades, bytes flowing both ways", async () => {
    await edge.apply(table(route("ws.test", [a.address])));
    const { status, socket, upstream } = await new Promise<{
      status: number;
      socket: Duplex;
      upstream: string | undefined;
    }>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port,
        path: "/socket",
        agent: false,
        headers: {
          host: "ws.test",
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
      });
      req.on("upgrade", (res, socket) =>
        resolve({
          status: res.statusCode ?? 0,
          socket,
          upstream: res.headers["x-upstream"] as string,
        }),
      );
      req.on("response", (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
      req.on("error", reject);
      req.end();
    });
    try {
      assert.equal(status, 101);
      assert.equal(upstream, "a");
      for (const message of ["ping", "second message"]) {
        const reply = new Promise<string>((resolve) =>
          socket.once("data", (data: Buffer) => resolve(data.toString("utf8"))),
        );
        socket.write(message);
        assert.equal(await reply, `a echo: ${message}`);
      }
    } finally {
      socket.destroy();
    }
  });

  it("passes on the upstream's answer when it declines to upgrade", async () => {
    await edge.apply(table(route("ws.test", [a.address])));
    const response = await new Promise<{ status: number; upgraded: boolean }>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port,
        agent: false,
        headers: { host: "ws.test", connection: "Upgrade", upgrade: "not-websocket" },
      });
      req.on("upgrade", (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, upgraded: true });
      });
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, upgraded: false }));
      });
      req.on("error", reject);
      req.end();
    });
    assert.deepEqual(response, { status: 400, upgraded: false });
  });

  it("answers 404 with a small page for an unknown host", async () => {
    await edge.apply(table(route("app.test", [a.address])));
    const response = await get("nobody.test:9999");
    assert.equal(response.status, 404);
    assert.match(response.headers["content-type"] ?? "", /text\/html/);
    assert.match(response.body, /No deployment at nobody\.test/);
  });

  it("escapes the host in its pages", async () => {
    const response = await requestByHost(port, "x<b>y.test");
    assert.equal(response.status, 404);
    assert.doesNotMatch(response.body, /<b>/);
  });

  it("answers 502 when the deployment has no live replica, or its upstream is down", async () => {
    await edge.apply(table(route("down.test", [dead]), route("empty.test", [])));
    for (const host of ["down.test", "empty.test"]) {
      const response = await get(host);
      assert.equal(response.status, 502, host);
      assert.match(
        response.body,
        new RegExp(`${host.replace(".", "\\.")} is not running right now`),
      );
    }
  });

  it("answers 502 to a WebSocket upgrade when the upstream is down", async () => {
    await edge.apply(table(route("down.test", [dead])));
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port,
        agent: false,
        headers: { host: "down.test", connection: "Upgrade", upgrade: "websocket" },
      });
      req.on("upgrade", (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 502);
  });

  it("swaps tables while requests keep flowing, none failing", async () => {
    const toA = table(route("swap.test", [a.address]));
    const toB = table(route("swap.test", [b.address]));
    await edge.apply(toA);
    const keepAlive = new http.Agent({ keepAlive: true });
    const seen = new Set<string>();
    const failures: string[] = [];
    let applies = 0;
    let stop = false;
    const swapper = (async () => {
      while (!stop) {
        await edge.apply(applies % 2 === 0 ? toB : toA);
        applies++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const worker = async () => {
      for (let i = 0; i < 150; i++) {
        const status = await new Promise<number>((resolve) => {
          const req = http.get(
            { host: "127.0.0.1", port, agent: keepAlive, headers: { host: "swap.test" } },
            (res) => {
              const upstream = res.headers["x-upstream"];
              if (typeof upstream === "string") seen.add(upstream);
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            },
          );
          req.on("error", (error) => {
            failures.push(error.message);
            resolve(0);
          });
        });
        if (status !== 200) failures.push(`HTTP ${status}`);
      }
    };
    try {
      await Promise.all([worker(), worker(), worker(), worker()]);
    } finally {
      stop = true;
      await swapper;
      keepAlive.destroy();
    }
    assert.deepEqual(failures, []);
    assert.ok(applies > 10, `only ${applies} applies`);
    assert.deepEqual([...seen].sort(), ["a", "b"]);
  });

  it("measures route propagation: apply() to the first answer", async () => {
    // The same shape as the Caddy measurement: a few routes, plus a new one per apply.
    const base = [
      route("app.test", [a.address]),
      route("down.test", [dead]),
      route("empty.test", []),
    ];
    await get("app.test"); // warm up
    const samples: number[] = [];
    const applyOnly: number[] = [];
    for (let i = 0; i < 20; i++) {
      const host = `new-${i}.test`;
      const started = performance.now();
      await edge.apply(table(...base, route(host, [a.address])));
      applyOnly.push(performance.now() - started);
      await eventually(
        async () => ((await get(host)).status === 200 ? true : undefined),
        5000,
        host,
        0,
      );
      samples.push(performance.now() - started);
    }
    console.log(`route propagation (built-in edge): ${latencySummary(samples)}`);
    console.log(`  of which apply() itself: ${latencySummary(applyOnly)}`);
  });
});

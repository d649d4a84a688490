import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CaddyConfigOptions, caddyConfig } from "./caddy.js";
import type { Route, RouteTable } from "./route-table.js";

const options: CaddyConfigOptions = {
  httpPort: 8080,
  httpsPort: 8443,
  adminListen: "127.0.0.1:2019",
  bindHost: "127.0.0.1",
};

function route(overrides: Partial<Route> & Pick<Route, "domain">): Route {
  return {
    pathPrefix: "/",
    deploymentId: "d1",
    tls: false,
    lbAlgorithm: "round_robin",
    weights: {},
    upstreams: ["10.0.0.1:30001"],
    ...overrides,
  };
}

interface CaddyRoute {
  match?: { host: string[]; path?: string[]; protocol?: string }[];
  handle: { handler: string; status_code?: number | string; upstreams?: { dial: string }[] }[];
}

function server(config: Record<string, unknown>) {
  const apps = config.apps as { http: { servers: Record<string, Record<string, unknown>> } };
  const edge = apps.http.servers.edge;
  assert.ok(edge);
  return edge as { listen: string[]; routes: CaddyRoute[]; automatic_https: unknown };
}

describe("caddyConfig", () => {
  it("is deterministic and keeps the admin address in every configuration", () => {
    const table: RouteTable = {
      routes: [route({ domain: "a.test", pathPrefix: "/api" }), route({ domain: "a.test" })],
    };
    const config = caddyConfig(table, options);
    assert.equal(JSON.stringify(config), JSON.stringify(caddyConfig(table, options)));
    assert.deepEqual(config.admin, { listen: "127.0.0.1:2019" });
  });

  it("keeps the table's order: longest path prefix first, then an unknown-host 404", () => {
    const table: RouteTable = {
      routes: [
        route({ domain: "a.test", pathPrefix: "/api", upstreams: ["10.0.0.2:1", "10.0.0.3:1"] }),
        route({ domain: "a.test" }),
      ],
    };
    const routes = server(caddyConfig(table, options)).routes;
    assert.deepEqual(routes[0]?.match, [{ host: ["a.test"], path: ["/api*"] }]);
    assert.deepEqual(routes[0]?.handle[0]?.upstreams, [
      { dial: "10.0.0.2:1" },
      { dial: "10.0.0.3:1" },
    ]);
    assert.deepEqual(routes[1]?.match, [{ host: ["a.test"] }]);
    assert.equal(routes[2]?.match, undefined);
    assert.equal(routes[2]?.handle[0]?.status_code, 404);
  });

  it("answers 502 for a route without live upstream", () => {
    const routes = server(
      caddyConfig({ routes: [route({ domain: "down.test", upstreams: [] })] }, options),
    ).routes;
    assert.equal(routes[0]?.handle[0]?.handler, "static_response");
    assert.equal(routes[0]?.handle[0]?.status_code, 502);
  });

  it("serves plain-HTTP routes only on the HTTP port, with automatic HTTPS off", () => {
    const config = caddyConfig({ routes: [route({ domain: "a.test" })] }, options);
    assert.deepEqual(server(config).listen, ["127.0.0.1:8080"]);
    assert.deepEqual(server(config).automatic_https, { disable: true });
    assert.equal((config.apps as Record<string, unknown>).tls, undefined);
  });

  it("issues certificates for TLS routes from the given ACME CA, skipping plain hosts", () => {
    const config = caddyConfig(
      { routes: [route({ domain: "a.test" }), route({ domain: "s.test", tls: true })] },
      { ...options, acme: { ca: "https://127.0.0.1:14000/dir", trustedRootsPemFiles: ["/p.pem"] } },
    );
    const edge = server(config);
    assert.deepEqual(edge.listen, ["127.0.0.1:8080", "127.0.0.1:8443"]);
    assert.deepEqual(edge.automatic_https, { skip: ["a.test"] });
    assert.deepEqual(edge.routes[1]?.match, [{ host: ["s.test"], protocol: "https" }]);
    assert.deepEqual((config.apps as Record<string, unknown>).tls, {
      automation: {
        policies: [
          {
            subjects: ["s.test"],
            issuers: [
              {
                module: "acme",
                ca: "https://127.0.0.1:14000/dir",
                trusted_roots_pem_files: ["/p.pem"],
              },
            ],
          },
        ],
      },
    });
  });

  it("maps the load-balancing algorithm", () => {
    const routes = server(
      caddyConfig({ routes: [route({ domain: "a.test", lbAlgorithm: "least_conn" })] }, options),
    ).routes;
    const handler = routes[0]?.handle[0] as unknown as {
      load_balancing: { selection_policy: { policy: string } };
    };
    assert.equal(handler.load_balancing.selection_policy.policy, "least_conn");
  });

  it("retries the other upstreams when one refuses the connection", () => {
    const lb = (upstreams: string[]) => {
      const config = caddyConfig({ routes: [route({ domain: "a.test", upstreams })] }, options);
      const handler = server(config).routes[0]?.handle[0] as unknown as {
        load_balancing: { retries?: number };
      };
      return handler.load_balancing;
    };
    assert.equal(lb(["10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"]).retries, 2);
    assert.equal(lb(["10.0.0.1:1"]).retries, undefined);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type LocationRow, normalizeHost, type RoutingRow, routeTable } from "./route-table.js";

const web = "11111111-1111-4111-8111-111111111111";
const api = "22222222-2222-4222-8222-222222222222";

function routing(overrides: Partial<RoutingRow> & Pick<RoutingRow, "domain">): RoutingRow {
  return {
    pathPrefix: "/",
    deploymentId: web,
    targetPort: 8080,
    tls: false,
    lbAlgorithm: "round_robin",
    weights: {},
    ...overrides,
  };
}

function location(overrides: Partial<LocationRow> & Pick<LocationRow, "address">): LocationRow {
  return {
    deploymentId: web,
    nodeId: "node-1",
    port: 30001,
    status: "running",
    healthStatus: "healthy",
    ...overrides,
  };
}

describe("routeTable", () => {
  it("routes to the running, healthy replicas as address:port, sorted", () => {
    const table = routeTable(
      [routing({ domain: "app.example.com" })],
      [
        location({ address: "10.0.0.3", nodeId: "node-3" }),
        location({ address: "10.0.0.1", healthStatus: "none" }),
        location({ address: "10.0.0.2", port: 30002 }),
      ],
    );
    assert.deepEqual(table.routes[0]?.upstreams, [
      "10.0.0.1:30001",
      "10.0.0.2:30002",
      "10.0.0.3:30001",
    ]);
  });

  for (const [why, overrides] of [
    ["stopped", { status: "stopped" }],
    ["starting", { status: "starting" }],
    ["failed", { status: "failed" }],
    ["unhealthy", { healthStatus: "unhealthy" }],
    ["health unknown", { healthStatus: "unknown" }],
    ["health check starting", { healthStatus: "starting" }],
    ["no address yet", { address: "" }],
    ["no published port", { port: 0 }],
    ["another deployment", { deploymentId: api }],
  ] as const) {
    it(`leaves out a replica that is ${why}`, () => {
      const table = routeTable(
        [routing({ domain: "app.example.com" })],
        [location({ address: "10.0.0.1" }), location({ address: "10.0.0.9", ...overrides })],
      );
      assert.deepEqual(table.routes[0]?.upstreams, ["10.0.0.1:30001"]);
    });
  }

  it("keeps a route without live replica, with no upstream (the edge answers 502)", () => {
    const table = routeTable(
      [routing({ domain: "down.example.com" })],
      [location({ address: "10.0.0.1", status: "stopped" })],
    );
    assert.equal(table.routes.length, 1);
    assert.deepEqual(table.routes[0]?.upstreams, []);
  });

  it("orders by domain, then the longest path prefix first", () => {
    const table = routeTable(
      [
        routing({ domain: "b.example.com" }),
        routing({ domain: "a.example.com", pathPrefix: "/api", deploymentId: api }),
        routing({ domain: "a.example.com" }),
        routing({ domain: "a.example.com", pathPrefix: "/api/v2", deploymentId: api }),
        routing({ domain: "a.example.com", pathPrefix: "/abc" }),
      ],
      [],
    );
    assert.deepEqual(
      table.routes.map((r) => `${r.domain}${r.pathPrefix}`),
      [
        "a.example.com/api/v2",
        "a.example.com/abc",
        "a.example.com/api",
        "a.example.com/",
        "b.example.com/",
      ],
    );
  });

  it("is deterministic whatever the order of its input", () => {
    const routes = [
      routing({ domain: "x.test", pathPrefix: "/a" }),
      routing({ domain: "x.test" }),
      routing({ domain: "y.test", deploymentId: api, tls: true, weights: { b: 1, a: 2 } }),
    ];
    const locations = [
      location({ address: "10.0.0.2" }),
      location({ address: "10.0.0.1" }),
      location({ address: "10.0.0.5", deploymentId: api }),
      location({ address: "10.0.0.4", deploymentId: api }),
    ];
    const expected = JSON.stringify(routeTable(routes, locations));
    for (let i = 0; i < 20; i++) {
      const shuffled = routeTable(shuffle(routes), shuffle(locations));
      assert.equal(JSON.stringify(shuffled), expected);
    }
  });

  it("normalizes domains and path prefixes, and dedupes upstreams", () => {
    const table = routeTable(
      [routing({ domain: "App.Example.COM.", pathPrefix: "api" })],
      [location({ address: "10.0.0.1" }), location({ address: "10.0.0.1", nodeId: "node-1b" })],
    );
    assert.deepEqual(table.routes[0], {
      domain: "app.example.com",
      pathPrefix: "/api",
      deploymentId: web,
      tls: false,
      lbAlgorithm: "round_robin",
      weights: {},
      upstreams: ["10.0.0.1:30001"],
    });
  });

  it("brackets IPv6 node addresses", () => {
    const table = routeTable([routing({ domain: "v6.test" })], [location({ address: "fd00::5" })]);
    assert.deepEqual(table.routes[0]?.upstreams, ["[fd00::5]:30001"]);
  });
  it("serves only domains verified for their deployment when the domains are given", () => {
    const rows = [
      routing({ domain: "shop.example.com" }),
      routing({ domain: "pending.example.com" }),
      routing({ domain: "lapsed.example.com" }),
      routing({ domain: "theirs.example.com" }),
      routing({ domain: "web.apps.test" }),
    ];
    const table = routeTable(
      rows,
      [location({ address: "10.0.0.1" })],
      [
        { domain: "Shop.Example.com", deploymentId: web, status: "verified" },
        { domain: "pending.example.com", deploymentId: web, status: "pending" },
        { domain: "lapsed.example.com", deploymentId: web, status: "unverified" },
        // Verified, but for another deployment: this deployment's row does not route it.
        { domain: "theirs.example.com", deploymentId: api, status: "verified" },
        { domain: "web.apps.test", deploymentId: web, status: "verified" },
      ],
    );
    assert.deepEqual(
      table.routes.map((r) => r.domain),
      ["shop.example.com", "web.apps.test"],
    );
    // Without the domains, every row is a route (the adapters' own tests build tables so).
    assert.equal(routeTable(rows, []).routes.length, 5);
  });
});

describe("normalizeHost", () => {
  for (const [input, expected] of [
    ["Example.COM", "example.com"],
    ["example.com:8080", "example.com"],
    ["example.com.", "example.com"],
    ["[::1]:8080", "[::1]"],
    ["", ""],
  ] as const) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(normalizeHost(input), expected);
    });
  }
});

function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

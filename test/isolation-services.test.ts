/**
 * The isolation rules keep tenants from the platform's own services, and a node without the rules
 * says so in /health (docs/security-network.md):
 * - the private addresses of the hosts in DATABASE_URL, REDIS_URL, REGISTRY and OIDC_ISSUER are
 *   blocked destinations, read from the real engine's view beside them; public ones are not;
 * - an agent whose rules cannot be installed reports `isolation` not ok in /health.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Dockerode from "dockerode";
import { isolationReader } from "../src/agent/network-isolation.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";

const settings = {
  NETWORK_ISOLATION: "on" as const,
  NETWORK_ISOLATION_ALLOW: [],
  NETWORK_ISOLATION_BLOCK: [],
  NETWORK_ISOLATION_ENGINE_PORTS: [2375, 2376],
  NETWORK_ISOLATION_INTERVAL_SECONDS: 30,
  PORT_RANGE: { from: 20000, to: 29999 },
};

describe("the platform's own services are blocked destinations", () => {
  it("blocks their private addresses, looked up, and leaves public ones and loopback alone", async () => {
    const looked: string[] = [];
    const failed: string[] = [];
    const read = isolationReader({
      docker: new Dockerode(),
      settings,
      engines: ["unix:///var/run/docker.sock"],
      cluster: async () => ({ nodes: [], self: undefined }),
      swarm: false,
      services: [
        "postgres://obiente:secret@10.203.0.5:5432,db-replica.internal:5432/obiente",
        "redis+sentinel://10.203.0.6:26379,10.203.0.7:26379/main",
        "https://registry.internal",
        "https://id.example.com/realms/obiente",
        "redis://127.0.0.1:6379",
        "postgres://u:p@gone.internal/x",
      ],
      lookup: async (host) => {
        looked.push(host);
        const table: Record<string, string[]> = {
          "db-replica.internal": ["10.203.0.8"],
          "registry.internal": ["172.20.9.9", "10.203.0.5"],
          "id.example.com": ["93.184.216.34"],
        };
        const found = table[host];
        if (!found) throw new Error(`${host}: not found`);
        return found;
      },
      onLookupError: (host) => failed.push(host),
    });
    const { blockedDestinations } = await read();
    for (const address of ["10.203.0.5", "10.203.0.6", "10.203.0.7", "10.203.0.8", "172.20.9.9"]) {
      assert.ok(
        blockedDestinations.includes(`${address}/32`),
        `${address} in ${blockedDestinations}`,
      );
    }
    assert.equal(blockedDestinations.filter((d) => d === "10.203.0.5/32").length, 1, "once each");
    assert.ok(!blockedDestinations.includes("93.184.216.34/32"), "a public issuer stays reachable");
    assert.ok(
      !blockedDestinations.some((d) => d.startsWith("127.")),
      "loopback is the container's",
    );
    assert.ok(blockedDestinations.includes("169.254.0.0/16"));
    assert.deepEqual(looked.sort(), [
      "db-replica.internal",
      "gone.internal",
      "id.example.com",
      "registry.internal",
    ]);
    assert.deepEqual(failed, ["gone.internal"]);
  });
});

describe("an agent whose isolation rules cannot be installed", () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform({
      env: {
        ROLES: "api,agent",
        NETWORK_ISOLATION: "on",
        // No such namespace: iptables cannot be used there (and the host's rules stay untouched).
        NETWORK_ISOLATION_NETNS: "/run/netns/obiente-test-no-such-namespace",
      },
    });
  });
  after(() => t?.close());

  it("says so in /health, and keeps serving", async () => {
    const response = await fetch(`${t.baseUrl}/health`);
    const report = (await response.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; detail?: string }>;
    };
    assert.equal(response.status, 200, "a degraded check, not an unavailable API");
    assert.equal(report.checks.isolation?.ok, false, JSON.stringify(report.checks));
    assert.match(report.checks.isolation?.detail ?? "", /^network isolation is not in force: /);
    assert.equal(report.status, "degraded");
  });
});

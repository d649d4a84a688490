import assert from "node:assert/strict";
import { test } from "node:test";
import { type IsolationInput, isolationRuleset, isolationRuleset6 } from "./isolation-rules.js";

const singleEngine: IsolationInput = {
  tenantInterfaces: ["obt-+", "br-0123456789ab"],
  blockedDestinations: ["169.254.0.0/16", "10.0.0.12/32", "10.0.0.11/32"],
  blockedPorts: [2375, 2376],
  allow: [{ cidr: "10.0.5.20/32", port: 5432 }],
};

test("a single engine: tenant bridges, blocked destinations and ports, the host", () => {
  assert.equal(
    isolationRuleset(singleEngine),
    [
      "*filter",
      ":OBIENTE-ISOLATION - [0:0]",
      ":OBIENTE-ISOLATION-INPUT - [0:0]",
      ":OBIENTE-TENANT - [0:0]",
      ":OBIENTE-TENANT-HOST - [0:0]",
      ":OBIENTE-PUBLISHED - [0:0]",
      "-A OBIENTE-ISOLATION -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      "-A OBIENTE-ISOLATION -i br-0123456789ab -j OBIENTE-TENANT",
      "-A OBIENTE-ISOLATION -i obt-+ -j OBIENTE-TENANT",
      "-A OBIENTE-TENANT -d 10.0.5.20/32 -p tcp -m tcp --dport 5432 -j RETURN",
      "-A OBIENTE-TENANT -d 10.0.5.20/32 -p udp -m udp --dport 5432 -j RETURN",
      "-A OBIENTE-TENANT -d 10.0.0.11/32 -j REJECT --reject-with icmp-admin-prohibited",
      "-A OBIENTE-TENANT -d 10.0.0.12/32 -j REJECT --reject-with icmp-admin-prohibited",
      "-A OBIENTE-TENANT -d 169.254.0.0/16 -j REJECT --reject-with icmp-admin-prohibited",
      "-A OBIENTE-TENANT -p tcp -m multiport --dports 2375,2376 -j REJECT --reject-with icmp-admin-prohibited",
      "-A OBIENTE-ISOLATION-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      "-A OBIENTE-ISOLATION-INPUT -i br-0123456789ab -j OBIENTE-TENANT-HOST",
      "-A OBIENTE-ISOLATION-INPUT -i obt-+ -j OBIENTE-TENANT-HOST",
      "-A OBIENTE-TENANT-HOST -d 10.0.5.20/32 -p tcp -m tcp --dport 5432 -j RETURN",
      "-A OBIENTE-TENANT-HOST -d 10.0.5.20/32 -p udp -m udp --dport 5432 -j RETURN",
      "-A OBIENTE-TENANT-HOST -j REJECT --reject-with icmp-admin-prohibited",
      "COMMIT",
      "",
    ].join("\n"),
  );
});

test("a Swarm node: docker_gwbridge with exemptions, published ports for the edge only", () => {
  const rules = isolationRuleset({
    ...singleEngine,
    sharedBridge: { interface: "docker_gwbridge", exempt: ["172.18.0.2/32"] },
    published: {
      range: { from: 20000, to: 29999 },
      address: "10.0.0.12",
      from: ["10.0.0.21/32", "10.0.0.22/32"],
    },
  }).split("\n");
  const forward = rules.filter((line) => line.startsWith("-A OBIENTE-ISOLATION "));
  assert.deepEqual(forward, [
    "-A OBIENTE-ISOLATION -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    "-A OBIENTE-ISOLATION -p tcp -m conntrack --ctstate DNAT --ctorigdstport 20000:29999 -j OBIENTE-PUBLISHED",
    "-A OBIENTE-ISOLATION -i br-0123456789ab -j OBIENTE-TENANT",
    "-A OBIENTE-ISOLATION -i obt-+ -j OBIENTE-TENANT",
    "-A OBIENTE-ISOLATION -i docker_gwbridge -s 172.18.0.2/32 -j RETURN",
    "-A OBIENTE-ISOLATION -i docker_gwbridge -j OBIENTE-TENANT",
  ]);
  assert.deepEqual(
    rules.filter((line) => line.startsWith("-A OBIENTE-PUBLISHED ")),
    [
      "-A OBIENTE-PUBLISHED -s 10.0.0.21/32 -m conntrack --ctorigdst 10.0.0.12 -j RETURN",
      "-A OBIENTE-PUBLISHED -s 10.0.0.22/32 -m conntrack --ctorigdst 10.0.0.12 -j RETURN",
      "-A OBIENTE-PUBLISHED -j REJECT --reject-with icmp-admin-prohibited",
    ],
  );
  assert.ok(
    rules.includes("-A OBIENTE-ISOLATION-INPUT -i docker_gwbridge -s 172.18.0.2/32 -j RETURN"),
  );
  assert.ok(rules.includes("-A OBIENTE-ISOLATION-INPUT -i docker_gwbridge -j OBIENTE-TENANT-HOST"));
});

test("a node whose own address is unknown refuses its published ports to everyone", () => {
  const rules = isolationRuleset({
    ...singleEngine,
    published: { range: { from: 20000, to: 20010 }, address: undefined, from: ["10.0.0.21/32"] },
  }).split("\n");
  assert.deepEqual(
    rules.filter((line) => line.startsWith("-A OBIENTE-PUBLISHED ")),
    ["-A OBIENTE-PUBLISHED -j REJECT --reject-with icmp-admin-prohibited"],
  );
});

test("the same knowledge gives the same text; many ports are split for multiport", () => {
  const shuffled = {
    ...singleEngine,
    tenantInterfaces: [...singleEngine.tenantInterfaces].reverse(),
    blockedDestinations: [...singleEngine.blockedDestinations, "10.0.0.12/32"].reverse(),
  };
  assert.equal(isolationRuleset(shuffled), isolationRuleset(singleEngine));
  const many = isolationRuleset({
    ...singleEngine,
    blockedPorts: Array.from({ length: 20 }, (_, i) => 3000 + i),
  });
  assert.equal(many.match(/--dports/g)?.length, 2);
});

test("anything that is not an address, port or interface never reaches iptables", () => {
  for (const bad of [
    { tenantInterfaces: ["obt-+ -j ACCEPT"] },
    { tenantInterfaces: ["a-name-longer-than-15"] },
    { blockedDestinations: ["10.0.0.1 -j ACCEPT"] },
    { blockedPorts: [0] },
    { allow: [{ cidr: "10.0.0.1/32", port: 70000 }] },
    { sharedBridge: { interface: "docker_gwbridge", exempt: ["x"] } },
    { published: { range: { from: 2, to: 1 }, address: "10.0.0.1", from: [] } },
    { published: { range: { from: 1, to: 2 }, address: "10.0.0.1\n-A INPUT -j ACCEPT", from: [] } },
  ] as Array<Partial<IsolationInput>>) {
    assert.throws(() => isolationRuleset({ ...singleEngine, ...bad }), /isolation rules: invalid/);
  }
});

test("IPv6: a Swarm node's published range answers nobody but the node itself", () => {
  assert.equal(isolationRuleset6(singleEngine), undefined);
  assert.equal(
    isolationRuleset6({
      ...singleEngine,
      published: { range: { from: 20000, to: 29999 }, address: "10.0.0.12", from: [] },
    }),
    [
      "*filter",
      ":OBIENTE-ISOLATION-INPUT - [0:0]",
      "-A OBIENTE-ISOLATION-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      "-A OBIENTE-ISOLATION-INPUT -i lo -j RETURN",
      "-A OBIENTE-ISOLATION-INPUT -p tcp -m tcp --dport 20000:29999 -j REJECT --reject-with icmp6-adm-prohibited",
      "COMMIT",
      "",
    ].join("\n"),
  );
});

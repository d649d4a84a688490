/**
 * Replica ports and tenants' reach on a real 3-node Swarm (scripts/swarm-up.sh; run it under
 * `flock /tmp/obiente-swarm.lock`), with the agent's isolation rules installed in node2's and
 * node3's network namespaces (NETWORK_ISOLATION_NETNS), as the agent on each node installs them.
 * The edge is the host, 10.77.0.1 (EDGE_ADDRESSES), as in the cluster tests.
 *
 * Swarm publishes a replica's port in host mode on every address of its node (a DNAT rule for any
 * local address, and docker-proxy on 0.0.0.0). With the rules:
 * - the edge reaches project A's replica at node2's address, 10.77.0.12, and an edge-like service
 *   of the platform's own running on node2 (no deployment label) reaches it too;
 * - another address of node2 (10.77.0.112, added by the test) does not answer, nor its link-local
 *   IPv6 address (docker-proxy listens on `[::]` as well);
 * - project B's replicas, one on node2 (through docker_gwbridge to its own node: INPUT) and one
 *   on node3 (routed to node2: refused on node3 already, a node address), do not reach it;
 * - project B's replica on node3 does not reach a stand-in for an engine port at node1's address
 *   (10.77.0.11:2375, a listener in node1's namespace), but still reaches the host (10.77.0.1).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Dockerode from "dockerode";
import pino from "pino";
import type { NetworkFirewall } from "../src/agent/firewall.js";
import { startNetworkIsolation } from "../src/agent/network-isolation.js";
import {
  containerName,
  deploymentLabels,
  type LogLine,
  projectNetworkName,
  type SwarmServiceSpec,
} from "../src/runtime/index.js";
import { LogDemuxer } from "../src/runtime/log-stream.js";
import { SwarmRuntime } from "../src/runtime/swarm-runtime.js";
import { type Listener, listener, run, Undo } from "./helpers/netns.js";
import {
  type SwarmHarness,
  type SwarmNodeHandle,
  startSwarm,
  swarmSkipReason,
} from "./helpers/swarm.js";

const SCOPE_LABEL = "cloud.obiente.test_scope";
const PORT_RANGE = { from: 42000, to: 42999 };
const WAIT_MS = 30_000;
const EDGE = "10.77.0.1";
const OTHER_ADDRESS = "10.77.0.112";
const skip = swarmSkipReason();
const scope = randomBytes(5).toString("hex");
const host = new Dockerode({ socketPath: "/var/run/docker.sock" });

function get(address: string, port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: address, port, path: "/", agent: false, timeout: 3_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    request.on("timeout", () => request.destroy(new Error(`GET ${address}:${port} timed out`)));
    request.on("error", reject);
  });
}

async function execIn(docker: Dockerode, containerId: string, cmd: string[]): Promise<string> {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const demuxer = new LogDemuxer();
  const lines: LogLine[] = [];
  for await (const chunk of stream) lines.push(...demuxer.push(chunk as Buffer));
  lines.push(...demuxer.end());
  return lines.map((line) => line.line).join("\n");
}

/** What the container gets from host:port (nc's error when it gets nothing). */
const fetchFrom = (docker: Dockerode, containerId: string, address: string, port: number) =>
  execIn(docker, containerId, [
    "sh",
    "-c",
    `(printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 2) | timeout 3 nc ${address} ${port} 2>&1 | tail -n 3`,
  ]);

async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      assert.fail(`${what}: not within ${WAIT_MS} ms; last: ${JSON.stringify(value)}`);
    }
    await sleep(250);
  }
}

describe("replica ports and tenants on a real Swarm", { skip: skip ?? false }, () => {
  const undo = new Undo();
  let harness: SwarmHarness | undefined;
  let runtime: SwarmRuntime;
  let nodes: SwarmNodeHandle[];
  const engines = new Map<string, Dockerode>();
  const firewalls: NetworkFirewall[] = [];
  let imageId = "";
  let engineStandIn: Listener;
  let hostControl = 0;
  const replicas = {
    a: { hostPort: 0, containerId: "", node: "" },
    b2: { hostPort: 0, containerId: "", node: "" },
    b3: { hostPort: 0, containerId: "", node: "" },
    edge: { hostPort: 0, containerId: "", node: "" },
  };

  /** httpd serving `text`, as a tenant's replica (deployment labels) or the platform's own. */
  const service = (
    key: keyof typeof replicas,
    node: SwarmNodeHandle,
    project: string,
    tenant: boolean,
  ): SwarmServiceSpec => {
    const deploymentId = `dep-${key}-${scope}`;
    return {
      name: containerName(deploymentId, 0, imageId, 0),
      image: imageId,
      cmd: [
        "sh",
        "-c",
        `mkdir -p /www; echo "replica ${key}" > /www/index.html; exec httpd -f -p 8080 -h /www`,
      ],
      env: {},
      labels: {
        ...(tenant
          ? deploymentLabels({
              deploymentId,
              projectId: project,
              organizationId: `org-${scope}`,
              replica: 0,
              buildId: `build-${scope}`,
            })
          : {}),
        [SCOPE_LABEL]: scope,
      },
      internalPort: 8080,
      cpuMillicores: 250,
      memoryMb: 32,
      nodeId: node.id,
      network: projectNetworkName(project),
    };
  };

  before(async () => {
    harness = await startSwarm(3);
    nodes = harness.nodes;
    for (const node of nodes) {
      engines.set(node.name, new Dockerode({ socketPath: node.socket.replace(/^unix:\/\//, "") }));
    }
    imageId = (await host.getImage("obiente-test/busybox:latest").inspect()).Id;
    runtime = new SwarmRuntime({ dockerHost: harness.managerSocket, portRange: PORT_RANGE });
    const [node1, node2, node3] = nodes as [SwarmNodeHandle, SwarmNodeHandle, SwarmNodeHandle];

    // Stand-ins this test owns: an engine port at node1's address, a service on the edge host.
    engineStandIn = await listener(
      node1.address,
      2375,
      "engine-node1",
      undo,
      "/var/run/netns/node1",
    );
    const { createServer } = await import("node:net");
    const open = new Set<import("node:net").Socket>();
    const control = createServer((socket) => {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => socket.destroy());
      socket.end("edge-host\n");
    });
    await new Promise<void>((resolve) => control.listen(0, EDGE, resolve));
    undo.push(async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => control.close(resolve));
    });
    hostControl = (control.address() as { port: number }).port;
    await run("ip", ["-n", "node2", "addr", "add", `${OTHER_ADDRESS}/24`, "dev", "eth0"]);

    // The agents' rules on node2 and node3, in their namespaces.
    for (const node of [node2, node3]) {
      const firewall = await startNetworkIsolation({
        docker: engines.get(node.name) as Dockerode,
        settings: {
          NETWORK_ISOLATION: "on",
          NETWORK_ISOLATION_ALLOW: [],
          NETWORK_ISOLATION_BLOCK: [],
          NETWORK_ISOLATION_ENGINE_PORTS: [2375, 2376],
          NETWORK_ISOLATION_INTERVAL_SECONDS: 5,
          NETWORK_ISOLATION_NETNS: `/var/run/netns/${node.name}`,
          EDGE_ADDRESSES: [EDGE],
          PORT_RANGE,
        },
        engines: nodes.map((n) => n.socket),
        cluster: async () => ({ nodes: nodes.map((n) => n.address), self: node.address }),
        swarm: true,
        logger: pino({ level: "silent" }),
      });
      assert.ok(firewall);
      firewalls.push(firewall);
      undo.push(() => firewall.uninstall());
    }

    const projectA = `proj-a-${scope}`;
    const projectB = `proj-b-${scope}`;
    for (const project of [projectA, projectB]) {
      await runtime.ensureNetwork(projectNetworkName(project), { [SCOPE_LABEL]: scope });
    }
    const specs: Array<[keyof typeof replicas, SwarmServiceSpec]> = [
      ["a", service("a", node2, projectA, true)],
      ["b2", service("b2", node2, projectB, true)],
      ["b3", service("b3", node3, projectB, true)],
      ["edge", service("edge", node2, projectA, false)],
    ];
    await Promise.all(
      specs.map(async ([key, spec]) => {
        const placed = await runtime.run(spec);
        await runtime.waitRunning(placed.id, { timeoutMs: WAIT_MS });
        const [info] = await runtime.list({ deploymentId: `dep-${key}-${scope}` });
        const containerId =
          info?.tasks.find((task) => task.state === "running")?.containerId ??
          (
            await engines.get(key === "b3" ? "node3" : "node2")?.listContainers({
              filters: { label: [`com.docker.swarm.service.id=${placed.id}`] },
            })
          )?.[0]?.Id ??
          "";
        assert.ok(containerId, `the container of ${key}`);
        replicas[key] = {
          hostPort: placed.hostPort,
          containerId,
          node: key === "b3" ? "node3" : "node2",
        };
      }),
    );
  });

  after(async () => {
    for (const firewall of firewalls) await firewall.close();
    await undo.run();
    await harness?.down();
  });

  test("the edge reaches a replica at its node's address", async () => {
    const answer = await get(nodes[1]?.address ?? "", replicas.a.hostPort);
    assert.deepEqual(answer, { status: 200, body: "replica a\n" });
  });

  test("an edge-like service of the platform's own on the node reaches it too", async () => {
    const docker = engines.get("node2") as Dockerode;
    const answer = await eventually(
      "the edge service's exemption",
      () => fetchFrom(docker, replicas.edge.containerId, "10.77.0.12", replicas.a.hostPort),
      (out) => out.includes("replica a"),
    );
    assert.match(answer, /replica a/);
  });

  test("another address of the node does not answer, IPv6 included", async () => {
    await assert.rejects(get(OTHER_ADDRESS, replicas.a.hostPort));
    // docker-proxy listens on [::] too: node2's link-local IPv6 address, through the bridge.
    const out = await run("ip", [
      "-n",
      "node2",
      "-6",
      "-o",
      "addr",
      "show",
      "dev",
      "eth0",
      "scope",
      "link",
    ]);
    const ipv6 = /inet6 (fe80::[0-9a-f:]+)\//.exec(out)?.[1];
    assert.ok(ipv6, `node2 has a link-local IPv6 address: ${out}`);
    await assert.rejects(get(`${ipv6}%br-obt`, replicas.a.hostPort));
  });

  test("another project's replicas, on the same node and on another, do not reach it", async () => {
    for (const key of ["b2", "b3"] as const) {
      const replica = replicas[key];
      const docker = engines.get(replica.node) as Dockerode;
      for (const address of ["10.77.0.12", OTHER_ADDRESS]) {
        const out = await fetchFrom(docker, replica.containerId, address, replicas.a.hostPort);
        assert.doesNotMatch(out, /replica a/, `${key} reached ${address}: ${out}`);
      }
    }
  });

  test("a tenant's replica reaches no engine port on a node, but still the edge host", async () => {
    const docker = engines.get("node3") as Dockerode;
    const before = engineStandIn.connections();
    const out = await fetchFrom(docker, replicas.b3.containerId, "10.77.0.11", 2375);
    assert.doesNotMatch(out, /engine-node1/, out);
    assert.equal(engineStandIn.connections(), before);
    const edge = await fetchFrom(docker, replicas.b3.containerId, EDGE, hostControl);
    assert.match(edge, /edge-host/);
  });
});

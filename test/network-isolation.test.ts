/**
 * Network isolation on a real engine (docs/security-network.md, "Private network and engines"):
 * the whole platform in this process with NETWORK_ISOLATION=on, its agent keeping the rules in
 * the host's iptables, and targets that only this test owns:
 *
 * - a network namespace joined to the host by a veth pair, at 10.79.N.2 (recorded as a cluster
 *   node in node_metadata) and 10.79.N.3 (any other private machine), with listeners standing in
 *   for a Docker engine's port (2375) on both, another service on the node (8081) and a control
 *   service on the other machine (8081), which must stay reachable: private ranges as such are
 *   not blocked;
 * - a link-local address, 169.254.77.1, on a port-less bridge in that namespace (the kernel here
 *   has no dummy interfaces), routed from the host, with a listener (8082);
 * - the platform's API, PostgreSQL and Redis, reachable on the host's bridge addresses (the
 *   gateways of the build network and of the project's network) through forwarders.
 *
 * From inside a build step and from inside the deployed container, each of those connections
 * fails, the control one succeeds, and the app still answers through the edge. A Dockerfile with
 * `ADD <url>` is refused before its build starts, and the URL is never fetched. Everything made is
 * removed afterwards: the rules (uninstalled), the namespace, the veth pair, the forwarders.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DeploymentStatus } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { BUILD_NETWORK } from "../src/runtime/tenant-networks.js";
import { nodeMetadata } from "../src/store/schema.js";
import {
  containersOf,
  type DeployHarness,
  docker,
  Leftovers,
  startDeployHarness,
  untilAnswers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { execIn } from "./helpers/exec.js";
import { BUSYBOX_IMAGE } from "./helpers/git-fixtures.js";
import { type GitRepo, makeGitRepo } from "./helpers/git-repo.js";
import {
  addressHolder,
  forwarder,
  type Listener,
  listener,
  makeNetns,
  netnsSkipReason,
  run,
  suffix,
  Undo,
  vethInto,
} from "./helpers/netns.js";

const skip = await netnsSkipReason();

/** Prints "NAME <what the connection answered, or nc's error>" per target. */
const PROBE = `#!/bin/sh
while [ $# -ge 4 ]; do
  name=$1; host=$2; port=$3; kind=$4; shift 4
  case $kind in
    redis) request='PING\\r\\n' ;;
    pg) request='\\000\\000\\000\\010\\004\\322\\026\\057' ;;
    http) request='GET /health HTTP/1.0\\r\\n\\r\\n' ;;
    *) request='' ;;
  esac
  # busybox nc stops at the end of its input: keep it open while the answer comes.
  out=$( (printf "$request"; sleep 2) | timeout 3 nc "$host" "$port" 2>&1 | head -c 120 | tr -d '\\000' | tr '\\r\\n' '  ')
  echo "$name $out"
done
`;

interface Target {
  name: string;
  host: string;
  port: number;
  kind: "plain" | "redis" | "pg" | "http";
  /** What the answer holds when the connection went through. */
  answer: RegExp;
}

const args = (targets: Target[]) =>
  targets.flatMap((t) => [t.name, t.host, String(t.port), t.kind]);

function parseProbe(output: string): Map<string, string> {
  const results = new Map<string, string>();
  for (const line of output.split("\n")) {
    const at = line.indexOf(" ");
    if (at > 0) results.set(line.slice(0, at), line.slice(at + 1));
  }
  return results;
}

/** Every blocked target unreachable, every allowed one reached. */
function assertProbe(output: string, blocked: Target[], allowed: Target[], where: string) {
  const results = parseProbe(output);
  for (const target of blocked) {
    const answer = results.get(target.name);
    assert.notEqual(answer, undefined, `${where}: no probe result for ${target.name}:\n${output}`);
    assert.doesNotMatch(
      answer ?? "",
      target.answer,
      `${where} reached ${target.name} (${target.host}:${target.port}): ${answer}`,
    );
  }
  for (const target of allowed) {
    assert.match(
      results.get(target.name) ?? "",
      target.answer,
      `${where} could not reach ${target.name} (${target.host}:${target.port}):\n${output}`,
    );
  }
}

const exec = async (containerId: string, cmd: string[]) =>
  (await execIn(docker, containerId, cmd)).output;

async function gatewayOf(network: string): Promise<string> {
  const info = await docker.getNetwork(network).inspect();
  const gateway = info.IPAM?.Config?.[0]?.Gateway as string | undefined;
  assert.ok(gateway, `${network} has a gateway`);
  return gateway;
}

describe("network isolation of builds and deployments", { skip: skip ?? false }, () => {
  const undo = new Undo();
  const leftovers = new Leftovers();
  let h: DeployHarness | undefined;
  let repo: GitRepo | undefined;
  let projectId = "";
  const subnet = `10.79.${100 + Math.floor(Math.random() * 100)}`;
  const node = `${subnet}.2`;
  const other = `${subnet}.3`;
  const linkLocal = "169.254.77.1";
  let linkLocalListener: Listener;
  /** Blocked from everywhere tenants are; the build's host targets are added in before(). */
  const outside: Target[] = [
    { name: "node-engine", host: node, port: 2375, kind: "plain", answer: /engine-node/ },
    { name: "node-service", host: node, port: 8081, kind: "plain", answer: /service-node/ },
    { name: "other-engine", host: other, port: 2375, kind: "plain", answer: /engine-other/ },
    { name: "link-local", host: linkLocal, port: 8082, kind: "plain", answer: /metadata/ },
  ];
  const control: Target = {
    name: "control",
    host: other,
    port: 8081,
    kind: "plain",
    answer: /control-other/,
  };
  let buildHost: Target[] = [];

  /** The platform's API, PostgreSQL and Redis on `address` (a bridge gateway of this host). */
  async function hostTargets(address: string, prefix: string): Promise<Target[]> {
    const api = h?.t.platform.ports?.http;
    assert.ok(api);
    return [
      {
        name: `${prefix}-api`,
        host: address,
        port: await forwarder(address, api, undo),
        kind: "http",
        answer: /HTTP\/1\./,
      },
      {
        name: `${prefix}-postgres`,
        host: address,
        port: await forwarder(address, 5432, undo),
        kind: "pg",
        answer: /^[NS]/,
      },
      {
        name: `${prefix}-redis`,
        host: address,
        port: await forwarder(address, 6379, undo),
        kind: "redis",
        answer: /\+PONG/,
      },
    ];
  }

  before(async () => {
    const id = suffix();
    const netnsName = `obtiso${id}`;
    const netns = await makeNetns(netnsName, undo);
    await vethInto(netnsName, `oiv${id}`, `${subnet}.1/24`, [`${node}/24`, `${other}/24`], undo);
    await addressHolder("lnk0", `${linkLocal}/32`, undo, netnsName);
    // The host reaches the link-local address through the namespace (never 169.254.169.254).
    await run("ip", ["route", "add", `${linkLocal}/32`, "via", node]);
    undo.push(() => run("ip", ["route", "del", `${linkLocal}/32`]));
    await listener(node, 2375, "engine-node", undo, netns);
    await listener(node, 8081, "service-node", undo, netns);
    await listener(other, 2375, "engine-other", undo, netns);
    await listener(other, 8081, "control-other", undo, netns);
    linkLocalListener = await listener(linkLocal, 8082, "metadata", undo, netns);

    h = await startDeployHarness(
      { NETWORK_ISOLATION: "on", NETWORK_ISOLATION_INTERVAL_SECONDS: "5" },
      leftovers,
    );
    const deploying = h.t.platform.deploying;
    assert.ok(deploying?.firewall, "the agent installed the isolation rules");
    undo.push(() => deploying.firewall?.uninstall() ?? Promise.resolve());
    // Another node of the cluster, as the agents on the nodes record it.
    await h.t.platform.ctx.db.insert(nodeMetadata).values({
      id: `isolation-test-${id}`,
      hostname: "node-2",
      address: node,
      availability: "down",
    });
    assert.equal(await deploying.firewall.sync(), true);

    await deploying.runtime.ensureBuildNetwork();
    buildHost = await hostTargets(await gatewayOf(BUILD_NETWORK), "build-host");
    repo = await makeGitRepo({
      probe: {
        "probe.sh": PROBE,
        Dockerfile: [
          `FROM ${BUSYBOX_IMAGE}`,
          "COPY probe.sh /probe.sh",
          `RUN sh /probe.sh ${args([...outside, ...buildHost, control]).join(" ")} > /probe-build.txt`,
          "RUN mkdir -p /www && echo isolated app > /www/index.html",
          "EXPOSE 8080",
          'CMD ["busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]',
          "",
        ].join("\n"),
      },
      "add-url": {
        Dockerfile: [
          `FROM ${BUSYBOX_IMAGE}`,
          `ADD --chown=1:1 \\`,
          `    http://${linkLocal}:8082/latest/meta-data /meta`,
          'CMD ["busybox", "httpd", "-f", "-p", "8080", "-h", "/"]',
          "",
        ].join("\n"),
      },
    });
    projectId = await h.project("Isolated");
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await undo.run();
    await repo?.cleanup();
  });

  it("keeps a build step and the deployed container from the host, the nodes, engines and link-local addresses; the app still answers", async () => {
    assert.ok(h && repo);
    const { id, domain } = await h.deploy({
      projectId,
      name: "probe",
      gitRepo: repo.url,
      branch: "probe",
    });
    await waitForStatus(h.deployments, id, DeploymentStatus.RUNNING);
    await untilAnswers(h.edgePort ?? 0, domain, 200, "isolated app");

    const [container] = await containersOf(id);
    assert.ok(container);
    const inspected = await docker.getContainer(container.Id).inspect();
    const network = Object.keys(inspected.NetworkSettings.Networks)[0] ?? "";
    assert.match(
      (await docker.getNetwork(network).inspect()).Options?.["com.docker.network.bridge.name"] ??
        "",
      /^obt-[0-9a-f]{11}$/,
      "the project's bridge is a tenant bridge",
    );

    const fromBuild = await exec(container.Id, ["cat", "/probe-build.txt"]);
    assertProbe(fromBuild, [...outside, ...buildHost], [control], "a build step");

    const runtimeHost = await hostTargets(await gatewayOf(network), "host");
    const fromApp = await exec(container.Id, [
      "sh",
      "/probe.sh",
      ...args([...outside, ...runtimeHost, control]),
    ]);
    assertProbe(fromApp, [...outside, ...runtimeHost], [control], "the deployed container");
    await untilAnswers(h.edgePort ?? 0, domain, 200, "isolated app");
  });

  it("covers a project network made before bridges were named obt- (Docker's br-<id>)", async () => {
    assert.ok(h);
    // As older versions made them: the platform's labels, Docker's own bridge name.
    const name = `obiente-net-legacy-${suffix()}`;
    const network = await docker.createNetwork({
      Name: name,
      Driver: "bridge",
      Labels: { "cloud.obiente.deployment": "true", "cloud.obiente.project_id": "legacy" },
    });
    undo.push(() => network.remove());
    const container = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ["sleep", "600"],
      HostConfig: { NetworkMode: name },
    });
    undo.push(() => container.remove({ force: true }));
    await container.start();
    // The engine's network event wakes the firewall; a pass names the bridge.
    const bridge = `br-${network.id.slice(0, 12)}`;
    const deadline = Date.now() + 15_000;
    while (!(h.t.platform.deploying?.firewall?.rules ?? "").includes(`-i ${bridge} `)) {
      assert.ok(Date.now() < deadline, `the rules never named ${bridge}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const out = await exec(container.id, [
      "sh",
      "-c",
      `(sleep 1) | timeout 3 nc ${linkLocal} 8082 2>&1; (sleep 1) | timeout 3 nc ${other} 8081 2>&1`,
    ]);
    assert.doesNotMatch(out, /metadata/, out);
    assert.match(out, /control-other/, out);
  });

  it("refuses ADD <url> before the build starts, and never fetches it", async () => {
    assert.ok(h && repo);
    const before = linkLocalListener.connections();
    const { id } = await h.deploy({
      projectId,
      name: "add-url",
      gitRepo: repo.url,
      branch: "add-url",
    });
    const seen = await waitForStatus(h.deployments, id, DeploymentStatus.FAILED).catch(
      (error: unknown) => ({ message: String(error), status: undefined }),
    );
    assert.match(
      seen.message,
      /Dockerfile line 2: ADD from a URL \(http:\/\/169\.254\.77\.1:8082\/latest\/meta-data\) is not allowed/,
    );
    assert.equal(linkLocalListener.connections(), before, "the URL was fetched");
  });

  it("leaves DNS, package archives and registries alone: no rule covers the resolver", async () => {
    const rules = h?.t.platform.deploying?.firewall?.rules ?? "";
    assert.match(rules, /-A OBIENTE-TENANT -d 169\.254\.0\.0\/16 -j REJECT/);
    assert.match(
      rules,
      new RegExp(`-A OBIENTE-TENANT -d ${node.replaceAll(".", "\\.")}/32 -j REJECT`),
    );
    for (const line of rules.split("\n").filter((l) => l.startsWith("-A OBIENTE-TENANT "))) {
      // Only single addresses, link-local and ports: never a private range as a whole.
      assert.match(line, /-d (\d+\.\d+\.\d+\.\d+\/32|169\.254\.0\.0\/16) |--dports|--dport/, line);
    }
  });
});

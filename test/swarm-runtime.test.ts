/**
 * The Swarm runtime on a real 3-node Docker Swarm made on this machine by scripts/swarm-up.sh:
 * node1 (manager, 10.77.0.11), node2 and node3 (workers, 10.77.0.12 and .13), each its own
 * dockerd in its own network namespace. The app image is built on the host's engine and reaches
 * the nodes through ensureImage (no registry). Traffic goes only to the 10.77.0.0/24 addresses of
 * those namespaces and to loopback. Everything is torn down at the end, also when a test fails.
 * Skipped, with the reason, where the harness cannot run (not root, no iproute2 or dockerd).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Dockerode from "dockerode";
import tar from "tar-stream";
import { DomainError, hasReason } from "../src/domain/errors.js";
import { PIDS_LIMIT } from "../src/runtime/docker-runtime.js";
import {
  containerName,
  deploymentLabels,
  LABELS,
  type LogLine,
  projectNetworkName,
  type SwarmNode,
  type SwarmServiceSpec,
} from "../src/runtime/index.js";
import { LogDemuxer } from "../src/runtime/log-stream.js";
import { SwarmRuntime } from "../src/runtime/swarm-runtime.js";
import {
  type SwarmHarness,
  type SwarmNodeHandle,
  startSwarm,
  swarmSkipReason,
} from "./helpers/swarm.js";

const SCOPE_LABEL = "cloud.obiente.test_scope";
const PORT_RANGE = { from: 42000, to: 42999 };
const WAIT_MS = 30_000;
const skip = swarmSkipReason();

const host = new Dockerode({ socketPath: "/var/run/docker.sock" });
const scope = randomBytes(5).toString("hex");
const deploymentId = `dep-${scope}`;
const appTag = `obiente-test/swarm-app:${scope}`;

/** Serves "hello from <name>" on 8080; exits at once on SIGTERM (sh is PID 1 and traps it). */
function hello(name: string): string[] {
  return [
    "sh",
    "-c",
    `trap 'exit 0' TERM; echo "hello from ${name}" > /www/index.html; echo "started ${name}"; httpd -f -p 8080 -h /www & wait`,
  ];
}

/** A tiny app, built on the host's engine like the builder does: busybox httpd serving a page. */
async function buildApp(): Promise<string> {
  const pack = tar.pack();
  pack.entry(
    { name: "Dockerfile" },
    [
      "FROM obiente-test/busybox:latest",
      "COPY index.html /www/index.html",
      `CMD ["sh", "-c", "trap 'exit 0' TERM; echo \\"app started: $GREETING\\"; httpd -f -p 8080 -h /www & wait"]`,
      "",
    ].join("\n"),
  );
  pack.entry({ name: "index.html" }, `hello from swarm ${scope}\n`);
  pack.finalize();
  const output = await host.buildImage(Readable.from(pack, { objectMode: false }), {
    t: appTag,
    labels: { [SCOPE_LABEL]: scope },
    rm: true,
  });
  await new Promise<void>((resolve, reject) => {
    host.modem.followProgress(output, (error: Error | null, events: Array<{ error?: string }>) => {
      const failed = error?.message ?? events.find((event) => event.error)?.error;
      if (failed) reject(new Error(`build failed: ${failed}`));
      else resolve();
    });
  });
  return (await host.getImage(appTag).inspect()).Id;
}

function get(address: string, port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: address, port, path: "/", agent: false, timeout: 5_000 },
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

/** Runs `cmd` in a container and returns what it printed. */
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

async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      assert.fail(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    }
    await sleep(250);
  }
}

function isDomain(kind: DomainError["kind"]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof DomainError, `a DomainError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return true;
  };
}

describe("SwarmRuntime on a real 3-node Swarm", { skip: skip ?? false }, () => {
  let harness: SwarmHarness | undefined;
  let runtime: SwarmRuntime;
  let imageId: string;
  let nodes: SwarmNodeHandle[];
  const engines = new Map<string, Dockerode>();
  const engine = (node: SwarmNodeHandle): Dockerode => engines.get(node.id) as Dockerode;
  let sources: Parameters<SwarmRuntime["ensureImage"]>[2];

  const spec = (
    replica: number,
    node: SwarmNodeHandle,
    overrides: Partial<SwarmServiceSpec> = {},
  ): SwarmServiceSpec => ({
    name: containerName(deploymentId, replica, imageId, 0),
    image: imageId,
    env: { GREETING: "hi" },
    labels: {
      ...deploymentLabels({
        deploymentId,
        projectId: `proj-${scope}`,
        organizationId: `org-${scope}`,
        replica,
        buildId: `build-${scope}`,
      }),
      [SCOPE_LABEL]: scope,
    },
    internalPort: 8080,
    cpuMillicores: 250,
    memoryMb: 64,
    nodeId: node.id,
    ...overrides,
  });

  before(async () => {
    const [started, built] = await Promise.all([startSwarm(3), buildApp()]);
    harness = started;
    imageId = built;
    nodes = started.nodes;
    for (const node of nodes) {
      engines.set(node.id, new Dockerode({ socketPath: node.socket.replace(/^unix:\/\//, "") }));
    }
    sources = {
      sourceDocker: host,
      targetDockerForNode: (id) => nodes.find((node) => node.id === id)?.socket,
    };
    runtime = new SwarmRuntime({ dockerHost: started.managerSocket, portRange: PORT_RANGE });
  });

  after(async () => {
    const failures: unknown[] = [];
    if (harness) {
      const downMs = await harness.down().catch((error: unknown) => {
        failures.push(error);
        return -1;
      });
      console.log(`swarm harness: up ${harness.upMs} ms, down ${downMs} ms`);
    }
    for (const image of await host.listImages({
      filters: { label: [`${SCOPE_LABEL}=${scope}`] },
    })) {
      await host
        .getImage(image.Id)
        .remove({ force: true })
        .catch((error: unknown) => failures.push(error));
    }
    if (failures.length > 0) throw new AggregateError(failures, `cleanup of scope ${scope} failed`);
  });

  test("nodes: three ready nodes at 10.77.0.11-13, all labelled compute=true", async () => {
    await runtime.ping();
    const listed = await runtime.nodes();
    assert.deepEqual(
      listed.map((node) => [node.hostname, node.address, node.state, node.availability, node.role]),
      [
        ["node1", "10.77.0.11", "ready", "active", "manager"],
        ["node2", "10.77.0.12", "ready", "active", "worker"],
        ["node3", "10.77.0.13", "ready", "active", "worker"],
      ],
    );
    assert.deepEqual(
      listed.map((node) => node.id),
      nodes.map((node) => node.id),
    );
    for (const node of listed) {
      assert.equal(node.labels.compute, "true");
      assert.ok(node.nanoCpus > 0 && node.memoryBytes > 0, "capacity is reported");
    }
    assert.equal(listed[0]?.leader, true);
    const features = await runtime.securityFeatures();
    assert.equal(features.capabilityDrop, true);
  });

  test("an image built on the host reaches node 2, and a service pinned there answers at 10.77.0.12", async () => {
    const node2 = nodes[1] as SwarmNodeHandle;
    await assert.rejects(engine(node2).getImage(imageId).inspect(), { statusCode: 404 });
    assert.equal(await runtime.ensureImage(imageId, node2.id, sources), "loaded");
    assert.equal(await runtime.ensureImage(imageId, node2.id, sources), "present");
    const loaded = await engine(node2).getImage(imageId).inspect();
    assert.equal(loaded.Id, imageId, "the same image, by content id");
    assert.ok(loaded.RepoTags?.includes(appTag), "its tag came along");

    const placed = await runtime.run(spec(0, node2));
    assert.equal(placed.created, true);
    assert.equal(placed.nodeId, node2.id);
    assert.equal(placed.address, "10.77.0.12");
    assert.ok(placed.hostPort >= PORT_RANGE.from && placed.hostPort <= PORT_RANGE.to);
    await runtime.waitRunning(placed.id, { timeoutMs: WAIT_MS });
    assert.deepEqual(await get(placed.address, placed.hostPort), {
      status: 200,
      body: `hello from swarm ${scope}\n`,
    });

    // The service: labels, pin, port, its running task on node 2.
    const [info, ...others] = await runtime.list({ deploymentId });
    assert.equal(others.length, 0);
    assert.ok(info);
    assert.equal(info.id, placed.id);
    assert.equal(info.labels[LABELS.deployment], "true");
    assert.equal(info.labels[LABELS.deploymentId], deploymentId);
    assert.equal(info.nodeId, node2.id);
    assert.equal(info.hostPort, placed.hostPort);
    assert.equal(info.image, imageId);
    assert.equal(info.state, "running");
    assert.equal(info.tasks[0]?.nodeId, node2.id);

    // Its container on node 2: the same labels, the limits, no capabilities, no new privileges.
    const [container] = await engine(node2).listContainers({
      filters: { label: [`${LABELS.deploymentId}=${deploymentId}`] },
    });
    assert.ok(container, "the container runs on node 2");
    const inspected = await engine(node2).getContainer(container.Id).inspect();
    assert.equal(inspected.Config.Labels[LABELS.deployment], "true");
    assert.equal(inspected.Config.Labels[SCOPE_LABEL], scope);
    assert.ok(
      inspected.Config.Env.includes("PORT=8080") && inspected.Config.Env.includes("GREETING=hi"),
    );
    assert.deepEqual(inspected.HostConfig.CapDrop, ["ALL"]);
    assert.equal(inspected.HostConfig.NanoCpus, 250_000_000);
    assert.equal(inspected.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(inspected.HostConfig.PidsLimit, PIDS_LIMIT);
    const status = await execIn(engine(node2), container.Id, ["cat", "/proc/1/status"]);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^CapEff:\s+0+$/m);

    // Its logs, through the manager.
    const lines = await eventually(
      "the service's logs",
      async () => {
        const read: string[] = [];
        for await (const entry of runtime.logs(placed.id, { tail: 10 })) read.push(entry.line);
        return read;
      },
      (read) => read.some((line) => line.includes("app started: hi")),
    );
    assert.ok(lines.length > 0);
  });

  test("run is idempotent: the same name reuses the service, also when called twice at once", async () => {
    const node2 = nodes[1] as SwarmNodeHandle;
    const [first] = await runtime.list({ deploymentId });
    assert.ok(first);
    const [again, twice] = await Promise.all([
      runtime.run(spec(0, node2)),
      runtime.run(spec(0, node2)),
    ]);
    for (const result of [again, twice]) {
      assert.equal(result.created, false);
      assert.equal(result.id, first.id);
      assert.equal(result.hostPort, first.hostPort);
      assert.equal(result.address, "10.77.0.12");
    }
    assert.equal((await runtime.list({ deploymentId })).length, 1);
  });

  test("host ports: one published on the node is skipped, the same one on another node is fine", async (t: TestContext) => {
    const [node2, node3] = [nodes[1] as SwarmNodeHandle, nodes[2] as SwarmNodeHandle];
    const [first] = await runtime.list({ deploymentId });
    const taken = first?.hostPort as number;
    const narrow = new SwarmRuntime({
      dockerHost: harness?.managerSocket as string,
      portRange: { from: taken, to: taken + 1 },
    });
    const beside = await narrow.run(spec(5, node2));
    t.after(() => runtime.remove(beside.id));
    assert.equal(beside.hostPort, taken + 1, "the port of replica 0 is taken on node 2");
    const elsewhere = await new SwarmRuntime({
      dockerHost: harness?.managerSocket as string,
      portRange: { from: taken, to: taken },
    }).run(spec(6, node3));
    t.after(() => runtime.remove(elsewhere.id));
    assert.equal(elsewhere.hostPort, taken, "nothing publishes it on node 3");
  });

  test("waitRunning reports a missing image and a crashing app, with its last log lines", async (t: TestContext) => {
    const [node2, node3] = [nodes[1] as SwarmNodeHandle, nodes[2] as SwarmNodeHandle];
    // node3 has not got the app's image yet.
    const missing = await runtime.run(spec(7, node3));
    t.after(() => runtime.remove(missing.id));
    await assert.rejects(runtime.waitRunning(missing.id, { timeoutMs: WAIT_MS }), (error) => {
      isDomain("not_found")(error);
      assert.match((error as Error).message, /not found on node/);
      assert.ok(hasReason(error, "image_missing"), "the deployer builds such an image again");
      return true;
    });
    const crashing = await runtime.run(spec(8, node2, { cmd: ["sh", "-c", "echo boom; exit 3"] }));
    t.after(() => runtime.remove(crashing.id));
    await assert.rejects(runtime.waitRunning(crashing.id, { timeoutMs: WAIT_MS }), (error) => {
      isDomain("failed_precondition")(error);
      assert.match((error as Error).message, /exit code 3/);
      assert.match((error as Error).message, /boom/);
      return true;
    });
  });

  test("two replicas on two nodes both answer, and reach each other on the project's overlay network", async () => {
    const [node1, node3] = [nodes[0] as SwarmNodeHandle, nodes[2] as SwarmNodeHandle];
    const network = projectNetworkName(`proj-${scope}`);
    const made = await runtime.ensureNetwork(network, { [SCOPE_LABEL]: scope });
    assert.equal(made.created, true);
    assert.equal((await runtime.ensureNetwork(network, {})).id, made.id, "found, not made again");

    const loads = await Promise.all([
      runtime.ensureImage(imageId, node1.id, sources),
      runtime.ensureImage(imageId, node3.id, sources),
    ]);
    assert.deepEqual(loads, ["loaded", "loaded"]);
    const [a, b] = await Promise.all([
      runtime.run(spec(1, node1, { network, cmd: hello("r1") })),
      runtime.run(spec(2, node3, { network, cmd: hello("r2") })),
    ]);
    await Promise.all([
      runtime.waitRunning(a.id, { timeoutMs: WAIT_MS }),
      runtime.waitRunning(b.id, { timeoutMs: WAIT_MS }),
    ]);
    assert.equal(a.address, "10.77.0.11");
    assert.equal(b.address, "10.77.0.13");
    assert.equal((await get(a.address, a.hostPort)).body, "hello from r1\n");
    assert.equal((await get(b.address, b.hostPort)).body, "hello from r2\n");

    // From r1's container on node 1 to r2's on node 3, over the overlay (VXLAN between nodes).
    const [onNode3] = await engine(node3).listContainers({
      filters: { label: [`com.docker.swarm.service.id=${b.id}`] },
    });
    const [onNode1] = await engine(node1).listContainers({
      filters: { label: [`com.docker.swarm.service.id=${a.id}`] },
    });
    assert.ok(onNode1 && onNode3);
    const r2 = (await engine(node3).getContainer(onNode3.Id).inspect()).NetworkSettings.Networks[
      network
    ]?.IPAddress;
    assert.ok(r2, "r2 has an address on the project's network");
    const answer = await execIn(engine(node1), onNode1.Id, [
      "sh",
      "-c",
      `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${r2} 8080`,
    ]);
    assert.match(answer, /hello from r2/);
  });

  test("node labels and draining: a drained node runs nothing and takes nothing new", async () => {
    const [node2, node3] = [nodes[1] as SwarmNodeHandle, nodes[2] as SwarmNodeHandle];
    await runtime.setNodeLabels(node2.id, { compute: "true", zone: "a" });
    assert.deepEqual((await runtime.node(node2.id)).labels, { compute: "true", zone: "a" });
    await runtime.setNodeLabels(node2.id, { compute: "true" });
    assert.deepEqual((await runtime.node(node2.id)).labels, { compute: "true" });

    const r2 = (await runtime.list({ deploymentId })).find(
      (service) => service.nodeId === node3.id,
    );
    assert.ok(r2, "replica 2 is pinned to node 3");
    await runtime.setNodeAvailability(node3.id, "drain");
    assert.equal((await runtime.node(node3.id)).availability, "drain");
    await eventually(
      "replica 2 stops running on the drained node",
      async () => (await runtime.inspect(r2.id)).state,
      (state) => state !== "running",
    );
    // unavailable, reason node_unavailable: the controller places the replica again.
    await assert.rejects(runtime.run(spec(9, node3)), (error: unknown) => {
      isDomain("unavailable")(error);
      assert.ok(hasReason(error, "node_unavailable"), String(error));
      return true;
    });

    await runtime.setNodeAvailability(node3.id, "active");
    await runtime.waitRunning(r2.id, { timeoutMs: WAIT_MS });
    assert.equal((await get("10.77.0.13", r2.hostPort as number)).body, "hello from r2\n");
  });

  test("remove cleans up: services, their containers on every node, the network", async () => {
    const services = await runtime.list({ deploymentId });
    assert.ok(services.length >= 3);
    await Promise.all(services.map((service) => runtime.remove(service.id)));
    await Promise.all(services.map((service) => runtime.remove(service.id)));
    assert.deepEqual(await runtime.list({ deploymentId }), []);
    await eventually(
      "the containers are gone from every node",
      async () => {
        const counts = await Promise.all(
          nodes.map(
            async (node) =>
              (
                await engine(node).listContainers({
                  all: true,
                  filters: { label: [`${LABELS.deploymentId}=${deploymentId}`] },
                })
              ).length,
          ),
        );
        return counts.reduce((sum, count) => sum + count, 0);
      },
      (count) => count === 0,
    );
    const network = projectNetworkName(`proj-${scope}`);
    await eventually(
      "the network can be removed",
      () =>
        runtime.removeNetwork(network).then(
          () => true,
          (error: unknown) => {
            if (error instanceof DomainError && error.kind === "failed_precondition") return false;
            throw error;
          },
        ),
      (removed) => removed,
    );
    await runtime.removeNetwork(network);
  });

  test("a manager that does not answer: each request ends with deadline_exceeded, naming it, and works again once it answers", {
    timeout: 30_000,
  }, async (t: TestContext) => {
    // A stopped process: its socket takes connections and answers nothing, as a manager does
    // while it forwards a request to a Raft leader that vanished without closing connections.
    const pid = Number(readFileSync(join(harness?.dir ?? "", "node1", "docker.pid"), "utf8"));
    assert.ok(pid > 0, "node1's dockerd pid");
    const frozen = new SwarmRuntime({
      dockerHost: nodes[0]?.socket ?? "",
      portRange: PORT_RANGE,
      callTimeoutMs: 1_500,
    });
    process.kill(pid, "SIGSTOP");
    let resumed = false;
    const resume = () => {
      if (!resumed) process.kill(pid, "SIGCONT");
      resumed = true;
    };
    t.after(resume);
    const deadlineExceeded = (error: unknown): boolean => {
      isDomain("deadline_exceeded")(error);
      assert.match(
        (error as Error).message,
        /the Swarm manager at unix:\/\/.*node1.* was asked to .*: no answer within 1500 ms/,
      );
      return true;
    };
    const started = Date.now();
    await assert.rejects(frozen.list(), deadlineExceeded);
    await assert.rejects(frozen.run(spec(7, nodes[1] as SwarmNodeHandle)), deadlineExceeded);
    await assert.rejects(frozen.remove("obiente-no-such-service"), deadlineExceeded);
    const tookMs = Date.now() - started;
    t.diagnostic(`three requests to a stopped manager ended in ${tookMs} ms`);
    assert.ok(tookMs < 3 * 1_500 + 3_000, `each request ends at its deadline (took ${tookMs} ms)`);
    resume();
    await eventually(
      "the manager answers again",
      () =>
        frozen.list().then(
          () => true,
          () => false,
        ),
      (ok) => ok,
    );
  });

  test("a node whose engine dies is reported down", async (t: TestContext) => {
    const node3 = nodes[2] as SwarmNodeHandle;
    const started = Date.now();
    harness?.stopEngine("node3");
    const listed = await eventually(
      "node 3 reported down",
      () => runtime.nodes(),
      (all: SwarmNode[]) => all.find((node) => node.id === node3.id)?.state === "down",
      30_000,
    );
    const tookMs = Date.now() - started;
    t.diagnostic(`node 3 reported down ${tookMs} ms after its engine was killed`);
    assert.deepEqual(
      listed.map((node) => node.state),
      ["ready", "ready", "down"],
    );
  });
});

/**
 * The Docker runtime on the real engine at /var/run/docker.sock, with the local test images
 * (nothing is pulled). Every test labels what it makes with its own scope id and removes it all
 * at the end, also when it fails. Traffic goes only to 127.0.0.1 and to the addresses of the
 * containers the test itself runs.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:net";
import { PassThrough } from "node:stream";
import { describe, type TestContext, test } from "node:test";
import Dockerode from "dockerode";
import { DomainError, hasReason } from "../src/domain/errors.js";
import { DockerRuntime, PIDS_LIMIT, RESTART_MAX_RETRIES } from "../src/runtime/docker-runtime.js";
import {
  type ContainerSpec,
  containerName,
  deploymentLabels,
  type LogLine,
  projectNetworkName,
} from "../src/runtime/index.js";
import { tenantBridgeName } from "../src/runtime/tenant-networks.js";

const docker = new Dockerode({ socketPath: "/var/run/docker.sock" });
const SCOPE_LABEL = "cloud.obiente.test_scope";
const BUSYBOX = "obiente-test/busybox:latest";
const PORT_RANGE = { from: 41000, to: 41999 };

/** Serves "hello from <name>" on 8080 with busybox httpd. */
function httpd(name: string): string[] {
  return [
    "sh",
    "-c",
    `echo "hello from ${name}" > /www/index.html && exec httpd -f -p 8080 -h /www`,
  ];
}

interface Scope {
  id: string;
  runtime: DockerRuntime;
  imageId: string;
  network(): Promise<string>;
  spec(overrides?: Partial<ContainerSpec> & { replica?: number }): ContainerSpec;
  deploymentId: string;
}

/** Cleanup: already gone, or being removed, is fine (the engine may be shared with other runs). */
async function gone(removal: Promise<unknown>): Promise<void> {
  try {
    await removal;
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw error;
  }
}

/** A namespace for one test: ids, labels and a cleanup of everything labelled with them. */
async function scope(t: TestContext, portRange = PORT_RANGE): Promise<Scope> {
  const id = randomBytes(5).toString("hex");
  const deploymentId = `dep-${id}`;
  const runtime = new DockerRuntime({ portRange, hostAddress: "127.0.0.1" });
  const imageId = (await docker.getImage(BUSYBOX).inspect()).Id;
  const filters = { label: [`${SCOPE_LABEL}=${id}`] };
  // Containers first (they hold networks and images), then networks, then images; every step
  // runs even when one before it failed.
  t.after(async () => {
    const failures: unknown[] = [];
    const step = async (removals: () => Promise<Array<Promise<unknown>>>) => {
      try {
        const results = await Promise.allSettled((await removals()).map(gone));
        for (const result of results) {
          if (result.status === "rejected") failures.push(result.reason);
        }
      } catch (error) {
        failures.push(error);
      }
    };
    await step(async () =>
      (await docker.listContainers({ all: true, filters })).map((c) =>
        docker.getContainer(c.Id).remove({ force: true, v: true }),
      ),
    );
    await step(async () =>
      (await docker.listNetworks({ filters })).map((n) => docker.getNetwork(n.Id).remove()),
    );
    await step(async () =>
      (await docker.listImages({ filters })).map((image) =>
        docker.getImage(image.Id).remove({ force: true }),
      ),
    );
    if (failures.length > 0) throw new AggregateError(failures, `cleanup of scope ${id} failed`);
  });
  let networks = 0;
  return {
    id,
    runtime,
    imageId,
    deploymentId,
    network: async () => {
      const name = projectNetworkName(`proj-${id}-${networks++}`);
      await runtime.ensureNetwork(name, { [SCOPE_LABEL]: id });
      return name;
    },
    spec: ({ replica = 0, ...overrides } = {}) => ({
      name: containerName(deploymentId, replica, imageId, 0),
      image: imageId,
      cmd: httpd(`${deploymentId}-r${replica}`),
      env: { GREETING: "hi" },
      labels: {
        ...deploymentLabels({
          deploymentId,
          projectId: `proj-${id}`,
          organizationId: `org-${id}`,
          replica,
          buildId: `build-${id}`,
        }),
        [SCOPE_LABEL]: id,
      },
      network: "bridge",
      internalPort: 8080,
      cpuMillicores: 250,
      memoryMb: 64,
      ...overrides,
    }),
  };
}

function isDomainError(kind: DomainError["kind"], pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

/** Runs a command in a container; its exit code and output. */
async function exec(id: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const run = await docker
    .getContainer(id)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await run.start({ hijack: true, stdin: false });
  const output = new PassThrough();
  let text = "";
  output.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  docker.modem.demuxStream(stream, output, output);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  const { ExitCode } = await run.inspect();
  return { code: ExitCode ?? -1, output: text };
}

async function get(port: number): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
  return { status: response.status, body: await response.text() };
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Two consecutive ports that nothing listens on, searched in [from, to). */
async function adjacentFreePorts(from: number, to: number): Promise<[number, number]> {
  for (let port = from; port + 1 < to; port += 2) {
    if ((await canListen(port)) && (await canListen(port + 1))) return [port, port + 1];
  }
  throw new Error(`no two free consecutive ports in ${from}-${to}`);
}

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const all: LogLine[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

describe("docker runtime", () => {
  test("the engine answers ping and describes itself", async (t) => {
    const { runtime } = await scope(t);
    assert.equal(runtime.endpoint, "unix:///var/run/docker.sock");
    await runtime.ping();
    const info = await runtime.info();
    assert.ok(info.id.length > 0 && info.hostname.length > 0, JSON.stringify(info));
    assert.ok(info.cpus >= 1 && info.memoryBytes > 0, JSON.stringify(info));
    assert.match(info.serverVersion, /^\d+\./);
  });

  test("no engine at the address: ping and calls fail with unavailable naming it", async () => {
    const runtime = new DockerRuntime({
      dockerHost: "unix:///tmp/nope.sock",
      portRange: PORT_RANGE,
      hostAddress: "127.0.0.1",
    });
    assert.equal(runtime.endpoint, "unix:///tmp/nope.sock");
    await assert.rejects(
      runtime.ping(),
      isDomainError("unavailable", /^no Docker engine at unix:\/\/\/tmp\/nope\.sock: .*ENOENT/),
    );
    await assert.rejects(
      runtime.list(),
      isDomainError("unavailable", /unix:\/\/\/tmp\/nope\.sock/),
    );
    assert.throws(
      () => new DockerRuntime({ dockerHost: "ssh://x", portRange: PORT_RANGE, hostAddress: "h" }),
      isDomainError("invalid_argument"),
    );
  });

  test("runs an app on loopback, reuses it by name, with limits, security and a label", async (t) => {
    const s = await scope(t);
    const network = await s.network();
    const spec = s.spec({ network });

    const first = await s.runtime.run(spec);
    assert.equal(first.created, true);
    assert.equal(first.name, spec.name);
    assert.equal(first.address, "127.0.0.1");
    assert.ok(first.hostPort >= PORT_RANGE.from && first.hostPort <= PORT_RANGE.to);
    await s.runtime.waitHealthy(first.id, { timeoutMs: 15_000 });
    assert.deepEqual(await get(first.hostPort), {
      status: 200,
      body: `hello from ${s.deploymentId}-r0\n`,
    });

    const again = await s.runtime.run(spec);
    assert.deepEqual(again, { ...first, created: false });

    const inspected = await docker.getContainer(first.id).inspect();
    const host = inspected.HostConfig;
    assert.equal(host.NanoCpus, 250_000_000);
    assert.equal(host.Memory, 64 * 1024 * 1024);
    assert.equal(host.MemorySwap, 64 * 1024 * 1024, "no swap");
    assert.deepEqual(host.SecurityOpt, ["no-new-privileges:true"]);
    assert.deepEqual(host.CapDrop, ["ALL"]);
    assert.equal(host.CapAdd, null);
    assert.equal(host.PidsLimit, PIDS_LIMIT);
    assert.equal(host.ReadonlyRootfs, false);
    assert.deepEqual(host.RestartPolicy, {
      Name: "on-failure",
      MaximumRetryCount: RESTART_MAX_RETRIES,
    });
    assert.equal(host.LogConfig?.Type, "json-file");
    assert.deepEqual(host.LogConfig?.Config, { "max-size": "10m", "max-file": "3" });
    assert.deepEqual(host.PortBindings, {
      "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(first.hostPort) }],
    });
    assert.ok(inspected.Config.Env.includes("PORT=8080"));
    assert.ok(inspected.Config.Env.includes("GREETING=hi"));
    assert.deepEqual(Object.keys(inspected.NetworkSettings.Networks), [network]);

    const listed = await s.runtime.list({ deploymentId: s.deploymentId });
    assert.equal(listed.length, 1);
    const [info] = listed;
    assert.equal(info?.id, first.id);
    assert.equal(info?.name, spec.name);
    assert.equal(info?.state, "running");
    assert.equal(info?.health, "none");
    assert.equal(info?.hostPort, first.hostPort);
    assert.equal(info?.image, s.imageId);
    assert.equal(info?.labels["cloud.obiente.deployment_id"], s.deploymentId);
    assert.ok(info && Math.abs(info.createdAt.getTime() - Date.now()) < 60_000);
    assert.ok(
      (await s.runtime.list()).some((c) => c.id === first.id),
      "unfiltered list has it",
    );
    assert.deepEqual(await s.runtime.list({ deploymentId: `${s.deploymentId}-other` }), []);

    const stats = await s.runtime.stats(first.id);
    assert.equal(stats.memoryLimitBytes, 64 * 1024 * 1024);
    assert.ok(stats.memoryUsedBytes > 0 && stats.pids >= 1, JSON.stringify(stats));
    assert.ok(stats.cpuPercent >= 0 && stats.networkRxBytes > 0, JSON.stringify(stats));

    // Stopped, it is found and started again, on its port.
    await s.runtime.stop(first.id, { timeoutSec: 1 });
    await s.runtime.stop(first.id, { timeoutSec: 1 });
    assert.equal((await s.runtime.list({ deploymentId: s.deploymentId }))[0]?.state, "exited");
    const restarted = await s.runtime.run(spec);
    assert.deepEqual(restarted, { ...first, created: false });
    await s.runtime.waitHealthy(restarted.id, { timeoutMs: 15_000 });
    assert.equal((await get(restarted.hostPort)).status, 200);

    await s.runtime.remove(first.id);
    await s.runtime.remove(first.id);
    await s.runtime.stop(first.id, { timeoutSec: 1 });
    assert.deepEqual(await s.runtime.list({ deploymentId: s.deploymentId }), []);
    await assert.rejects(
      s.runtime.waitHealthy(first.id, { timeoutMs: 1000 }),
      isDomainError("not_found"),
    );
  });

  test("concurrent runs of one name, from one or two runtimes, make one container", async (t) => {
    const s = await scope(t);
    const other = new DockerRuntime({ portRange: PORT_RANGE, hostAddress: "127.0.0.1" });
    const spec = s.spec({ network: await s.network() });
    const results = await Promise.all([s.runtime.run(spec), s.runtime.run(spec), other.run(spec)]);
    assert.equal(new Set(results.map((r) => r.id)).size, 1);
    assert.equal(new Set(results.map((r) => r.hostPort)).size, 1);
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal((await s.runtime.list({ deploymentId: s.deploymentId })).length, 1);
  });

  test("host ports: a port held on the host is skipped; a full range is refused", async (t) => {
    // A range of two ports, the first held by a plain listener of this test.
    const [held, free] = await adjacentFreePorts(42000, 42400);
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(held, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const s = await scope(t, { from: held, to: free });
    const network = await s.network();

    const running = await s.runtime.run(s.spec({ network }));
    assert.equal(running.hostPort, free);
    await assert.rejects(
      s.runtime.run(s.spec({ network, replica: 1 })),
      isDomainError("resource_exhausted", /no free host port in \d+-\d+ on 127\.0\.0\.1/),
    );
    // A fixed port that is taken: refused, and nothing is left behind.
    await assert.rejects(
      s.runtime.run(s.spec({ network, replica: 2, hostPort: held })),
      isDomainError("resource_exhausted", /address already in use|already allocated/),
    );
    const names = (await s.runtime.list({ deploymentId: s.deploymentId })).map((c) => c.name);
    assert.deepEqual(names, [running.name]);
  });

  test("logs: tail, since, follow until aborted, follow until the container stops", async (t) => {
    const s = await scope(t);
    const script = [
      "for i in 1 2 3 4 5; do echo line $i; done",
      "echo oops >&2",
      "sleep 1.5",
      "for i in 6 7 8; do echo line $i; sleep 0.2; done",
      "exec sleep 60",
    ].join("; ");
    const container = await s.runtime.run(
      s.spec({ network: await s.network(), cmd: ["sh", "-c", script] }),
    );

    // Follow from the start until line 8, then abort: the iteration just ends.
    const controller = new AbortController();
    const followed: LogLine[] = [];
    for await (const line of s.runtime.logs(container.id, {
      follow: true,
      signal: controller.signal,
    })) {
      followed.push(line);
      if (line.line === "line 8") controller.abort();
    }
    // Docker copies stdout and stderr separately: the order is kept within each stream only.
    const stdout = followed.filter((l) => l.stream === "stdout");
    assert.deepEqual(
      stdout.map((l) => l.line),
      [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `line ${i}`),
    );
    assert.deepEqual(
      followed.filter((l) => l.stream === "stderr").map((l) => l.line),
      ["oops"],
    );
    const times = stdout.map((l) => l.at.getTime());
    assert.deepEqual(
      [...times].sort((a, b) => a - b),
      times,
      "in time order",
    );
    assert.ok(Math.abs((times[0] ?? 0) - Date.now()) < 60_000, "real timestamps");

    const tail = await collect(s.runtime.logs(container.id, { tail: 3 }));
    assert.deepEqual(
      tail.map((l) => l.line),
      ["line 6", "line 7", "line 8"],
    );

    const line6 = followed.find((l) => l.line === "line 6");
    assert.ok(line6);
    const since = await collect(s.runtime.logs(container.id, { since: line6.at }));
    assert.deepEqual(
      since.map((l) => l.line),
      ["line 6", "line 7", "line 8"],
    );

    // Without a signal, following ends by itself when the container stops.
    const following = collect(s.runtime.logs(container.id, { follow: true, tail: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await s.runtime.stop(container.id, { timeoutSec: 0 });
    const ended = await Promise.race([
      following,
      new Promise<"timeout">((resolve) => setTimeout(resolve, 15_000, "timeout").unref()),
    ]);
    assert.notEqual(ended, "timeout", "follow ended when the container stopped");
    assert.deepEqual(
      (ended as LogLine[]).map((l) => l.line),
      ["line 8"],
    );
  });

  test("an app that exits at once: waitHealthy fails with its last log lines", async (t) => {
    const s = await scope(t);
    const script = "echo starting up; echo 'fatal: DATABASE_URL is not set' >&2; exit 3";
    const container = await s.runtime.run(
      s.spec({ network: await s.network(), cmd: ["sh", "-c", script] }),
    );
    await assert.rejects(
      s.runtime.waitHealthy(container.id, { timeoutMs: 15_000 }),
      isDomainError(
        "failed_precondition",
        /exit(ed with)? code 3[\s\S]*fatal: DATABASE_URL is not set/,
      ),
    );
  });

  test("an app that never listens: waitHealthy times out, though Docker's proxy accepts", async (t) => {
    const s = await scope(t);
    const container = await s.runtime.run(
      s.spec({
        network: await s.network(),
        cmd: ["sh", "-c", "echo waiting forever; exec sleep 60"],
      }),
    );
    const started = Date.now();
    await assert.rejects(
      s.runtime.waitHealthy(container.id, { timeoutMs: 1500 }),
      isDomainError("deadline_exceeded", /within 1500 ms[\s\S]*waiting forever/),
    );
    assert.ok(Date.now() - started < 5000);
    const controller = new AbortController();
    const waiting = s.runtime.waitHealthy(container.id, {
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    controller.abort(new Error("deploy cancelled"));
    await assert.rejects(waiting, /deploy cancelled/);
  });

  test("Docker health checks: healthy is waited for, unhealthy fails", async (t) => {
    const s = await scope(t);
    const network = await s.network();
    const timings = { intervalMs: 200, timeoutMs: 1000, retries: 2, startPeriodMs: 0 };
    const good = await s.runtime.run(
      s.spec({
        network,
        healthCheck: {
          cmd: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
          ...timings,
        },
      }),
    );
    await s.runtime.waitHealthy(good.id, { timeoutMs: 15_000 });
    const [listed] = await s.runtime.list({ deploymentId: s.deploymentId });
    assert.equal(listed?.health, "healthy");

    const bad = await s.runtime.run(
      s.spec({
        network,
        replica: 1,
        healthCheck: { cmd: ["sh", "-c", "echo not ready; exit 1"], ...timings },
      }),
    );
    await assert.rejects(
      s.runtime.waitHealthy(bad.id, { timeoutMs: 15_000 }),
      isDomainError("failed_precondition", /unhealthy \(health check: not ready\)/),
    );
  });

  test("project networks: one project cannot reach another's containers, its own it can", async (t) => {
    const s = await scope(t);
    const networkA = await s.network();
    const networkB = await s.network();
    const serverB = await s.runtime.run(s.spec({ network: networkB, replica: 0 }));
    const neighbourB = await s.runtime.run(s.spec({ network: networkB, replica: 1 }));
    const clientA = await s.runtime.run(s.spec({ network: networkA, replica: 2 }));
    await s.runtime.waitHealthy(serverB.id, { timeoutMs: 15_000 });
    const inspected = await docker.getContainer(serverB.id).inspect();
    const ipB = inspected.NetworkSettings.Networks[networkB]?.IPAddress;
    assert.ok(ipB, "B has an address on its network");
    // busybox 1.35's `wget -T` crashes (SIGSEGV, exit 139): `timeout` bounds the attempt instead.
    const wget = ["timeout", "3", "wget", "-q", "-O-", `http://${ipB}:8080/`];

    const same = await exec(neighbourB.id, wget);
    assert.equal(same.code, 0, same.output);
    assert.match(same.output, /hello from/);

    const across = await exec(clientA.id, wget);
    assert.notEqual(across.code, 0, `project A reached project B: ${across.output}`);
    assert.notEqual(across.code, 139, "wget crashed: that proves nothing");
    assert.doesNotMatch(across.output, /hello from/);
  });

  test("ensureNetwork is idempotent, also when racing itself", async (t) => {
    const s = await scope(t);
    const name = projectNetworkName(`race-${s.id}`);
    const labels = { [SCOPE_LABEL]: s.id, "cloud.obiente.project_id": `race-${s.id}` };
    const results = await Promise.all([1, 2, 3].map(() => s.runtime.ensureNetwork(name, labels)));
    assert.equal(new Set(results.map((r) => r.id)).size, 1);
    assert.equal(results.filter((r) => r.created).length, 1);
    const networks = (await docker.listNetworks({ filters: { name: [name] } })).filter(
      (n) => n.Name === name,
    );
    assert.equal(networks.length, 1);
    assert.equal(networks[0]?.Driver, "bridge");
    assert.equal(networks[0]?.Labels?.["cloud.obiente.project_id"], `race-${s.id}`);
    // A tenant bridge, named so that the isolation rules' obt-+ pattern covers it at once.
    assert.equal(networks[0]?.Options?.["com.docker.network.bridge.name"], tenantBridgeName(name));
    assert.match(tenantBridgeName(name), /^obt-[0-9a-f]{11}$/);
    // Two runtimes (two processes) at once: one network, not twins (same bridge name refused).
    const other = new DockerRuntime({ portRange: PORT_RANGE, hostAddress: "127.0.0.1" });
    const twin = projectNetworkName(`twin-${s.id}`);
    const raced = await Promise.all([
      s.runtime.ensureNetwork(twin, labels),
      other.ensureNetwork(twin, labels),
    ]);
    assert.equal(new Set(raced.map((r) => r.id)).size, 1);
    await s.runtime.removeNetwork(twin);
    assert.deepEqual(await s.runtime.ensureNetwork(name, labels), {
      ...results[0],
      created: false,
    });
    await s.runtime.removeNetwork(name);
    await s.runtime.removeNetwork(name);
  });

  test("images: removed, in use, not found; a missing image or network is not_found", async (t) => {
    const s = await scope(t);
    const network = await s.network();
    // An image of this test's own, committed from a container, so no shared image is at risk.
    const base = await docker.createContainer({
      Image: s.imageId,
      Cmd: ["true"],
      Labels: { [SCOPE_LABEL]: s.id },
    });
    const committed = (await base.commit({
      repo: `obiente-test/runtime-${s.id}`,
      tag: "v1",
      changes: [`LABEL ${SCOPE_LABEL}=${s.id}`],
    })) as { Id: string };
    await base.remove({ force: true });

    const user = await s.runtime.run(s.spec({ network, image: committed.Id }));
    assert.equal(await s.runtime.removeImage(committed.Id), "in_use");
    await s.runtime.remove(user.id);
    assert.equal(await s.runtime.removeImage(committed.Id), "removed");
    assert.equal(await s.runtime.removeImage(committed.Id), "not_found");

    // The deployer acts on the reason (it builds a lost image again), never on the message.
    await assert.rejects(
      s.runtime.run(s.spec({ network, replica: 1, image: `obiente-test/absent-${s.id}:latest` })),
      (error) =>
        isDomainError("not_found", /^image obiente-test\/absent-.* not found$/)(error) &&
        hasReason(error, "image_missing"),
    );
    await assert.rejects(
      s.runtime.run(s.spec({ network: `obiente-net-absent-${s.id}`, replica: 2 })),
      (error) =>
        isDomainError("not_found", /^network obiente-net-absent-.* not found$/)(error) &&
        !hasReason(error, "image_missing"),
    );
    await assert.rejects(
      s.runtime.run(s.spec({ network, replica: 3, memoryMb: 1 })),
      isDomainError("invalid_argument", /memory/),
    );
    assert.deepEqual(await s.runtime.list({ deploymentId: s.deploymentId }), []);
  });
});

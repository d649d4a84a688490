/**
 * The Docker API becomes unavailable: the collector talks to the engine through a unix socket
 * this test serves. First the socket accepts and never answers (a hung engine): calls time out,
 * the circuit breaker opens and health says degraded. Then the socket starts proxying to the
 * real engine: a trial call gets through, the breaker closes and collection resumes, all without
 * restarting anything.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Dockerode from "dockerode";
import pino from "pino";
import { MetricsSystem } from "../src/metrics/index.js";
import { MemoryBus } from "../src/platform/memory/bus.js";
import { DockerRuntime } from "../src/runtime/docker-runtime.js";
import { LABELS } from "../src/runtime/index.js";

const docker = new Dockerode({ socketPath: "/var/run/docker.sock" });
const BUSYBOX = "obiente-test/busybox:latest";
const SCOPE_LABEL = "cloud.obiente.test_scope";

/** A unix socket in front of the engine: "hang" accepts and never answers, "proxy" forwards. */
class FlakyEngineSocket {
  mode: "hang" | "proxy" = "hang";
  readonly path = join(tmpdir(), `obiente-flaky-${randomBytes(4).toString("hex")}.sock`);
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((client) => {
    this.sockets.add(client);
    client.on("close", () => this.sockets.delete(client));
    client.on("error", () => client.destroy());
    if (this.mode === "hang") return;
    const engine = connect("/var/run/docker.sock");
    this.sockets.add(engine);
    engine.on("close", () => {
      this.sockets.delete(engine);
      client.destroy();
    });
    engine.on("error", () => engine.destroy());
    client.on("close", () => engine.destroy());
    client.pipe(engine).pipe(client);
  });

  /** Connections open now (hung ones included). */
  get connections(): number {
    return this.sockets.size;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.path, resolve));
  }

  /** The engine is back: hung connections are cut (as a restarted engine would), new ones proxied. */
  recover(): void {
    this.mode = "proxy";
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    await rm(this.path, { force: true });
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

describe("metrics when the Docker API is unavailable", () => {
  const scope = randomBytes(5).toString("hex");
  const deploymentId = `dep-${scope}`;
  const engine = new FlakyEngineSocket();
  let system: MetricsSystem;

  before(async () => {
    await engine.listen();
    const container = await docker.createContainer({
      Image: BUSYBOX,
      Cmd: ["sleep", "600"],
      Labels: {
        [LABELS.deployment]: "true",
        [LABELS.deploymentId]: deploymentId,
        [SCOPE_LABEL]: scope,
      },
    });
    await container.start();
    system = new MetricsSystem({
      bus: new MemoryBus(),
      agent: {
        source: new DockerRuntime({
          dockerHost: `unix://${engine.path}`,
          portRange: { from: 42100, to: 42199 },
          hostAddress: "127.0.0.1",
        }),
        nodeId: () => `node-${scope}`,
        select: (c) => c.labels[SCOPE_LABEL] === scope,
      },
      options: {
        intervalMs: 1_000,
        bucketMs: 2_000,
        engineTimeoutMs: 500,
        statsTimeoutMs: 5_000,
        engineAttempts: 2,
        breakerThreshold: 3,
        breakerHalfOpenAfterMs: 1_000,
        breakerMaxHalfOpenAfterMs: 2_000,
      },
      logger: pino({ level: "silent" }),
    });
    await system.start();
  });

  after(async () => {
    await system?.close();
    await engine.close();
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${SCOPE_LABEL}=${scope}`] },
    });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  test("the breaker opens, health degrades, and collection resumes when the engine returns", async (t) => {
    const guard = system.guard;
    const service = system.service;
    assert.ok(guard && service);

    await until("the breaker to open", 15_000, () => (guard.state === "open" ? true : undefined));
    const health = system.health();
    assert.equal(health.status, "degraded");
    assert.ok(
      health.reasons.some((r) => /circuit breaker is open/.test(r)),
      health.reasons.join("; "),
    );
    const seen = system.observability();
    assert.ok((seen.collection?.engine.timeouts ?? 0) >= 3);
    assert.equal(seen.collection?.samples, 0);

    // While it is open the engine is left alone: hung calls do not pile up.
    const rejectedBefore = guard.stats().rejected;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.ok(guard.stats().rejected > rejectedBefore || guard.state !== "open");
    assert.ok(engine.connections <= 6, `${engine.connections} connections held open`);

    const stream = service.watch(deploymentId);
    engine.recover();
    const recoveredAt = Date.now();
    const { value: sample } = await within(
      15_000,
      "a sample after the engine came back",
      stream.next(),
    );
    assert.ok(sample, "a sample after the engine came back");
    await stream.return();
    assert.equal(guard.state, "closed");
    t.diagnostic(`collection resumed ${Date.now() - recoveredAt} ms after the engine came back`);

    await until("health to recover", 5_000, () =>
      system.health().status === "healthy" ? true : undefined,
    );
    assert.ok((system.observability().collection?.samples ?? 0) >= 1);
  });
});

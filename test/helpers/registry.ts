/**
 * A real image registry for tests: Debian's `docker-registry` (distribution 2.8) on the Swarm
 * harness's bridge address (10.77.0.1, so that the nodes reach it), plain HTTP (the harness's
 * engines list 10.77.0.0/24 as insecure registries, scripts/swarm-up.sh), with htpasswd
 * authentication. Its folder (config, data, password file) is the test's own and removed on
 * close; the process is stopped by its pid.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** The harness's host address on its bridge (scripts/swarm-common.sh, SWARM_HOST_ADDRESS). */
export const BRIDGE_ADDRESS = "10.77.0.1";
export const REGISTRY_USER = "obiente";
export const REGISTRY_PASSWORD = "obiente-registry-test";
/**
 * bcrypt (cost 4, the least: the registry checks it on every request) of REGISTRY_PASSWORD, and
 * of another password: the registry accepts only bcrypt, and no bcrypt tool comes with the
 * machine.
 */
const HASHES = {
  right: "$2b$04$KctlpqLFIcVl2JpQaq06Fu6Wi3MSIC1lV5z5EtxiTPeuHfAHm683C",
  // bcrypt of "a rotated password"
  other: "$2b$04$ZahsSFeQCKbUmxz6MCZNe.ZU4Bx89Yc6gIScUUnUyB3drJIhaISc.",
} as const;

export interface TestRegistry {
  /** `10.77.0.1:port`. */
  host: string;
  port: number;
  /** Starts the registry (again), accepting REGISTRY_PASSWORD or, with "other", another one. */
  start(password?: "right" | "other"): Promise<void>;
  /** Stops the registry process (the data stays). */
  stop(): Promise<void>;
  /** GET /v2/_catalog: the repositories the registry holds. */
  catalog(): Promise<string[]>;
  close(): Promise<void>;
}

/** Why the registry cannot run here, or undefined. */
export function registrySkipReason(): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/bin"]);
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, "docker-registry"), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  })
    ? undefined
    : "needs docker-registry (Debian: apt-get install docker-registry)";
}

/**
 * A registry to run on BRIDGE_ADDRESS at a free port, not started yet (the bridge exists only
 * once the harness is up; the port is known before, for the platform's configuration).
 */
export async function prepareRegistry(): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "obiente-registry-"));
  const port = await freePort();
  const host = `${BRIDGE_ADDRESS}:${port}`;
  let child: ChildProcess | undefined;
  let output = "";

  const registry: TestRegistry = {
    host,
    port,
    async start(password = "right") {
      await registry.stop();
      await writeFile(join(dir, "htpasswd"), `${REGISTRY_USER}:${HASHES[password]}\n`, {
        mode: 0o600,
      });
      await writeFile(
        join(dir, "config.yml"),
        [
          "version: 0.1",
          "log:",
          "  level: warn",
          "  accesslog:",
          "    disabled: true",
          "storage:",
          "  filesystem:",
          `    rootdirectory: ${join(dir, "data")}`,
          "http:",
          `  addr: ${host}`,
          "auth:",
          "  htpasswd:",
          "    realm: obiente-test",
          `    path: ${join(dir, "htpasswd")}`,
          "",
        ].join("\n"),
      );
      output = "";
      const started = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = started;
      const collect = (chunk: Buffer) => {
        output = (output + chunk.toString("utf8")).slice(-4000);
      };
      started.stdout?.on("data", collect);
      started.stderr?.on("data", collect);
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (started.exitCode !== null || started.signalCode !== null) {
          throw new Error(
            `docker-registry exited (${started.exitCode ?? started.signalCode}): ${output}`,
          );
        }
        const status = await get(host, "/v2/").then(
          (response) => response.status,
          () => 0,
        );
        if (status === 401 || status === 200) return;
        if (Date.now() > deadline) throw new Error(`docker-registry did not answer: ${output}`);
        await sleep(100);
      }
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once("exit", resolve));
      running.kill("SIGTERM");
      await Promise.race([exited, sleep(5_000)]);
      if (running.exitCode === null && running.signalCode === null) {
        running.kill("SIGKILL");
        await exited;
      }
    },
    async catalog() {
      const response = await get(host, "/v2/_catalog", `${REGISTRY_USER}:${REGISTRY_PASSWORD}`);
      assert.equal(response.status, 200, `GET /v2/_catalog: ${response.status} ${response.body}`);
      return (JSON.parse(response.body) as { repositories?: string[] }).repositories ?? [];
    },
    async close() {
      await registry.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return registry;
}

/** A port nothing listens on now (asked of the kernel, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("?")),
      );
    });
  });
}

/** One GET to the registry (10.77.0.1 only), with basic auth when given. */
function get(
  host: string,
  path: string,
  credentials?: string,
): Promise<{ status: number; body: string }> {
  const [hostname, port] = host.split(":") as [string, string];
  assert.equal(hostname, BRIDGE_ADDRESS, "only the harness's own addresses");
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: hostname,
        port: Number(port),
        path,
        agent: false,
        timeout: 2_000,
        ...(credentials
          ? { headers: { authorization: `Basic ${Buffer.from(credentials).toString("base64")}` } }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET http://${host}${path} timed out`)));
    req.on("error", reject);
  });
}

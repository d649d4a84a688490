/**
 * Remote engines the safe ways (docs/security-network.md, "Remote engines"), against real ones on
 * loopback only:
 *
 * - TLS: a second dockerd of the test's own, listening on 127.0.0.1 with `--tlsverify` (no
 *   iptables, a bridge of its own: it touches nothing of the host's), certificates made with openssl. The
 *   platform's client (engineCredentials + dockerOptions, as src/app/deploying.ts builds it)
 *   answers with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH; without a client certificate, with one the
 *   engine's CA did not sign, in plain HTTP, or against an engine whose certificate our CA did not
 *   sign, it does not.
 * - ssh: an sshd of the test's own on 127.0.0.1, where `docker system dial-stdio` reaches the
 *   host's engine: the platform reaches it with DOCKER_SSH_KEY and a known_hosts holding the
 *   sshd's host key, and refuses when the host key is not the known one.
 * - plain TCP to another machine: the configuration refuses it at start-up.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import Dockerode from "dockerode";
import { ConfigError, loadConfig } from "../src/config/config.js";
import { DomainError } from "../src/domain/errors.js";
import { dockerOptions } from "../src/runtime/docker-host.js";
import { DockerRuntime } from "../src/runtime/docker-runtime.js";
import { engineCredentials } from "../src/runtime/engine-credentials.js";
import { freePort } from "./helpers/caddy.js";
import { REPO_ROOT } from "./helpers/image.js";

const run = promisify(execFile);
const PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;

async function have(tool: string): Promise<boolean> {
  try {
    await run("sh", ["-c", 'command -v "$1"', "sh", tool], { env: { PATH } });
    return true;
  } catch {
    return false;
  }
}

const skip =
  process.getuid?.() !== 0
    ? "needs root (a second dockerd, an sshd)"
    : (await Promise.all(["dockerd", "openssl", "sshd", "ssh-keygen", "docker"].map(have))).every(
          Boolean,
        )
      ? undefined
      : "needs dockerd, openssl, sshd, ssh-keygen and docker";

const openssl = (dir: string, args: string[]) => run("openssl", args, { cwd: dir });

/** A CA, and certificates it signs (for 127.0.0.1 as server, or as client). */
async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, ["genrsa", "-out", `${name}-key.pem`, "2048"]);
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}-key.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-out",
    `${name}.pem`,
  ]);
}

async function sign(dir: string, ca: string, name: string, server: boolean): Promise<void> {
  await openssl(dir, ["genrsa", "-out", `${name}-key.pem`, "2048"]);
  await openssl(dir, [
    "req",
    "-new",
    "-key",
    `${name}-key.pem`,
    "-subj",
    `/CN=${server ? "127.0.0.1" : "obiente"}`,
    "-out",
    `${name}.csr`,
  ]);
  await writeFile(
    join(dir, `${name}.ext`),
    server
      ? "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
      : "extendedKeyUsage=clientAuth\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}-key.pem`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
}

/** A DOCKER_CERT_PATH folder: ca.pem, cert.pem, key.pem. */
async function certPath(dir: string, name: string, ca: string, client: string | undefined) {
  const path = join(dir, name);
  await mkdir(path);
  await writeFile(join(path, "ca.pem"), await readFile(join(dir, `${ca}.pem`)));
  if (client) {
    await writeFile(join(path, "cert.pem"), await readFile(join(dir, `${client}.pem`)));
    await writeFile(join(path, "key.pem"), await readFile(join(dir, `${client}-key.pem`)));
  }
  return path;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const exited = once(child, "exit");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

const settings = (overrides: Record<string, unknown>) => ({
  DOCKER_TLS_VERIFY: false,
  ALLOW_INSECURE_ENGINE: false,
  ...overrides,
});

function runtimeFor(engine: string, credentials: ReturnType<typeof engineCredentials>) {
  return new DockerRuntime({
    docker: new Dockerode(dockerOptions(engine, credentials).options),
    portRange: { from: 43000, to: 43010 },
    hostAddress: "127.0.0.1",
  });
}

const unavailable = (error: unknown) =>
  error instanceof DomainError && error.kind === "unavailable";

describe("remote engines over TLS and ssh", { skip: skip ?? false }, () => {
  let dir = "";
  let dockerd: ChildProcess | undefined;
  let sshd: ChildProcess | undefined;
  let tlsEngine = "";
  let sshEngine = "";
  let dockerdLog = "";
  let bridge = "";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "obiente-engines-"));
    await makeCa(dir, "ca");
    await makeCa(dir, "rogue-ca");
    await sign(dir, "ca", "server", true);
    await sign(dir, "ca", "client", false);
    await sign(dir, "rogue-ca", "rogue-client", false);

    const port = await freePort();
    tlsEngine = `tcp://127.0.0.1:${port}`;
    const engineDir = join(dir, "engine");
    await mkdir(engineDir);
    // A bridge of the engine's own: given --bridge=none, dockerd deletes the host's docker0.
    bridge = `obe-${randomBytes(4).toString("hex")}`;
    await run("ip", ["link", "add", bridge, "type", "bridge"]);
    await run("ip", ["addr", "add", "10.254.77.1/24", "dev", bridge]);
    dockerd = spawn(
      "dockerd",
      [
        "--data-root",
        join(engineDir, "lib"),
        "--exec-root",
        join(engineDir, "run"),
        "--pidfile",
        join(engineDir, "docker.pid"),
        "-H",
        tlsEngine,
        "--tlsverify",
        "--tlscacert",
        join(dir, "ca.pem"),
        "--tlscert",
        join(dir, "server.pem"),
        "--tlskey",
        join(dir, "server-key.pem"),
        // Nothing of the host's network is touched: no rules, its own bridge.
        "--iptables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--bridge",
        bridge,
        "--log-level",
        "warn",
      ],
      { env: { PATH }, stdio: ["ignore", "ignore", "pipe"] },
    );
    dockerd.stderr?.on("data", (chunk: Buffer) => {
      dockerdLog += chunk.toString();
    });
    const good = engineCredentials(
      settings({
        DOCKER_TLS_VERIFY: true,
        DOCKER_CERT_PATH: await certPath(dir, "good", "ca", "client"),
      }),
      [tlsEngine],
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await runtimeFor(tlsEngine, good).ping();
        break;
      } catch (error) {
        if (Date.now() > deadline || dockerd.exitCode !== null) {
          throw new Error(`the TLS engine did not start: ${String(error)}\n${dockerdLog}`);
        }
        await sleep(250);
      }
    }

    const sshPort = await freePort();
    sshEngine = `ssh://root@127.0.0.1:${sshPort}`;
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "other_host_key")]);
    await writeFile(join(dir, "authorized_keys"), await readFile(join(dir, "client_key.pub")));
    await writeFile(
      join(dir, "sshd_config"),
      [
        `ListenAddress 127.0.0.1:${sshPort}`,
        `HostKey ${join(dir, "host_key")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "",
      ].join("\n"),
    );
    await mkdir("/run/sshd", { recursive: true });
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], {
      env: { PATH },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let sshdLog = "";
    sshd.stderr?.on("data", (chunk: Buffer) => {
      sshdLog += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (sshdLog.includes("Server listening")) {
          clearInterval(check);
          resolve();
        }
      }, 50);
      sshd?.once("exit", (code) => {
        clearInterval(check);
        reject(new Error(`sshd exited with ${code}: ${sshdLog}`));
      });
    });
    const hostKey = (await readFile(join(dir, "host_key.pub"), "utf8")).split(" ");
    const otherKey = (await readFile(join(dir, "other_host_key.pub"), "utf8")).split(" ");
    await writeFile(
      join(dir, "known_hosts"),
      `[127.0.0.1]:${sshPort} ${hostKey[0]} ${hostKey[1]}\n`,
    );
    await writeFile(
      join(dir, "wrong_known_hosts"),
      `[127.0.0.1]:${sshPort} ${otherKey[0]} ${otherKey[1]}\n`,
    );
  });

  after(async () => {
    await stop(sshd);
    await stop(dockerd);
    if (bridge) await run("ip", ["link", "del", bridge]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("TLS with the client certificate: the engine answers", async () => {
    const credentials = engineCredentials(
      settings({ DOCKER_TLS_VERIFY: true, DOCKER_CERT_PATH: join(dir, "good") }),
      [tlsEngine],
    );
    const runtime = runtimeFor(tlsEngine, credentials);
    await runtime.ping();
    const info = await runtime.info();
    assert.match(info.serverVersion, /^\d+\./);
  });

  it("TLS without a client certificate, with a stranger's, or in plain HTTP: refused", async () => {
    const noClient = await certPath(dir, "no-client", "ca", undefined);
    assert.throws(
      () =>
        engineCredentials(settings({ DOCKER_TLS_VERIFY: true, DOCKER_CERT_PATH: noClient }), [
          tlsEngine,
        ]),
      (error: unknown) =>
        error instanceof DomainError &&
        /^DOCKER_CERT_PATH: cannot read .*cert\.pem \(ENOENT\)$/.test(error.message),
    );
    const withoutCert = new Dockerode({
      host: "127.0.0.1",
      port: new URL(tlsEngine.replace("tcp:", "http:")).port,
      protocol: "https",
      ca: await readFile(join(dir, "ca.pem")),
    });
    await assert.rejects(withoutCert.ping());
    const rogue = engineCredentials(
      settings({
        DOCKER_TLS_VERIFY: true,
        DOCKER_CERT_PATH: await certPath(dir, "rogue", "ca", "rogue-client"),
      }),
      [tlsEngine],
    );
    await assert.rejects(runtimeFor(tlsEngine, rogue).ping(), unavailable);
    await assert.rejects(runtimeFor(tlsEngine, {}).ping(), unavailable);
  });

  it("TLS to an engine whose certificate our CA did not sign: refused", async () => {
    const strangerCa = await certPath(dir, "stranger-ca", "rogue-ca", "client");
    const credentials = engineCredentials(
      settings({ DOCKER_TLS_VERIFY: true, DOCKER_CERT_PATH: strangerCa }),
      [tlsEngine],
    );
    await assert.rejects(runtimeFor(tlsEngine, credentials).ping(), unavailable);
  });

  it("ssh with the key and the known host key: the engine answers", async () => {
    const credentials = engineCredentials(
      settings({
        DOCKER_SSH_KEY: join(dir, "client_key"),
        DOCKER_SSH_KNOWN_HOSTS: join(dir, "known_hosts"),
      }),
      [sshEngine],
    );
    const runtime = runtimeFor(sshEngine, credentials);
    assert.equal(runtime.endpoint, sshEngine, "messages name the engine as configured");
    await runtime.ping();
    assert.match((await runtime.info()).serverVersion, /^\d+\./);
  });

  it("ssh from the compiled program (dist/, ssh2 in the bundle): /health finds the engine", async () => {
    const dataDir = join(dir, "platform");
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin/obiente.js"), "up"], {
      cwd: REPO_ROOT,
      env: {
        PATH,
        HOME: dir,
        DATA_DIR: dataDir,
        ROLES: "api,agent",
        PORT: "0",
        GRPC_PORT: "0",
        METRICS_PORT: "0",
        NETWORK_ISOLATION: "off",
        DOCKER_HOST: sshEngine,
        DOCKER_SSH_KEY: join(dir, "client_key"),
        DOCKER_SSH_KNOWN_HOSTS: join(dir, "known_hosts"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
    });
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
    });
    try {
      const deadline = Date.now() + 120_000;
      let url: string | undefined;
      while (!url) {
        url = /"url":"(http:\/\/[^"]+)","grpcPort"[^\n]*"api listening"/.exec(stdout)?.[1];
        if (child.exitCode !== null || Date.now() > deadline) {
          assert.fail(`the platform did not start:\n${stderr}\n${stdout.slice(-4000)}`);
        }
        if (!url) await sleep(100);
      }
      assert.doesNotMatch(
        stderr,
        /through tsx/,
        "the compiled program ran (scripts/test.sh builds it)",
      );
      const health = (await (await fetch(`${url}/health`)).json()) as {
        checks: Record<string, { ok: boolean; detail?: string }>;
      };
      assert.equal(health.checks.docker?.ok, true, JSON.stringify(health.checks.docker));
    } finally {
      await stop(child);
    }
  });

  it("ssh to a host whose key is not the known one: refused", async () => {
    const credentials = engineCredentials(
      settings({
        DOCKER_SSH_KEY: join(dir, "client_key"),
        DOCKER_SSH_KNOWN_HOSTS: join(dir, "wrong_known_hosts"),
      }),
      [sshEngine],
    );
    await assert.rejects(runtimeFor(sshEngine, credentials).ping(), unavailable);
  });

  it("plain TCP to another machine stops the start with a clear configuration error", () => {
    assert.throws(
      () => loadConfig({ DOCKER_HOST: "tcp://10.0.0.12:2375" }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.includes(
          "DOCKER_HOST=tcp://10.0.0.12:2375: a plain-TCP Docker engine on another machine gives whoever reaches that port root there",
        ),
    );
    assert.throws(
      () =>
        loadConfig({
          RUNTIME: "swarm",
          SWARM_NODE_SOCKETS: JSON.stringify({ "node-2": "tcp://10.0.0.12:2375" }),
        }),
      /SWARM_NODE_SOCKETS\["node-2"\]=tcp:\/\/10\.0\.0\.12:2375: a plain-TCP/,
    );
    assert.equal(
      loadConfig({ DOCKER_HOST: "tcp://10.0.0.12:2375", ALLOW_INSECURE_ENGINE: "true" })
        .DOCKER_HOST,
      "tcp://10.0.0.12:2375",
    );
    assert.equal(
      loadConfig({ DOCKER_HOST: "tcp://10.0.0.12:2376", DOCKER_TLS_VERIFY: "1" }).DOCKER_TLS_VERIFY,
      true,
    );
  });
});

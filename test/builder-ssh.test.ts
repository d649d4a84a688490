/**
 * Clones over ssh against a real OpenSSH server on loopback (Debian's openssh-server, started by
 * this test with its own configuration, host key and authorized_keys, stopped at the end). The
 * service user running the platform has its own key in ~/.ssh (of its passwd entry, which is
 * where OpenSSH looks, whatever HOME says) and in an agent, both authorised on that server: a
 * deployment without a key of its own must still not get in, and one with its key must.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type CloneOptions, cloneShallow } from "../src/builder/index.js";
import { DomainError } from "../src/domain/errors.js";
import { gitEnv, makeRepo, type TestRepo } from "./helpers/repo.js";

const run = promisify(execFile);
const SSHD = "/usr/sbin/sshd";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function keygen(path: string): Promise<{ privateKey: string; publicKey: string }> {
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "obiente-test", "-f", path]);
  return {
    privateKey: await readFile(path, "utf8"),
    publicKey: (await readFile(`${path}.pub`, "utf8")).trim(),
  };
}

/** Files of the service user's real ~/.ssh that the test replaces, put back afterwards. */
const OPERATOR_FILES = ["id_ed25519", "id_ed25519.pub", "config"];

describe("ssh clones use the deployment's key only (real sshd on loopback)", {
  skip: existsSync(SSHD) ? false : `${SSHD} is missing: install openssh-server`,
}, () => {
  const runId = randomUUID().slice(0, 8);
  let root: string;
  let repo: TestRepo;
  let port: number;
  let url: string;
  let sshd: ChildProcess | undefined;
  let sshdLog = "";
  let agent: { pid: number; socket: string } | undefined;
  let deploymentKey: { privateKey: string; publicKey: string };
  let strangerKey: { privateKey: string; publicKey: string };
  let noisyKey: { privateKey: string; publicKey: string };
  const operatorSsh = join(userInfo().homedir, ".ssh");
  const backups = new Map<string, string>();
  let createdOperatorSsh = false;
  let operatorKnownHosts: string | undefined;
  let originalKnownHosts: string | undefined;
  const readOperatorKnownHosts = async () => {
    const path = join(operatorSsh, "known_hosts");
    return existsSync(path) ? readFile(path, "utf8") : undefined;
  };
  const savedAuthSock = process.env.SSH_AUTH_SOCK;

  async function startSshd(hostKey: string) {
    const config = join(root, "sshd_config");
    await writeFile(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${join(root, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(root, "authorized_keys")}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        `AllowUsers ${userInfo().username}`,
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    // sshd's privilege separation folder.
    await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
    const child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => {
      sshdLog += text;
    });
    sshd = child;
    const deadline = Date.now() + 10_000;
    const from = sshdLog.length;
    while (!sshdLog.slice(from).includes("Server listening")) {
      if (child.exitCode !== null) assert.fail(`sshd exited: ${sshdLog}`);
      if (Date.now() > deadline) assert.fail(`sshd did not start: ${sshdLog}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function stopSshd() {
    const child = sshd;
    sshd = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "obiente-ssh-test-"));
    port = await freePort();

    // The repository the server serves: a bare copy of a one-commit repository.
    repo = await makeRepo({ "README.md": `ssh fixture ${runId}\n` });
    await run("git", ["clone", "-q", "--bare", repo.dir, join(root, "repo.git")], {
      env: gitEnv(root),
    });
    url = `ssh://${userInfo().username}@127.0.0.1:${port}${join(root, "repo.git")}`;

    // The service user's own key, where OpenSSH looks by default, and a config naming it.
    if (!existsSync(operatorSsh)) {
      await mkdir(operatorSsh, { mode: 0o700 });
      createdOperatorSsh = true;
    }
    for (const name of OPERATOR_FILES) {
      const path = join(operatorSsh, name);
      if (existsSync(path)) {
        const backup = `${path}.obiente-test-${runId}`;
        await rename(path, backup);
        backups.set(path, backup);
      }
    }
    originalKnownHosts = await readOperatorKnownHosts();
    const operatorKey = await keygen(join(operatorSsh, "id_ed25519"));
    await writeFile(
      join(operatorSsh, "config"),
      `Host 127.0.0.1\n  IdentityFile ${join(operatorSsh, "id_ed25519")}\n  StrictHostKeyChecking no\n`,
    );
    // …and in an agent, as an operator's shell might have it.
    const socket = join(root, "agent.sock");
    const { stdout } = await run("ssh-agent", ["-a", socket, "-s"]);
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(stdout)?.[1]);
    agent = { pid, socket };
    await run("ssh-add", [join(operatorSsh, "id_ed25519")], {
      env: { ...process.env, SSH_AUTH_SOCK: socket },
    });
    process.env.SSH_AUTH_SOCK = socket;

    deploymentKey = await keygen(join(root, "deployment_key"));
    strangerKey = await keygen(join(root, "stranger_key"));
    noisyKey = await keygen(join(root, "noisy_key"));
    // The noisy key's session prints 20 MB without a line break to stderr, which ssh passes on to
    // git's: what a hostile server can make a clone print.
    await writeFile(
      join(root, "authorized_keys"),
      `${operatorKey.publicKey}\n${deploymentKey.publicKey}\ncommand="head -c 20000000 /dev/zero | tr '\\0' x >&2; exit 1",no-pty ${noisyKey.publicKey}\n`,
    );
    await keygen(join(root, "host_key"));
    await keygen(join(root, "other_host_key"));
    await startSshd(join(root, "host_key"));

    // The operator's own ssh does get in: what the platform must not borrow.
    await run("git", ["ls-remote", url], {
      env: { ...gitEnv(root), SSH_AUTH_SOCK: socket },
    });
    operatorKnownHosts = await readOperatorKnownHosts();
  });

  after(async () => {
    await stopSshd();
    if (agent !== undefined) {
      try {
        process.kill(agent.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
    if (savedAuthSock === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = savedAuthSock;
    for (const name of OPERATOR_FILES) await rm(join(operatorSsh, name), { force: true });
    // The operator's own ssh above recorded this test's server: put the file back as it was.
    const knownHostsPath = join(operatorSsh, "known_hosts");
    if (originalKnownHosts === undefined) await rm(knownHostsPath, { force: true });
    else await writeFile(knownHostsPath, originalKnownHosts);
    for (const [path, backup] of backups) await rename(backup, path);
    if (createdOperatorSsh) await rm(operatorSsh, { recursive: true, force: true });
    await repo?.cleanup();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  function clone(extra: Partial<CloneOptions> = {}) {
    const dir = join(root, `clone-${randomUUID()}`);
    return {
      dir,
      result: cloneShallow({
        repo: url,
        branch: "main",
        dir,
        allowFile: false,
        timeoutMs: 30_000,
        maxBytes: 10 * 1024 * 1024,
        knownHostsFile: join(root, "data", "ssh", "known_hosts"),
        ...extra,
      }),
    };
  }

  async function refused(promise: Promise<unknown>, message: RegExp) {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof DomainError, String(error));
      assert.equal(error.kind, "failed_precondition", error.message);
      assert.match(error.message, message);
      return true;
    });
  }

  it("a deployment without a key of its own cannot clone", async () => {
    const { dir, result } = clone();
    await refused(result, /needs credentials this platform does not have/);
    assert.equal(existsSync(dir), false);
    assert.match(
      sshdLog,
      /Connection closed by authenticating user|Disconnected from authenticating user|Connection closed by/,
    );
  });

  it("a deployment whose key is not authorised cannot clone either", async () => {
    const { result } = clone({ sshKey: { privateKeyPem: strangerKey.privateKey } });
    await refused(result, /needs credentials this platform does not have/);
  });

  it("a deployment with its own authorised key clones", async () => {
    const { dir, result } = clone({ sshKey: { privateKeyPem: deploymentKey.privateKey } });
    const { commitSha } = await result;
    assert.equal(commitSha, repo.commit);
    assert.equal(await readFile(join(dir, "README.md"), "utf8"), `ssh fixture ${runId}\n`);
    // The platform's known_hosts learnt the server's key; the operator's was left alone.
    const known = await readFile(join(root, "data", "ssh", "known_hosts"), "utf8");
    assert.match(known, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${port} ssh-ed25519 `, "m"));
    assert.equal(await readOperatorKnownHosts(), operatorKnownHosts);
  });

  it("a server printing 20 MB without a line break: the log's lines are cut", async () => {
    const lines: string[] = [];
    const { result } = clone({
      sshKey: { privateKeyPem: noisyKey.privateKey },
      onLog: (line) => lines.push(line),
    });
    await assert.rejects(result, DomainError);
    const longest = Math.max(...lines.map((line) => line.length));
    assert.ok(longest < 2_200, `the longest line has ${longest} characters`);
    assert.ok(
      lines.some((line) => /\[… \d+ more characters of this line cut\]$/.test(line)),
      "the log says the line was cut",
    );
  });

  it("a server whose host key changed after first contact is refused", async () => {
    await stopSshd();
    await startSshd(join(root, "other_host_key"));
    const { result } = clone({ sshKey: { privateKeyPem: deploymentKey.privateKey } });
    await assert.rejects(result, (error: unknown) => {
      assert.ok(error instanceof DomainError, String(error));
      assert.equal(error.kind, "failed_precondition");
      assert.match(error.message, /is not the one recorded at the first clone/);
      return true;
    });
  });
});

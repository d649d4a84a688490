/**
 * A real ssh git server on loopback, as a forge serves repositories: Debian's sshd on a free port
 * of 127.0.0.1 with its own host key, and a system user of its own (made with useradd, removed
 * with userdel) whose shell is git-shell and whose ~/.ssh/authorized_keys decides who may clone.
 * Needs root (as on the CI machines) and openssh-server.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const SSHD = "/usr/sbin/sshd";
const GIT_SHELL = "/usr/bin/git-shell";

/** Why the server cannot run here, or false. */
export function sshGitServerUnavailable(): string | false {
  if (!existsSync(SSHD)) return `${SSHD} is missing: install openssh-server`;
  if (!existsSync(GIT_SHELL)) return `${GIT_SHELL} is missing: install git`;
  if (process.getuid?.() !== 0) return "making a system user needs root";
  return false;
}

export interface SshGitServer {
  user: string;
  port: number;
  /** The ssh URL of a repository served, by its name (`<name>.git` in the user's home). */
  urlOf(name: string): string;
  /** Serves a bare copy of the repository at `sourceDir` under `name`. */
  serve(name: string, sourceDir: string): Promise<string>;
  /** Replaces the user's authorized_keys with these public keys. */
  authorize(publicKeys: string[]): Promise<void>;
  /** sshd's log so far (LogLevel VERBOSE: accepted and refused keys). */
  log(): string;
  close(): Promise<void>;
}

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

export async function startSshGitServer(): Promise<SshGitServer> {
  const id = randomUUID().slice(0, 8);
  const user = `obgit${id}`;
  const root = await mkdtemp(join(tmpdir(), "obiente-ssh-git-"));
  // The user reads its home under it; sshd reads authorized_keys as the user.
  await chmod(root, 0o711);
  const home = join(root, "home");
  let created = false;
  let sshd: ChildProcess | undefined;
  let log = "";
  const close = async () => {
    const child = sshd;
    sshd = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    if (created) {
      created = false;
      await run("userdel", ["--remove", user]).catch((error: unknown) => {
        // userdel --remove warns (exit 12) when the mail spool is missing: the user is gone.
        if ((error as { code?: number }).code !== 12) throw error;
      });
    }
    await rm(root, { recursive: true, force: true });
  };
  try {
    // '*' rather than useradd's locked '!': with UsePAM no, sshd refuses a locked account.
    await run("useradd", [
      "--system",
      "--create-home",
      "--home-dir",
      home,
      "--shell",
      GIT_SHELL,
      "--password",
      "*",
      user,
    ]);
    created = true;
    await mkdir(join(home, ".ssh"), { mode: 0o700 });
    await writeFile(join(home, ".ssh", "authorized_keys"), "", { mode: 0o600 });
    await run("chown", ["-R", `${user}:`, join(home, ".ssh")]);

    const port = await freePort();
    const hostKey = join(root, "host_key");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "host", "-f", hostKey]);
    const config = join(root, "sshd_config");
    await writeFile(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${join(root, "sshd.pid")}`,
        "AuthorizedKeysFile .ssh/authorized_keys",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        `AllowUsers ${user}`,
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    // sshd's privilege separation folder.
    await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
    const child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => {
      log += text;
    });
    sshd = child;
    const deadline = Date.now() + 10_000;
    while (!log.includes("Server listening")) {
      if (child.exitCode !== null) assert.fail(`sshd exited: ${log}`);
      if (Date.now() > deadline) assert.fail(`sshd did not start: ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const urlOf = (name: string) => `ssh://${user}@127.0.0.1:${port}${join(home, `${name}.git`)}`;
    return {
      user,
      port,
      urlOf,
      async serve(name, sourceDir) {
        const target = join(home, `${name}.git`);
        await run("git", ["clone", "-q", "--bare", "--", sourceDir, target], {
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_CONFIG_NOSYSTEM: "1", HOME: root },
        });
        await run("chown", ["-R", `${user}:`, target]);
        return urlOf(name);
      },
      async authorize(publicKeys) {
        const file = join(home, ".ssh", "authorized_keys");
        await writeFile(file, publicKeys.map((key) => `${key}\n`).join(""), { mode: 0o600 });
        await run("chown", [`${user}:`, file]);
      },
      log: () => log,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

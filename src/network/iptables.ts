/**
 * iptables (or ip6tables), run with argument arrays (never a shell), waiting for the xtables lock (`-w`) that
 * Docker and other agents take too. With `netns`, every command runs in that network namespace
 * (`nsenter --net=PATH …`): an agent in a container given the host's namespace, or a test node of
 * the Swarm harness.
 */
import { spawn } from "node:child_process";

export interface IptablesOptions {
  /** A network namespace file (/var/run/netns/node2, /proc/1/ns/net); this process's otherwise. */
  netns?: string | undefined;
  /** 4: iptables (the default), 6: ip6tables. */
  family?: 4 | 6;
  /** How long one command may take. */
  timeoutMs?: number;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class IptablesError extends Error {
  override readonly name = "IptablesError";
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class Iptables {
  private readonly netns: string | undefined;
  private readonly timeoutMs: number;
  /** "iptables" or "ip6tables". */
  readonly command: string;

  constructor(options: IptablesOptions = {}) {
    this.netns = options.netns;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.command = options.family === 6 ? "ip6tables" : "iptables";
  }

  /** The same commands for the other address family, in the same namespace. */
  family(family: 4 | 6): Iptables {
    return new Iptables({ netns: this.netns, timeoutMs: this.timeoutMs, family });
  }

  /** `iptables -w ARGS…`; resolves with its exit code and output, whatever the code. */
  run(args: readonly string[]): Promise<CommandResult> {
    return this.exec(this.command, ["-w", ...args]);
  }

  /** `iptables -w ARGS…`, which must succeed. */
  async must(args: readonly string[]): Promise<string> {
    const result = await this.run(args);
    if (result.code !== 0) {
      throw new IptablesError(`${this.command} ${args.join(" ")}: ${describe(result)}`);
    }
    return result.stdout;
  }

  /**
   * `iptables-restore -w --noflush` with `rules` on its input: one transaction, applied whole or
   * not at all; chains it does not declare are left as they are.
   */
  async restore(rules: string): Promise<void> {
    const restore = `${this.command}-restore`;
    const result = await this.exec(restore, ["-w", "--noflush"], rules);
    if (result.code !== 0) throw new IptablesError(`${restore}: ${describe(result)}`);
  }

  /** Why iptables cannot be used here (not installed, not allowed, no such chain), if it cannot. */
  async unusable(requiredChains: readonly string[]): Promise<string | undefined> {
    for (const chain of requiredChains) {
      const result = await this.run(["-S", chain]).catch(
        (error: unknown): CommandResult => ({
          code: null,
          stdout: "",
          stderr: error instanceof Error ? error.message : String(error),
        }),
      );
      if (result.code !== 0) return `${this.command} -S ${chain}: ${describe(result)}`;
    }
    return undefined;
  }

  /** The chain's rules as `iptables -S` prints them, without its own `-N`/`-P` line. */
  async rules(chain: string): Promise<string[]> {
    const out = await this.must(["-S", chain]);
    return out.split("\n").filter((line) => line.startsWith("-A "));
  }

  /** Makes `-j to` the first rule of `from`, once: moved there when it is elsewhere, doubles removed. */
  async ensureFirstJump(from: string, to: string): Promise<void> {
    const rule = `-A ${from} -j ${to}`;
    const rules = await this.rules(from);
    const count = rules.filter((line) => line === rule).length;
    if (rules[0] === rule && count === 1) return;
    for (let i = 0; i < count; i++) await this.must(["-D", from, "-j", to]);
    await this.must(["-I", from, "1", "-j", to]);
  }

  /** Removes every `-j to` from `from`; none there is fine. */
  async removeJump(from: string, to: string): Promise<void> {
    for (;;) {
      const result = await this.run(["-D", from, "-j", to]);
      if (result.code !== 0) return;
    }
  }

  /** Flushes then deletes the chains (jumps to them removed first); missing ones are fine. */
  async deleteChains(chains: readonly string[]): Promise<void> {
    for (const chain of chains) await this.run(["-F", chain]);
    for (const chain of chains) await this.run(["-X", chain]);
  }

  private exec(command: string, args: readonly string[], input?: string): Promise<CommandResult> {
    const [file, argv] = this.netns
      ? ["nsenter", [`--net=${this.netns}`, command, ...args]]
      : [command, [...args]];
    return new Promise((resolve, reject) => {
      const child = spawn(file, argv, {
        stdio: ["pipe", "pipe", "pipe"],
        timeout: this.timeoutMs,
        env: { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, stdout, stderr }));
      // A command that exits before reading its input closes the pipe: EPIPE is its answer.
      child.stdin.on("error", () => undefined);
      child.stdin.end(input ?? "");
    });
  }
}

function describe(result: CommandResult): string {
  const message = (result.stderr || result.stdout).trim().split("\n").slice(0, 5).join("; ");
  return `${result.code === null ? "killed" : `exit ${result.code}`}${message ? `: ${message}` : ""}`;
}

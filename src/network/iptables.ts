/**
 * iptables (or ip6tables), run with argument arrays (never a shell), waiting for the xtables lock (`-w`) that
 * Docker and other agents take too. Where the commands run is a CommandRunner (commands.ts): this
 * process, another network namespace through nsenter (`netns`), or a helper container on the
 * node's engine (engine-commands.ts).
 */
import { type CommandResult, type CommandRunner, LocalCommands } from "./commands.js";

export type { CommandResult } from "./commands.js";

export interface IptablesOptions {
  /** Where the commands run; LocalCommands in `netns` (or this process's namespace) otherwise. */
  commands?: CommandRunner;
  /** A network namespace file (/var/run/netns/node2, /proc/1/ns/net), for LocalCommands. */
  netns?: string | undefined;
  /** 4: iptables (the default), 6: ip6tables. */
  family?: 4 | 6;
  /** How long one command may take. */
  timeoutMs?: number;
}

export class IptablesError extends Error {
  override readonly name = "IptablesError";
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class Iptables {
  readonly commands: CommandRunner;
  private readonly timeoutMs: number;
  /** "iptables" or "ip6tables". */
  readonly command: string;

  constructor(options: IptablesOptions = {}) {
    this.commands = options.commands ?? new LocalCommands(options.netns);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.command = options.family === 6 ? "ip6tables" : "iptables";
  }

  /** The same commands for the other address family, run in the same place. */
  family(family: 4 | 6): Iptables {
    return new Iptables({ commands: this.commands, timeoutMs: this.timeoutMs, family });
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

  /**
   * Why iptables cannot be used here (the helper container cannot run, not installed, not
   * allowed, no such chain), if it cannot.
   */
  async unusable(requiredChains: readonly string[]): Promise<string | undefined> {
    try {
      await this.commands.prepare();
    } catch (error) {
      return `${this.commands.where}: ${error instanceof Error ? error.message : String(error)}`;
    }
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
    return this.commands.run(command, args, { input, timeoutMs: this.timeoutMs });
  }

  /** Releases where the commands run (the helper container); the rules stay. */
  close(): Promise<void> {
    return this.commands.close();
  }
}

function describe(result: CommandResult): string {
  const message = (result.stderr || result.stdout).trim().split("\n").slice(0, 5).join("; ");
  return `${result.code === null ? "killed" : `exit ${result.code}`}${message ? `: ${message}` : ""}`;
}

/**
 * Where the isolation's commands (iptables, iptables-restore) run. Two ways, one contract:
 *
 * - LocalCommands: a child process of this one, in this process's network namespace or, with
 *   `netns`, in another through `nsenter --net=PATH` (an agent given the node's namespace; a
 *   test node of the Swarm harness);
 * - EngineCommands (engine-commands.ts): `docker exec` in a helper container on the node's
 *   engine, in the host's network namespace: an agent that only holds the engine's socket (the
 *   Swarm stack's, on an overlay network).
 *
 * Always an argument array, never a shell.
 */
import { spawn } from "node:child_process";

export interface CommandResult {
  /** The exit code; null when the command was killed or timed out. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's standard input, which is then closed. */
  input?: string | undefined;
  timeoutMs: number;
}

export interface CommandRunner {
  /** What runs the commands, for messages ("this process", "container obiente-…"). */
  readonly where: string;
  /**
   * Makes the runner able to run commands now (the helper container there, running, current);
   * throws, saying why, when it cannot.
   */
  prepare(): Promise<void>;
  /** Runs `file` with `args`; resolves with its exit code and output, whatever the code. */
  run(file: string, args: readonly string[], options: RunOptions): Promise<CommandResult>;
  /** Releases what prepare() made. Safe to call twice; a later run() prepares again. */
  close(): Promise<void>;
}

/** Where the tools are on Debian and most others, whatever PATH the process was given. */
export const COMMAND_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class LocalCommands implements CommandRunner {
  readonly where: string;

  /** `netns`: a network namespace file (/var/run/netns/node2, /proc/1/ns/net). */
  constructor(private readonly netns?: string | undefined) {
    this.where = netns ? `nsenter --net=${netns}` : "this process";
  }

  async prepare(): Promise<void> {}

  async close(): Promise<void> {}

  run(file: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
    const [command, argv] = this.netns
      ? ["nsenter", [`--net=${this.netns}`, file, ...args]]
      : [file, [...args]];
    return new Promise((resolve, reject) => {
      const child = spawn(command, argv, {
        stdio: ["pipe", "pipe", "pipe"],
        timeout: options.timeoutMs,
        env: { PATH: `${process.env.PATH ?? ""}:${COMMAND_PATH}` },
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
      child.stdin.end(options.input ?? "");
    });
  }
}

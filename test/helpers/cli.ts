/**
 * The `obiente` CLI against a test platform: the real one (bin/obiente.js in a process of its
 * own, as a user runs it: its exit code, stdout and stderr, whatever the code), or some of its
 * commands in this process (runCommands).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { Command } from "commander";
import { REPO_ROOT } from "./image.js";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliTarget {
  api: string;
  token: string;
  /** HOME and the CLI's config folder: nothing of the machine's user is read. */
  home: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** The output so far. */
  stdout(): string;
  done: Promise<CliResult>;
}

export function spawnCli(target: CliTarget, args: string[], timeoutMs = 240_000): RunningCli {
  const child = spawn(process.execPath, ["bin/obiente.js", ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: target.home,
      XDG_CONFIG_HOME: target.home,
      OBIENTE_API: target.api,
      OBIENTE_TOKEN: target.token,
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
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, done };
}

export function runCli(target: CliTarget, ...args: string[]): Promise<CliResult> {
  return spawnCli(target, args).done;
}

/** The parsed JSON a `--json` command printed; fails with its output when it did not succeed. */
export async function cliJson<T = unknown>(target: CliTarget, ...args: string[]): Promise<T> {
  const result = await runCli(target, ...args, "--json");
  if (result.code !== 0) {
    throw new Error(`obiente ${args.join(" ")} --json exited ${result.code}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/**
 * Runs `obiente <args>` in this process, with the commands a test registers (OBIENTE_API and
 * OBIENTE_TOKEN win over any saved login); the lines it printed.
 */
export async function runCommands(
  register: ReadonlyArray<(program: Command) => void>,
  args: string[],
  target: { api: string; token: string },
): Promise<string[]> {
  const program = new Command().exitOverride();
  for (const r of register) r(program);
  const printed: string[] = [];
  const write = process.stdout.write;
  process.env.OBIENTE_API = target.api;
  process.env.OBIENTE_TOKEN = target.token;
  process.stdout.write = ((chunk: string) => {
    printed.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "obiente", ...args]);
  } finally {
    process.stdout.write = write;
    delete process.env.OBIENTE_API;
    delete process.env.OBIENTE_TOKEN;
  }
  return printed.join("").split("\n").slice(0, -1);
}

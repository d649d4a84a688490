/**
 * The real `obiente` CLI (bin/obiente.js in a process of its own), as a user runs it against a
 * test platform: its exit code, stdout and stderr, whatever the code.
 */
import { type ChildProcess, spawn } from "node:child_process";
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

/**
 * The `obiente` CLI against a test platform: the real one (bin/obiente.js in a process of its
 * own, as a user runs it: its exit code, stdout and stderr, whatever the code), or some of its
 * commands in this process (runCommands).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { Command } from "commander";
import {
  OrganizationService,
  Role,
} from "../../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { addUserWithToken, type TestPlatform } from "./api.js";
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
 * The fields of the `--json` objects (README.md, "For scripts"), sorted: the CLI's contract with
 * scripts, which only ever gains fields.
 */
export const JSON_FIELDS = {
  deployment: [
    "branch",
    "createdAt",
    "currentBuildId",
    "domains",
    "gitRepo",
    "id",
    "name",
    "organizationId",
    "parentId",
    "previewBranches",
    "previewsEnabled",
    "projectId",
    "replicas",
    "status",
    "statusMessage",
    "updatedAt",
    "url",
  ],
  build: [
    "branch",
    "commitAuthor",
    "commitMessage",
    "commitSha",
    "committedAt",
    "createdAt",
    "current",
    "deploymentId",
    "finishedAt",
    "id",
    "imageId",
    "status",
    "statusMessage",
    "trigger",
  ],
};

/** A new organization on a test platform: its owner (the platform's admin) and a viewer. */
export async function cliOrganization(
  t: TestPlatform,
  name: string,
): Promise<{ org: string; owner: CliTarget; viewer: CliTarget }> {
  const { organization } = await t.client(OrganizationService).createOrganization({ name });
  assert.ok(organization);
  const owner = { api: t.baseUrl, token: t.adminToken, home: t.dataDir };
  const user = await addUserWithToken(t.platform.ctx.db);
  await t
    .client(OrganizationService)
    .addMember({ organizationId: organization.id, email: user.email, role: Role.VIEWER });
  return { org: organization.id, owner, viewer: { ...owner, token: user.token } };
}

/**
 * `obiente` in one organization (`--org`), read from `scope` at each call: `as` someone, and as
 * the owner `cli`, `json`, `ok` (must exit 0) and `fails` (must exit with `code`, printing
 * nothing on stdout).
 */
export function orgCommands(scope: () => { org: string; owner: CliTarget }) {
  const as = (who: CliTarget, ...args: string[]) => runCli(who, ...args, "--org", scope().org);
  const cli = (...args: string[]) => as(scope().owner, ...args);
  const json = <T>(...args: string[]) => cliJson<T>(scope().owner, ...args, "--org", scope().org);
  const ok = async (...args: string[]) => {
    const result = await cli(...args);
    assert.equal(result.code, 0, `obiente ${args.join(" ")}: ${result.stdout}\n${result.stderr}`);
    return result;
  };
  const fails = async (code: number, who: CliTarget, ...args: string[]) => {
    const result = await as(who, ...args);
    assert.equal(
      result.code,
      code,
      `obiente ${args.join(" ")}: ${result.stdout}\n${result.stderr}`,
    );
    assert.equal(result.stdout, "", "nothing on stdout when a command fails");
    return result;
  };
  return { as, cli, json, ok, fails };
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

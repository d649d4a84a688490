/**
 * `obiente plan <path-or-git-url>`: how the builder would build an app, before anything is
 * built — the stack, the reasons (which files decided it) and the Dockerfile. A local folder is
 * planned here, with the builder's own detection; a git URL (or --deployment) by the server,
 * which clones it with the builder's rules (PlanBuild).
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { type BuildPlan, formatPlan, planCheckout } from "../builder/index.js";
import { loadConfig } from "../config/index.js";
import { detectOptionsOf } from "../deployments/index.js";
import { CliError, EXIT } from "./exit-codes.js";
import { clients, findDeployment, findProject } from "./lookup.js";
import { out, printJson } from "./output.js";

interface PlanOptions {
  branch?: string;
  rootDir?: string;
  dockerfile?: string;
  project?: string;
  deployment?: string;
  org?: string;
  json?: boolean;
}

/** A remote the git CLI would clone rather than a folder here: a URL or `user@host:path`. */
export function isRemote(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^[\w.-]+@[\w.-]+:/.test(source);
}

export function registerPlanCommand(program: Command) {
  program
    .command("plan")
    .description(
      "show how an app would be built: the stack detected, why, and the Dockerfile (a folder here, a git URL or --deployment on the server)",
    )
    .argument("[source]", "a folder, or a git URL", ".")
    .option("--branch <branch>", "the branch of a git URL (default main, or the deployment's)")
    .option("--root-dir <dir>", "the app's folder inside the repository (monorepos)")
    .option("--dockerfile <path>", "a Dockerfile to build with, from the repository's root")
    .option("--project <ref>", "the project to plan in, for a git URL (id, slug or name)")
    .option("--deployment <ref>", "plan an existing deployment's source (id or name)")
    .option(
      "--org <id|slug>",
      "the organization of --project or --deployment (default: your first)",
    )
    .option("--json", "the plan as JSON")
    .action(async (source: string, options: PlanOptions) => {
      const selection = { rootDirectory: options.rootDir, dockerfilePath: options.dockerfile };
      let plan: BuildPlan;
      let commit: string | undefined;
      if (options.deployment !== undefined || isRemote(source)) {
        const remote = await planOnServer(source, options);
        plan = remote.plan;
        commit = remote.commitSha;
      } else {
        const dir = resolve(source);
        const info = await stat(dir).catch(() => undefined);
        if (!info?.isDirectory()) {
          throw new CliError(`${source} is not a folder or a git URL`, EXIT.usage);
        }
        plan = (await planCheckout(dir, selection, detectOptionsOf(loadConfig()))).plan;
      }
      if (options.json) return printJson({ ...plan, ...(commit ? { commitSha: commit } : {}) });
      // The Dockerfile and reasons hold text from the repository: `out` lets no control
      // sequence through.
      if (commit) out(`commit: ${commit}`);
      for (const line of formatPlan(plan).replace(/\n$/, "").split("\n")) out(line);
    });
}

async function planOnServer(
  source: string,
  options: PlanOptions,
): Promise<{ plan: BuildPlan; commitSha: string }> {
  if (options.deployment === undefined && options.project === undefined) {
    throw new CliError(
      "planning a git URL happens in a project: give --project <ref> (or --deployment)",
      EXIT.usage,
    );
  }
  const c = await clients();
  const deploymentId =
    options.deployment === undefined
      ? ""
      : (await findDeployment(c, options.deployment, options.org)).id;
  let projectId = "";
  if (deploymentId === "" && options.project !== undefined) {
    const project = await findProject(c, options.project, options.org);
    if (!project) throw new CliError(`no project "${options.project}"`, EXIT.notFound);
    projectId = project.id;
  }
  const answer = await c.deployments.planBuild({
    deploymentId,
    projectId,
    gitRepo: deploymentId === "" ? source : "",
    branch: options.branch ?? "",
    ...(options.rootDir === undefined ? {} : { rootDirectory: options.rootDir }),
    ...(options.dockerfile === undefined ? {} : { dockerfilePath: options.dockerfile }),
  });
  return {
    commitSha: answer.commitSha,
    plan: {
      kind: answer.kind as BuildPlan["kind"],
      stack: answer.stack,
      reasons: answer.reasons.map((r) => ({ file: r.file, detail: r.detail })),
      dockerfile: answer.dockerfile,
      dockerfilePath: answer.dockerfilePath,
      generated: answer.generated,
      files: answer.files.map((f) => ({ path: f.path, contents: f.contents })),
      port: answer.port,
      command: answer.command,
    },
  };
}

/**
 * The CLI's deployment commands: deploy (a new deployment, or the one of that name again,
 * following the build and the status live, ending with the URL), ls, status, logs, rm.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import {
  BuildStatus,
  type Deployment,
  DeploymentStatus,
} from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { parsePairs } from "./dotenv.js";
import { CliError, EXIT } from "./exit-codes.js";
import { deploymentJson, deploymentStatusName } from "./json-shapes.js";
import { type Clients, clients, findDeployment, findProject, organizationId } from "./lookup.js";
import { out, printJson } from "./output.js";

const statusName = deploymentStatusName;
/** How long a followed build's log may go on once the deployment's status has settled. */
const LOG_GRACE_MS = 10_000;

/** A deployment by id, or by name within --org (or the caller's first organization). */
export async function resolveDeployment(ref: string, org: string | undefined): Promise<Deployment> {
  return findDeployment(await clients(), ref, org);
}

/** Follows a deployment until it runs, fails or stops, printing status changes and build logs. */
export async function follow(c: Clients, id: string): Promise<Deployment> {
  const abort = new AbortController();
  const followed = new Set<string>();
  const followBuild = async (buildId: string) => {
    if (followed.has(buildId)) return;
    followed.add(buildId);
    try {
      for await (const line of c.deployments.streamBuildLogs(
        { buildId },
        { signal: abort.signal },
      )) {
        out(`  │ ${line.line}`);
      }
    } catch (error) {
      if (ConnectError.from(error).code !== Code.Canceled)
        out(`  (build log unavailable: ${ConnectError.from(error).rawMessage})`);
    }
  };
  const builds: Promise<void>[] = [];
  try {
    for await (const event of c.deployments.streamDeploymentStatus(
      { id },
      { signal: abort.signal },
    )) {
      out(`→ ${statusName(event.status)}${event.statusMessage ? `: ${event.statusMessage}` : ""}`);
      if (event.status === DeploymentStatus.BUILDING) {
        const { builds: list } = await c.deployments.listBuilds({ deploymentId: id });
        const running = list.find(
          (b) => b.status === BuildStatus.RUNNING || b.status === BuildStatus.QUEUED,
        );
        if (running) builds.push(followBuild(running.id));
      }
      if (
        event.status === DeploymentStatus.RUNNING ||
        event.status === DeploymentStatus.FAILED ||
        event.status === DeploymentStatus.STOPPED
      )
        break;
    }
    // A build's log ends on its own once the build has (a cancelled one says so last): give
    // it a moment, rather than cutting its last lines.
    await Promise.race([
      Promise.allSettled(builds),
      new Promise((resolve) => setTimeout(resolve, LOG_GRACE_MS).unref()),
    ]);
  } finally {
    abort.abort();
    await Promise.allSettled(builds);
  }
  const { deployment } = await c.deployments.getDeployment({ id });
  if (!deployment) throw new CliError("the deployment disappeared", EXIT.notFound);
  return deployment;
}

/** The ids of the deployment's builds so far: a build made after this is the one to look for. */
export async function buildIdsOf(c: Clients, deploymentId: string): Promise<Set<string>> {
  const { builds } = await c.deployments.listBuilds({ deploymentId });
  return new Set(builds.map((b) => b.id));
}

/**
 * Follows a deployment that builds (deploy, redeploy) to its end: the URL when its new build
 * runs, an error when it failed, stopped, or its build was cancelled (what served before may
 * still serve: the message says).
 */
export async function followBuild(c: Clients, id: string, before: Set<string>): Promise<void> {
  const final = await follow(c, id);
  if (final.status === DeploymentStatus.FAILED) {
    throw new CliError(`deployment failed: ${final.statusMessage}`);
  }
  const { builds } = await c.deployments.listBuilds({ deploymentId: id });
  const fresh = builds.find((b) => !before.has(b.id));
  if (final.status !== DeploymentStatus.RUNNING || fresh?.status !== BuildStatus.SUCCEEDED) {
    throw new CliError(`the build did not deploy: ${final.statusMessage}`);
  }
  out(`✓ live at ${final.url}`);
}

/** Follows a change that starts containers (scale, rollback, restart) to its end. */
export async function followRollout(c: Clients, id: string): Promise<void> {
  const final = await follow(c, id);
  if (final.status !== DeploymentStatus.RUNNING) {
    throw new CliError(`deployment ${statusName(final.status)}: ${final.statusMessage}`);
  }
  out(`✓ live at ${final.url}`);
}

export function registerDeployCommands(program: Command) {
  program
    .command("deploy")
    .description(
      "deploy a git repository's branch, or deploy the deployment of that name again; follows the build live and ends with the URL",
    )
    .requiredOption("--git <url>", "the repository (https, ssh or git URL)")
    .option("--branch <branch>", "the branch", "main")
    .option("--name <name>", "the deployment's name (default: from the repository)")
    .option("--project <name>", "the project (created when missing)", "default")
    .option("--org <id|slug>", "the organization (default: your first)")
    .option("--domain <domain>", "a custom domain")
    .option("--root-dir <dir>", "the app's folder inside the repository (monorepos)")
    .option("--dockerfile <path>", "a Dockerfile to build with, from the repository's root")
    .option("--replicas <n>", "replicas (a new deployment: 1; again: as it is)", replicaCount)
    .option(
      "--env <KEY=VALUE...>",
      "env vars (added to the deployment's others)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option("--no-follow", "return at once instead of following the deployment")
    .action(
      async (o: {
        git: string;
        branch: string;
        name?: string;
        project: string;
        org?: string;
        domain?: string;
        rootDir?: string;
        dockerfile?: string;
        replicas?: number;
        env: string[];
        follow: boolean;
      }) => {
        const envVars = usage(() => parsePairs(o.env));
        const c = await clients();
        const orgId = await organizationId(c.auth, o.org);
        const project =
          (await findProject(c, o.project, orgId)) ??
          (await c.projects.createProject({ organizationId: orgId, name: o.project })).project;
        if (!project) throw new CliError("could not create the project");
        const { deployment, redeployed } = await c.deployments.createDeployment({
          projectId: project.id,
          name: o.name ?? "",
          gitRepo: o.git,
          branch: o.branch,
          envVars,
          ...(o.domain ? { domain: o.domain } : {}),
          rootDirectory: o.rootDir ?? "",
          dockerfilePath: o.dockerfile ?? "",
          ...(o.replicas === undefined ? {} : { replicas: o.replicas }),
          redeployExisting: true,
        });
        if (!deployment) throw new CliError("the API returned no deployment");
        out(
          `deployment ${deployment.name} (${deployment.id}) queued${redeployed ? " for a redeploy" : ""}`,
        );
        if (!o.follow) return;
        // A redeploy's earlier builds are not the one to follow; one under way already is.
        const before = new Set<string>();
        if (redeployed) {
          const { builds } = await c.deployments.listBuilds({ deploymentId: deployment.id });
          for (const b of builds) {
            if (b.status !== BuildStatus.RUNNING && b.status !== BuildStatus.QUEUED)
              before.add(b.id);
          }
        }
        await followBuild(c, deployment.id, before);
      },
    );

  program
    .command("ls")
    .description("list deployments")
    .option("--org <id|slug>", "the organization (default: your first)")
    .option("--json", "print JSON (an array of deployments)")
    .action(async (o: { org?: string; json?: boolean }) => {
      const c = await clients();
      const { deployments } = await c.deployments.listDeployments({
        organizationId: await organizationId(c.auth, o.org),
      });
      if (o.json) return printJson(deployments.map(deploymentJson));
      if (deployments.length === 0) out("no deployments");
      for (const d of deployments) {
        out(
          `${d.id}  ${d.name.padEnd(20)} ${statusName(d.status).padEnd(10)} ${d.replicas}×  ${d.url}`,
        );
      }
    });

  program
    .command("status <deployment>")
    .description("a deployment's status and where it runs")
    .option("--org <id|slug>", "the organization, to find a deployment by name")
    .option("--json", "print JSON (the deployment)")
    .action(async (ref: string, o: { org?: string; json?: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      if (o.json) return printJson(deploymentJson(d));
      const status = await c.deployments.getDeploymentStatus({ id: d.id });
      out(`${d.name} (${d.id})`);
      out(
        `  status:   ${statusName(status.status)}${status.statusMessage ? ` — ${status.statusMessage}` : ""}`,
      );
      out(`  source:   ${d.gitRepo} @ ${d.branch}`);
      out(`  url:      ${d.url}`);
      out(`  domains:  ${d.domains.join(", ")}`);
      out(`  replicas: ${d.replicas}`);
      for (const l of status.locations) {
        out(
          `  • ${l.nodeId.slice(0, 12)}  ${l.containerId.slice(0, 12)}  ${l.address ? `${l.address}:${l.port}  ` : ""}${l.status}/${l.healthStatus}`,
        );
      }
    });

  program
    .command("logs <deployment>")
    .description("a deployment's runtime logs")
    .option("-f, --follow", "keep printing new lines")
    .option("-n, --tail <n>", "the last n lines", (v) => Number.parseInt(v, 10), 100)
    .option("--org <id|slug>", "the organization, to find a deployment by name")
    .action(async (ref: string, o: { follow?: boolean; tail: number; org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const print = (l: {
        containerId: string;
        line: string;
        at?: Parameters<typeof timestampDate>[0];
      }) =>
        out(
          `${l.at ? timestampDate(l.at).toISOString() : ""} ${l.containerId.slice(0, 8)} ${l.line}`,
        );
      if (!o.follow) {
        const { lines } = await c.deployments.getDeploymentLogs({
          deploymentId: d.id,
          tail: o.tail,
        });
        for (const l of lines) print(l);
        return;
      }
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      try {
        for await (const { line } of c.deployments.streamDeploymentLogs(
          { deploymentId: d.id, tail: o.tail },
          { signal: abort.signal },
        )) {
          if (line) print(line);
        }
      } catch (error) {
        if (ConnectError.from(error).code !== Code.Canceled) throw error;
      }
    });

  program
    .command("rm <deployment>")
    .description("delete a deployment: its containers, routes and records")
    .option("--org <id|slug>", "the organization, to find a deployment by name")
    .action(async (ref: string, o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      await c.deployments.deleteDeployment({ id: d.id });
      out(`deleting ${d.name} (${d.id})`);
    });
}

/** `--replicas` and `scale`'s argument: a whole number, else a usage error. */
export function replicaCount(value: string): number {
  if (!/^\d+$/.test(value))
    throw new CliError(`replicas must be a whole number, got "${value}"`, EXIT.usage);
  return Number.parseInt(value, 10);
}

/** Runs a parser of the command line's input; its errors are usage errors. */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), EXIT.usage);
  }
}

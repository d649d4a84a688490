/**
 * The CLI's deployment commands: deploy (following the build and the status live, ending with
 * the URL), ls, status, logs, rm.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Command } from "commander";
import { AuthService } from "../gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  BuildStatus,
  type Deployment,
  DeploymentService,
  DeploymentStatus,
} from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { ProjectService } from "../gen/obiente/cloud/project/v1/project_pb.js";
import { transportFor } from "./client.js";
import { loadCredentials } from "./credentials.js";
import { terminalSafe } from "./terminal-text.js";

/** Every line holds text from the server: printed without its control sequences. */
const out = (line: string) => process.stdout.write(`${terminalSafe(line)}\n`);
const statusName = (s: DeploymentStatus) => DeploymentStatus[s]?.toLowerCase() ?? "unknown";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function clients() {
  const transport = transportFor(await loadCredentials());
  return {
    auth: createClient(AuthService, transport),
    projects: createClient(ProjectService, transport),
    deployments: createClient(DeploymentService, transport),
  };
}

/** The organization to act in: --org, or the caller's only (or first) organization. */
async function organizationId(
  auth: Client<typeof AuthService>,
  org: string | undefined,
): Promise<string> {
  const me = await auth.whoAmI({});
  if (org) {
    const match = me.memberships.find(
      (m) => m.organizationId === org || m.organizationSlug === org,
    );
    if (!match) throw new Error(`you are not a member of an organization "${org}"`);
    return match.organizationId;
  }
  const first = me.memberships[0];
  if (!first) throw new Error("you are not a member of any organization");
  return first.organizationId;
}

/** A deployment by id, or by name within the organization. */
async function findDeployment(
  c: Awaited<ReturnType<typeof clients>>,
  ref: string,
  org: string | undefined,
): Promise<Deployment> {
  if (UUID.test(ref)) {
    const { deployment } = await c.deployments.getDeployment({ id: ref });
    if (deployment) return deployment;
  }
  const { deployments } = await c.deployments.listDeployments({
    organizationId: await organizationId(c.auth, org),
  });
  const matches = deployments.filter((d) => d.name === ref);
  if (matches.length === 0) throw new Error(`no deployment named "${ref}"`);
  if (matches.length > 1) throw new Error(`several deployments are named "${ref}": use the id`);
  return matches[0] as Deployment;
}

/** A deployment by id, or by name within --org (or the caller's first organization). */
export async function resolveDeployment(ref: string, org: string | undefined): Promise<Deployment> {
  return findDeployment(await clients(), ref, org);
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--env takes KEY=VALUE, got "${pair}"`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

/** Follows a deployment until it runs or fails, printing status changes and build logs. */
async function follow(c: Awaited<ReturnType<typeof clients>>, id: string): Promise<Deployment> {
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
      if (event.status === DeploymentStatus.RUNNING || event.status === DeploymentStatus.FAILED)
        break;
    }
  } finally {
    abort.abort();
    await Promise.allSettled(builds);
  }
  const { deployment } = await c.deployments.getDeployment({ id });
  if (!deployment) throw new Error("the deployment disappeared");
  return deployment;
}

export function registerDeployCommands(program: Command) {
  program
    .command("deploy")
    .description("deploy a git repository's branch, following the build live; ends with the URL")
    .requiredOption("--git <url>", "the repository (https, ssh or git URL)")
    .option("--branch <branch>", "the branch", "main")
    .option("--name <name>", "the deployment's name (default: from the repository)")
    .option("--project <name>", "the project (created when missing)", "default")
    .option("--org <id|slug>", "the organization (default: your first)")
    .option("--domain <domain>", "a custom domain")
    .option("--root-dir <dir>", "the app's folder inside the repository (monorepos)")
    .option("--dockerfile <path>", "a Dockerfile to build with, from the repository's root")
    .option("--replicas <n>", "replicas", (v) => Number.parseInt(v, 10), 1)
    .option(
      "--env <KEY=VALUE...>",
      "env vars",
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
        replicas: number;
        env: string[];
        follow: boolean;
      }) => {
        const c = await clients();
        const orgId = await organizationId(c.auth, o.org);
        const { projects } = await c.projects.listProjects({ organizationId: orgId });
        const project =
          projects.find(
            (p) => p.id === o.project || p.slug === o.project || p.name === o.project,
          ) ?? (await c.projects.createProject({ organizationId: orgId, name: o.project })).project;
        if (!project) throw new Error("could not create the project");
        const { deployment } = await c.deployments.createDeployment({
          projectId: project.id,
          name: o.name ?? "",
          gitRepo: o.git,
          branch: o.branch,
          envVars: parseEnv(o.env),
          ...(o.domain ? { domain: o.domain } : {}),
          rootDirectory: o.rootDir ?? "",
          dockerfilePath: o.dockerfile ?? "",
          replicas: o.replicas,
        });
        if (!deployment) throw new Error("the API returned no deployment");
        out(`deployment ${deployment.name} (${deployment.id}) queued`);
        if (!o.follow) return;
        const final = await follow(c, deployment.id);
        if (final.status !== DeploymentStatus.RUNNING) {
          throw new Error(`deployment failed: ${final.statusMessage}`);
        }
        out(`✓ live at ${final.url}`);
      },
    );

  program
    .command("ls")
    .description("list deployments")
    .option("--org <id|slug>", "the organization (default: your first)")
    .action(async (o: { org?: string }) => {
      const c = await clients();
      const { deployments } = await c.deployments.listDeployments({
        organizationId: await organizationId(c.auth, o.org),
      });
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
    .action(async (ref: string, o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
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
          `  • ${l.nodeId.slice(0, 12)}  ${l.containerId.slice(0, 12)}  ${l.address}:${l.port}  ${l.status}/${l.healthStatus}`,
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

/**
 * The CLI's commands on one deployment's lifecycle: redeploy, rollback [build], scale N, restart,
 * cancel (the build under way), open (its URL), and `builds ls` (each build's commit: subject,
 * author, and what asked for it).
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { BuildStatus } from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { commandGroup } from "./command-group.js";
import { buildIdsOf, followBuild, followRollout, replicaCount } from "./deploy-commands.js";
import { CliError, EXIT } from "./exit-codes.js";
import { buildJson, buildStatusName } from "./json-shapes.js";
import { clients, findDeployment } from "./lookup.js";
import { openInBrowser } from "./open-url.js";
import { out, printJson, table } from "./output.js";

const ORG = ["--org <id|slug>", "the organization, to find a deployment by name"] as const;
const NO_FOLLOW = ["--no-follow", "return at once instead of following the deployment"] as const;

/** A build as people tell them apart: the first 8 characters of its id. */
const shortId = (id: string) => id.slice(0, 8);

/** How much of a commit's subject `builds ls` shows. */
const SUBJECT_CHARS = 50;

/** A commit message's first line, clipped to `max` characters (an ellipsis marks the cut). */
export function commitSubject(message: string, max = SUBJECT_CHARS): string {
  const subject = (message.split("\n", 1)[0] ?? "").trim();
  const chars = [...subject];
  return chars.length <= max ? subject : `${chars.slice(0, max - 1).join("")}…`;
}

/** The name of a commit's author as git reports it (`Name <email>`). */
export function authorName(author: string): string {
  return author.replace(/\s*<[^>]*>\s*$/, "").trim();
}

export function registerDeploymentCommands(program: Command) {
  program
    .command("redeploy <deployment>")
    .description("build the deployment's branch again and switch to it once healthy")
    .option(...ORG)
    .option(...NO_FOLLOW)
    .action(async (ref: string, o: { org?: string; follow: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const before = await buildIdsOf(c, d.id);
      await c.deployments.redeployDeployment({ id: d.id });
      out(`redeploying ${d.name} (${d.id}) from ${d.branch}`);
      if (o.follow) await followBuild(c, d.id, before);
    });

  program
    .command("rollback <deployment> [build]")
    .description(
      "run an earlier successful build again (the build's id or its first characters; default: the one before the current)",
    )
    .option(...ORG)
    .option(...NO_FOLLOW)
    .action(
      async (ref: string, buildRef: string | undefined, o: { org?: string; follow: boolean }) => {
        const c = await clients();
        const d = await findDeployment(c, ref, o.org);
        let buildId = "";
        if (buildRef !== undefined) {
          const { builds } = await c.deployments.listBuilds({ deploymentId: d.id });
          const matches = builds.filter((b) => b.id.startsWith(buildRef.toLowerCase()));
          if (matches.length === 0 || buildRef.length < 4) {
            throw new CliError(`${d.name} has no build "${buildRef}"`, EXIT.notFound);
          }
          if (matches.length > 1) {
            throw new CliError(
              `"${buildRef}" names several builds: give more of the id`,
              EXIT.usage,
            );
          }
          buildId = matches[0]?.id ?? "";
        }
        const { deployment } = await c.deployments.rollbackDeployment({ id: d.id, buildId });
        out(`rolling ${d.name} back to build ${shortId(deployment?.currentBuildId ?? buildId)}`);
        if (o.follow) await followRollout(c, d.id);
      },
    );

  program
    .command("scale <deployment> <replicas>")
    .description("run this many replicas")
    .option(...ORG)
    .option(...NO_FOLLOW)
    .action(async (ref: string, replicas: string, o: { org?: string; follow: boolean }) => {
      const n = replicaCount(replicas);
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      await c.deployments.scaleDeployment({ id: d.id, replicas: n });
      out(`scaling ${d.name} from ${d.replicas} to ${n} replica(s)`);
      if (o.follow) await followRollout(c, d.id);
    });

  program
    .command("restart <deployment>")
    .description("replace the deployment's containers (with its env vars as they are now)")
    .option(...ORG)
    .option(...NO_FOLLOW)
    .action(async (ref: string, o: { org?: string; follow: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      await c.deployments.restartDeployment({ id: d.id });
      out(`restarting ${d.name}`);
      if (o.follow) await followRollout(c, d.id);
    });

  program
    .command("cancel <deployment>")
    .description("stop the build under way; what served before keeps serving")
    .option(...ORG)
    .action(async (ref: string, o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { build, deployment } = await c.deployments.cancelBuild({ deploymentId: d.id });
      out(
        `cancelled ${build ? `build ${shortId(build.id)}` : "the build"} of ${d.name}: ${deployment?.statusMessage ?? ""}`,
      );
    });

  program
    .command("open <deployment>")
    .description("print the deployment's URL (and open it in a browser with --browser)")
    .option(...ORG)
    .option("--browser", "also open the URL in the default browser")
    .action(async (ref: string, o: { org?: string; browser?: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      if (!d.url) throw new CliError(`${d.name} has no URL yet`);
      out(d.url);
      if (o.browser) await openInBrowser(d.url);
    });

  const builds = commandGroup(program, "builds", "a deployment's builds");
  builds
    .command("ls <deployment>", { isDefault: true })
    .description("list the deployment's builds, newest first (* marks the current one)")
    .option(...ORG)
    .option("--json", "print JSON (an array of builds)")
    .action(async (ref: string, o: { org?: string; json?: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { builds: list } = await c.deployments.listBuilds({ deploymentId: d.id });
      if (o.json) return printJson(list.map((b) => buildJson(b, d.currentBuildId)));
      if (list.length === 0) return out("no builds");
      const rows = list.map((b) => [
        `${b.id === d.currentBuildId ? "*" : " "} ${shortId(b.id)}`,
        buildStatusName(b.status),
        b.commitSha.slice(0, 7) || "-",
        commitSubject(b.commitMessage) || "-",
        authorName(b.commitAuthor) || "-",
        b.trigger || "-",
        b.createdAt ? timestampDate(b.createdAt).toISOString() : "-",
        b.status === BuildStatus.SUCCEEDED ? "" : b.statusMessage,
      ]);
      const header = ["  BUILD", "STATUS", "COMMIT", "SUBJECT", "AUTHOR", "TRIGGER", "CREATED"];
      for (const line of table([[...header, "MESSAGE"], ...rows])) out(line);
    });
}

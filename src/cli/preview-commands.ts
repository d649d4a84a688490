/**
 * `obiente previews ls|rm|on|off`: a deployment's previews, the deployments that pull requests
 * and pushes to other branches make through the project's webhook (docs/git.md). `on` and `off`
 * say whether new ones are made, and for which branches; `rm` removes one now.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import type { Deployment } from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { commandGroup } from "./command-group.js";
import { CliError, EXIT } from "./exit-codes.js";
import { deploymentStatusName, previewJson } from "./json-shapes.js";
import { clients, findDeployment } from "./lookup.js";
import { note, out, printJson, table } from "./output.js";

const ORG = ["--org <id|slug>", "the organization, to find a deployment by name"] as const;

/** Whether a deployment makes previews, and of which branches. */
export function previewSetting(d: Deployment): string {
  if (!d.previewsEnabled) return `previews of ${d.name}: off`;
  return `previews of ${d.name}: on, for ${d.previewBranches ? `branches ${d.previewBranches}` : "every branch"}`;
}

export function registerPreviewCommands(program: Command) {
  const previews = commandGroup(
    program,
    "previews",
    "a deployment's previews: its other branches and pull requests, deployed by the webhook",
  );

  previews
    .command("ls <deployment>", { isDefault: true })
    .description("list the deployment's previews, newest push first")
    .option(...ORG)
    .option(
      "--json",
      "print JSON (an array of previews: deployments, with pullRequest and lastPushAt)",
    )
    .action(async (ref: string, o: { org?: string; json?: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { previews: list } = await c.deployments.listPreviews({ deploymentId: d.id });
      if (o.json) return printJson(list.map(previewJson));
      if (list.length === 0) {
        out("no previews");
        if (!d.previewsEnabled) note(`(previews are off: obiente previews on ${d.name})`);
        return;
      }
      const rows = list.map((p) => [
        p.name,
        p.branch,
        p.pullRequest ? `#${p.pullRequest}` : "-",
        deploymentStatusName(p.status),
        p.url || "-",
        p.lastPushAt ? timestampDate(p.lastPushAt).toISOString() : "-",
      ]);
      for (const line of table([["NAME", "BRANCH", "PR", "STATUS", "URL", "LAST PUSH"], ...rows]))
        out(line);
    });

  previews
    .command("rm <preview>")
    .description("remove a preview now (its name or id, as previews ls shows)")
    .option(...ORG)
    .action(async (ref: string, o: { org?: string }) => {
      const c = await clients();
      const p = await findDeployment(c, ref, o.org);
      if (!p.parentId) {
        throw new CliError(
          `${p.name} is not a preview (obiente rm ${p.name} deletes a deployment and its previews)`,
          EXIT.usage,
        );
      }
      await c.deployments.deleteDeployment({ id: p.id });
      out(`removing the preview ${p.name} of branch ${p.branch}`);
      note("(a later pull request update or push to the branch makes it again)");
    });

  previews
    .command("on <deployment>")
    .description("make previews of the deployment's other branches and pull requests")
    .option(...ORG)
    .option(
      "--branches <globs>",
      "only these branches: comma-separated globs (`*` within a path segment, `**` across them); empty for all (default: as it is)",
    )
    .action(async (ref: string, o: { org?: string; branches?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { deployment } = await c.deployments.updateDeployment({
        id: d.id,
        previewsEnabled: true,
        ...(o.branches === undefined ? {} : { previewBranches: o.branches }),
      });
      if (!deployment) throw new CliError("the API returned no deployment");
      out(previewSetting(deployment));
      note(
        `(previews come through the project's webhook: obiente hooks show ${deployment.projectId})`,
      );
    });

  previews
    .command("off <deployment>")
    .description("make no new previews of the deployment (those there stay until removed)")
    .option(...ORG)
    .action(async (ref: string, o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { deployment } = await c.deployments.updateDeployment({
        id: d.id,
        previewsEnabled: false,
      });
      if (!deployment) throw new CliError("the API returned no deployment");
      out(previewSetting(deployment));
      note(
        `(previews made already keep following their branch until it is deleted, its pull request closes, or obiente previews rm; see obiente previews ls ${deployment.name})`,
      );
    });
}

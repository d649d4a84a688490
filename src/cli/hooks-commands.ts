/**
 * `obiente hooks …`: what a forge or a CI system calls to deploy. A project's webhook (`show`,
 * `rotate`: its URL per forge, and the secret the forge signs with, shown once) and a
 * deployment's deploy hook (`deploy`: a secret URL that redeploys the branch's head on a bare
 * POST, shown once; `deploy --show`, `deploy-rm`). The server gives full URLs when it knows its
 * public address (PUBLIC_URL); otherwise the CLI puts its own API address before the path.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import type { DeployHook } from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import type { Webhook } from "../gen/obiente/cloud/project/v1/project_pb.js";
import { commandGroup } from "./command-group.js";
import { CliError, EXIT } from "./exit-codes.js";
import { deployHookJson, webhookJson } from "./json-shapes.js";
import { type Clients, clients, findDeployment, findProject } from "./lookup.js";
import { note, out, printJson, table } from "./output.js";

const ORG_DEPLOYMENT = [
  "--org <id|slug>",
  "the organization, to find a deployment by name",
] as const;
const ORG_PROJECT = ["--org <id|slug>", "the organization, to find a project by name"] as const;

/** The URL to call: the server's full one, else the path on the API's address as the CLI has it. */
export function fullUrl(api: string, path: string, url: string): string {
  return url || `${api.replace(/\/+$/, "")}${path}`;
}

/** Said when a URL was completed with the CLI's API address, which a forge or CI may not reach. */
const ADDRESS_NOTE = {
  webhook:
    "(these URLs are on the API address this CLI talks to, which the forge must reach; with PUBLIC_URL set, the platform gives them whole)",
  deployHook:
    "(this URL is on the API address this CLI talks to, which its caller must reach; with PUBLIC_URL set, the platform gives it whole)",
};

/** Lines for a webhook: each forge and its URL; a hint on stderr when a URL is the CLI's guess. */
function printEndpoints(c: Clients, webhook: Webhook): void {
  const rows = webhook.endpoints.map((e) => [e.forge, fullUrl(c.api, e.path, e.url)]);
  for (const line of table(rows)) out(line);
  if (webhook.endpoints.some((e) => !e.url)) note(ADDRESS_NOTE.webhook);
}

const when = (t: Parameters<typeof timestampDate>[0] | undefined) =>
  t ? timestampDate(t).toISOString() : undefined;

function describeDeployHook(name: string, hook: DeployHook | undefined): string {
  if (!hook?.exists) return `${name} has no deploy hook: obiente hooks deploy ${name} makes one`;
  return `${name} has a deploy hook ${hook.prefix}…, made ${when(hook.createdAt) ?? "-"}, last used ${when(hook.lastUsedAt) ?? "never"}`;
}

export function registerHooksCommands(program: Command) {
  const hooks = commandGroup(
    program,
    "hooks",
    "the URLs that deploy: a project's webhook for forges, a deployment's deploy hook",
  );

  hooks
    .command("show <project>")
    .description(
      "the project's webhook URL per forge, and whether its secret is set (never the secret)",
    )
    .option(...ORG_PROJECT)
    .option(
      "--json",
      "print JSON ({projectId, configured, createdAt, endpoints: [{forge, path, url}]})",
    )
    .action(async (ref: string, o: { org?: string; json?: boolean }) => {
      const c = await clients();
      const project = await findProject(c, ref, o.org);
      if (!project) throw new CliError(`no project "${ref}"`, EXIT.notFound);
      const { webhook } = await c.projects.getWebhook({ projectId: project.id });
      if (!webhook) throw new CliError("the API returned no webhook");
      if (o.json) return printJson(webhookJson(webhook, (e) => fullUrl(c.api, e.path, e.url)));
      out(
        webhook.configured
          ? `webhook of ${project.name}: secret set ${when(webhook.createdAt) ?? ""}`.trimEnd()
          : `webhook of ${project.name}: no secret yet, deliveries are refused until one is set (obiente hooks rotate ${project.slug})`,
      );
      printEndpoints(c, webhook);
    });

  hooks
    .command("rotate <project>")
    .description(
      "make the project's webhook secret, or replace it (the old one stops working); prints it once, with the URLs (owners and admins)",
    )
    .option(...ORG_PROJECT)
    .option("--json", "print JSON (as hooks show, and secret)")
    .action(async (ref: string, o: { org?: string; json?: boolean }) => {
      const c = await clients();
      const project = await findProject(c, ref, o.org);
      if (!project) throw new CliError(`no project "${ref}"`, EXIT.notFound);
      const { webhook, secret } = await c.projects.rotateWebhookSecret({ projectId: project.id });
      if (!webhook || !secret) throw new CliError("the API returned no webhook secret");
      if (o.json) {
        return printJson({
          ...webhookJson(webhook, (e) => fullUrl(c.api, e.path, e.url)),
          secret,
        });
      }
      out(`secret: ${secret}`);
      note(
        "this secret will not be shown again: give it to the forge now, with the URL for it (content type JSON); deliveries signed with an earlier secret are refused from now on",
      );
      printEndpoints(c, webhook);
    });

  hooks
    .command("deploy <deployment>")
    .description(
      "make the deployment's deploy hook, or replace it (the old URL stops working), and print its URL once: a POST to it redeploys the branch's head",
    )
    .option(...ORG_DEPLOYMENT)
    .option("--show", "only say whether it has one, its prefix, when it was made and last used")
    .option(
      "--json",
      "print JSON ({deploymentId, exists, prefix, createdAt, lastUsedAt}, and url when made)",
    )
    .action(async (ref: string, o: { org?: string; show?: boolean; json?: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      if (o.show) {
        const { deployHook } = await c.deployments.getDeployHook({ deploymentId: d.id });
        if (o.json) return printJson(deployHookJson(d.id, deployHook));
        return out(describeDeployHook(d.name, deployHook));
      }
      const made = await c.deployments.rotateDeployHook({ deploymentId: d.id });
      const url = fullUrl(c.api, made.path, made.url);
      if (o.json) return printJson({ ...deployHookJson(d.id, made.deployHook), url });
      out(url);
      note(
        `a POST to this URL redeploys the head of ${d.name}'s branch (${d.branch}); it will not be shown again, and an earlier deploy hook of ${d.name} no longer works`,
      );
      if (!made.url) note(ADDRESS_NOTE.deployHook);
    });

  hooks
    .command("deploy-rm <deployment>")
    .description("remove the deployment's deploy hook: its URL stops working")
    .option(...ORG_DEPLOYMENT)
    .action(async (ref: string, o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      await c.deployments.deleteDeployHook({ deploymentId: d.id });
      out(`removed the deploy hook of ${d.name}: its URL no longer works`);
    });
}

/**
 * `obiente domains ls|add|rm <deployment>`: a deployment's custom domains, beside the default
 * one the platform gives it. (Other `domains` subcommands join the same group: see
 * command-group.ts.)
 */
import type { Command } from "commander";
import { commandGroup } from "./command-group.js";
import { domainJson } from "./json-shapes.js";
import { clients, findDeployment } from "./lookup.js";
import { out, printJson } from "./output.js";

const ORG = ["--org <id|slug>", "the organization, to find a deployment by name"] as const;

export function registerDomainCommands(program: Command) {
  const domains = commandGroup(program, "domains", "a deployment's domains");

  domains
    .command("ls <deployment>", { isDefault: true })
    .description("list the deployment's domains (the default one first)")
    .option(...ORG)
    .option("--json", "print JSON (an array of domains)")
    .action(async (ref: string, o: { org?: string; json?: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { domains: list } = await c.deployments.listDomains({ deploymentId: d.id });
      if (o.json) return printJson(list.map(domainJson));
      for (const domain of list) out(`${domain.domain}${domain.isDefault ? "  (default)" : ""}`);
    });

  domains
    .command("add <deployment> <domain>")
    .description("route a domain of yours to the deployment")
    .option(...ORG)
    .action(async (ref: string, domain: string, o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { domain: added } = await c.deployments.addDomain({ deploymentId: d.id, domain });
      out(`added ${added?.domain ?? domain} to ${d.name}`);
    });

  domains
    .command("rm <deployment> <domain>")
    .description("stop routing a custom domain to the deployment")
    .option(...ORG)
    .action(async (ref: string, domain: string, o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      await c.deployments.removeDomain({ deploymentId: d.id, domain });
      out(`removed ${domain} from ${d.name}`);
    });
}

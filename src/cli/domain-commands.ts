/**
 * `obiente domains ls|add|verify|rm <deployment> …`: a deployment's custom domains, beside the
 * default one the platform gives it. A custom domain is pending until its organization proves it
 * owns it with a DNS TXT record; `add` and `ls` say which record, `verify` looks it up. (Other
 * `domains` subcommands join the same group: see command-group.ts.)
 */
import type { Command } from "commander";
import { type Domain, DomainStatus } from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { commandGroup } from "./command-group.js";
import { domainJson } from "./json-shapes.js";
import { clients, findDeployment } from "./lookup.js";
import { out, printJson } from "./output.js";

const ORG = ["--org <id|slug>", "the organization, to find a deployment by name"] as const;

export function domainStatusName(status: DomainStatus): string {
  return DomainStatus[status]?.toLowerCase() ?? "unknown";
}

/** One domain: its name and status, then, when not verified, the record to add. */
export function formatDomain(d: Domain): string[] {
  const lines = [
    `${d.domain}  ${d.isDefault ? "default" : domainStatusName(d.status)}${d.statusMessage ? `  (${d.statusMessage})` : ""}`,
  ];
  if (!d.isDefault && d.status !== DomainStatus.VERIFIED && d.verification) {
    lines.push(
      `  to verify: add a ${d.verification.recordType} record`,
      `    name:  ${d.verification.recordName}`,
      `    value: ${d.verification.recordValue}`,
      `  then run: obiente domains verify <deployment> ${d.domain}`,
    );
  }
  return lines;
}

export function registerDomainCommands(program: Command) {
  const domains = commandGroup(
    program,
    "domains",
    "a deployment's domains; custom ones are routed once verified through DNS",
  );

  domains
    .command("ls <deployment>", { isDefault: true })
    .description("the deployment's domains (the default one first), how to verify pending ones")
    .option(...ORG)
    .option("--json", "print JSON (an array of domains)")
    .action(async (ref: string, o: { org?: string; json?: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { domains: list } = await c.deployments.listDomains({ deploymentId: d.id });
      if (o.json) return printJson(list.map(domainJson));
      for (const domain of list) for (const line of formatDomain(domain)) out(line);
    });

  domains
    .command("add <deployment> <domain>")
    .description("add a domain of yours (routed once verified)")
    .option(...ORG)
    .action(async (ref: string, name: string, o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { domain } = await c.deployments.addDomain({ deploymentId: d.id, domain: name });
      if (domain) for (const line of formatDomain(domain)) out(line);
    });

  domains
    .command("verify <deployment> <domain>")
    .description("look the domain's TXT record up now; verified, it is routed")
    .option(...ORG)
    .action(async (ref: string, name: string, o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { domain } = await c.deployments.verifyDomain({ deploymentId: d.id, domain: name });
      if (domain) for (const line of formatDomain(domain)) out(line);
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

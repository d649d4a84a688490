/**
 * The CLI's domain commands: `domains ls|add|verify|rm <deployment> …`. A custom domain is
 * pending until its organization proves it owns it with a DNS TXT record; `add` and `ls` say
 * which record, `verify` looks it up.
 */
import { createClient } from "@connectrpc/connect";
import type { Command } from "commander";
import {
  DeploymentService,
  type Domain,
  DomainStatus,
} from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { transportFor } from "./client.js";
import { loadCredentials } from "./credentials.js";
import { resolveDeployment } from "./deploy-commands.js";

const out = (line: string) => process.stdout.write(`${line}\n`);

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

async function deploymentsClient() {
  return createClient(DeploymentService, transportFor(await loadCredentials()));
}

export function registerDomainCommands(program: Command) {
  const domains = program
    .command("domains")
    .description("a deployment's domains; custom ones are routed once verified through DNS");
  const org = ["--org <id|slug>", "the organization, to find a deployment by name"] as const;
  domains
    .command("ls <deployment>")
    .description("the deployment's domains, their status, and how to verify the pending ones")
    .option(...org)
    .action(async (ref: string, o: { org?: string }) => {
      const d = await resolveDeployment(ref, o.org);
      const { domains: all } = await (await deploymentsClient()).listDomains({
        deploymentId: d.id,
      });
      for (const domain of all) for (const line of formatDomain(domain)) out(line);
    });
  domains
    .command("add <deployment> <domain>")
    .description("add a custom domain (pending until verified)")
    .option(...org)
    .action(async (ref: string, name: string, o: { org?: string }) => {
      const d = await resolveDeployment(ref, o.org);
      const { domain } = await (await deploymentsClient()).addDomain({
        deploymentId: d.id,
        domain: name,
      });
      if (domain) for (const line of formatDomain(domain)) out(line);
    });
  domains
    .command("verify <deployment> <domain>")
    .description("look the domain's TXT record up now; verified, it is routed")
    .option(...org)
    .action(async (ref: string, name: string, o: { org?: string }) => {
      const d = await resolveDeployment(ref, o.org);
      const { domain } = await (await deploymentsClient()).verifyDomain({
        deploymentId: d.id,
        domain: name,
      });
      if (domain) for (const line of formatDomain(domain)) out(line);
    });
  domains
    .command("rm <deployment> <domain>")
    .description("remove a custom domain")
    .option(...org)
    .action(async (ref: string, name: string, o: { org?: string }) => {
      const d = await resolveDeployment(ref, o.org);
      await (await deploymentsClient()).removeDomain({ deploymentId: d.id, domain: name });
      out(`removed ${name}`);
    });
}

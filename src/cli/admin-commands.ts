/**
 * The CLI's commands for platform administrators: `quotas get|set <org>` (anyone may read their
 * own organization's quotas) and `users link <user> --issuer … --subject …`, which lets an OIDC
 * identity sign in as an existing account.
 */
import { createClient } from "@connectrpc/connect";
import type { Command } from "commander";
import { AuthService } from "../gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  type GetQuotasResponse,
  OrganizationService,
} from "../gen/obiente/cloud/organization/v1/organization_pb.js";
import { transportFor } from "./client.js";
import { loadCredentials } from "./credentials.js";

const out = (line: string) => process.stdout.write(`${line}\n`);

async function clients() {
  const transport = transportFor(await loadCredentials());
  return {
    auth: createClient(AuthService, transport),
    organizations: createClient(OrganizationService, transport),
  };
}

/** `quotas get`: one line per quota, the use beside the limit, where the limit comes from. */
export function formatQuotas(
  q: Pick<GetQuotasResponse, "organizationId" | "organizationSlug" | "quotas">,
): string[] {
  const rows = q.quotas.map((quota) => [
    quota.name,
    quota.name === "log_tail_lines" ? "-" : String(quota.used),
    String(quota.limit),
    quota.overridden ? "set for this organization" : "platform default",
  ]);
  const header = ["QUOTA", "USED", "LIMIT", "FROM"];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  return [
    `${q.organizationSlug} (${q.organizationId})`,
    ...all.map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    ),
  ];
}

/** `quotas set` arguments: NAME=LIMIT, or NAME=default to go back to the platform's default. */
export function parseQuotaSettings(args: readonly string[]): {
  limits: Record<string, bigint>;
  reset: string[];
} {
  if (args.length === 0) {
    throw new Error("give NAME=LIMIT (or NAME=default), e.g. deployments=20 cpu_millicores=8000");
  }
  const limits: Record<string, bigint> = {};
  const reset: string[] = [];
  for (const arg of args) {
    const at = arg.indexOf("=");
    const name = arg.slice(0, at).trim().replaceAll("-", "_");
    const value = arg.slice(at + 1).trim();
    if (at <= 0 || value === "") throw new Error(`expected NAME=LIMIT, got "${arg}"`);
    if (value === "default") reset.push(name);
    else if (/^\d+$/.test(value)) limits[name] = BigInt(value);
    else throw new Error(`${name}: expected a whole number or "default", got "${value}"`);
  }
  return { limits, reset };
}

export function registerAdminCommands(program: Command) {
  const quotas = program
    .command("quotas")
    .description("an organization's quotas (setting them: platform administrators)");
  quotas
    .command("get <org>")
    .description("each quota's limit and what the organization uses now (org: id or slug)")
    .action(async (org: string) => {
      const c = await clients();
      for (const line of formatQuotas(await c.organizations.getQuotas({ organization: org })))
        out(line);
    });
  quotas
    .command("set <org> <settings...>")
    .description(
      "set limits for one organization: NAME=LIMIT, or NAME=default for the platform's (QUOTA_* variables)",
    )
    .action(async (org: string, settings: string[]) => {
      const c = await clients();
      const { limits, reset } = parseQuotaSettings(settings);
      const q = await c.organizations.setQuotas({ organization: org, limits, reset });
      for (const line of formatQuotas(q)) out(line);
    });

  const users = program.command("users").description("user accounts (platform administrators)");
  users
    .command("link <user>")
    .description(
      "let an OIDC identity sign in as an existing user (user: id or email); the issuer and subject are the tokens' iss and sub",
    )
    .requiredOption("--issuer <url>", "the OIDC issuer, as in the tokens' iss claim")
    .requiredOption("--subject <sub>", "the identity's subject, as in the tokens' sub claim")
    .option("--move", "take the identity from the user who has it now")
    .action(async (user: string, o: { issuer: string; subject: string; move?: boolean }) => {
      const c = await clients();
      const linked = await c.auth.linkIdentity({
        user,
        issuer: o.issuer,
        subject: o.subject,
        move: o.move ?? false,
      });
      out(
        `${linked.user?.email} (${linked.user?.id}) now signs in as ${o.issuer} ${o.subject}${linked.movedFromUserId ? `; taken from user ${linked.movedFromUserId}` : ""}`,
      );
    });
}

/** The CLI's client commands: they talk to an API over the Connect protocol with a saved token. */

import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Command } from "commander";
import { AuthService } from "../gen/obiente/cloud/auth/v1/auth_pb.js";
import { OrganizationService, Role } from "../gen/obiente/cloud/organization/v1/organization_pb.js";
import { type Credentials, loadCredentials, saveCredentials } from "./credentials.js";
import { organizationJson } from "./json-shapes.js";
import { printJson } from "./output.js";
import { terminalSafe } from "./terminal-text.js";

export function transportFor(credentials: Credentials): Transport {
  return createConnectTransport({
    baseUrl: credentials.api,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${credentials.token}`);
        return next(req);
      },
    ],
  });
}

async function client<S extends DescService>(service: S): Promise<Client<S>> {
  return createClient(service, transportFor(await loadCredentials()));
}

/** Every line holds text from the server: printed without its control sequences. */
const out = (line: string) => process.stdout.write(`${terminalSafe(line)}\n`);

export function registerClientCommands(program: Command) {
  program
    .command("login")
    .description("save the API address and a token (obt_…) for the other commands")
    .requiredOption("--token <token>", "an API token")
    .option("--api <url>", "the API's address", process.env.OBIENTE_API ?? "http://127.0.0.1:3000")
    .action(async (options: { token: string; api: string }) => {
      const credentials = { api: options.api.replace(/\/+$/, ""), token: options.token };
      const me = await createClient(AuthService, transportFor(credentials)).whoAmI({});
      const file = await saveCredentials(credentials);
      out(`logged in to ${credentials.api} as ${me.user?.email} (saved in ${file})`);
    });

  program
    .command("whoami")
    .description("show who the saved token acts as, and their organizations")
    .action(async () => {
      const me = await (await client(AuthService)).whoAmI({});
      out(
        `${me.user?.email}${me.user?.platformAdmin ? " (platform admin)" : ""} via ${me.authMethod}`,
      );
      if (me.user?.oidcSubject)
        out(`  OIDC identity: ${me.user.oidcIssuer} ${me.user.oidcSubject}`);
      for (const m of me.memberships)
        out(`  ${m.organizationSlug}  ${Role[m.role].toLowerCase()}  ${m.organizationId}`);
    });

  program
    .command("orgs")
    .description("list your organizations")
    .option("--json", "print JSON (an array of organizations)")
    .action(async (o: { json?: boolean }) => {
      const { organizations } = await (await client(OrganizationService)).listOrganizations({});
      if (o.json) return printJson(organizations.map(organizationJson));
      for (const o of organizations)
        out(`${o.id}  ${o.slug}  ${o.name}  (${Role[o.role].toLowerCase()})`);
    });
}

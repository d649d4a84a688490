/**
 * `obiente env ls|set|rm <deployment>`: a deployment's env vars. Values are shown only with
 * --reveal (and only to developers and above: the server gives viewers none). They apply to
 * containers started from then on: `obiente restart` or a redeploy.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { commandGroup } from "./command-group.js";
import { usage } from "./deploy-commands.js";
import { parseDotenv, parsePairs } from "./dotenv.js";
import { CliError, EXIT } from "./exit-codes.js";
import { envVarJson } from "./json-shapes.js";
import { clients, findDeployment } from "./lookup.js";
import { note, out, printJson } from "./output.js";

const ORG = ["--org <id|slug>", "the organization, to find a deployment by name"] as const;

export function registerEnvCommands(program: Command) {
  const env = commandGroup(program, "env", "a deployment's env vars");

  env
    .command("ls <deployment>", { isDefault: true })
    .description("list the env vars (values hidden unless --reveal)")
    .option(...ORG)
    .option("--reveal", "show the values")
    .option("--json", "print JSON (an array of {key, value}; value null unless --reveal)")
    .action(async (ref: string, o: { org?: string; reveal?: boolean; json?: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const { envVars } = await c.deployments.listEnvVars({ deploymentId: d.id });
      const reveal = o.reveal === true;
      if (o.json) return printJson(envVars.map((e) => envVarJson(e, reveal)));
      if (envVars.length === 0) return out("no env vars");
      for (const e of envVars) out(reveal ? `${e.key}=${e.value}` : e.key);
      if (!reveal) note("(values hidden: --reveal shows them)");
    });

  env
    .command("set <deployment> [pairs...]")
    .description("set env vars: KEY=VALUE arguments and/or a .env file (others are kept)")
    .option(...ORG)
    .option("--from-file <path>", "read KEY=VALUE lines from a .env file (the arguments win)")
    .action(async (ref: string, pairs: string[], o: { org?: string; fromFile?: string }) => {
      let vars: Record<string, string> = {};
      if (o.fromFile !== undefined) {
        const text = await readFile(o.fromFile, "utf8").catch((error: NodeJS.ErrnoException) => {
          throw new CliError(
            `cannot read ${o.fromFile}: ${error.code ?? error.message}`,
            EXIT.usage,
          );
        });
        vars = usage(() => parseDotenv(text));
      }
      Object.assign(
        vars,
        usage(() => parsePairs(pairs)),
      );
      const keys = Object.keys(vars);
      if (keys.length === 0) {
        throw new CliError("give KEY=VALUE pairs or --from-file", EXIT.usage);
      }
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      await c.deployments.setEnvVars({ deploymentId: d.id, envVars: vars });
      out(`set ${keys.sort().join(", ")} on ${d.name}`);
      note(`(they apply from the next start: obiente restart ${d.name}, or a redeploy)`);
    });

  env
    .command("rm <deployment> <keys...>")
    .description("remove env vars")
    .option(...ORG)
    .action(async (ref: string, keys: string[], o: { org?: string }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      for (const key of keys) await c.deployments.deleteEnvVar({ deploymentId: d.id, key });
      out(`removed ${keys.join(", ")} from ${d.name}`);
      note(`(this applies from the next start: obiente restart ${d.name}, or a redeploy)`);
    });
}

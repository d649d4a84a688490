/**
 * `obiente env ls|set|rm <deployment> [--preview]`: a deployment's env vars, or with --preview
 * those only its previews get (over its own). Values are shown only with --reveal (and only to
 * developers and above: the server gives viewers none). They apply to containers started from
 * then on: `obiente restart` or a redeploy (for previews: their next push).
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
const PREVIEW = [
  "--preview",
  "the variables only the deployment's previews get (over its own), instead of its own",
] as const;

/** How a command names the variables it acted on: the deployment's, or its previews'. */
const whose = (name: string, preview: boolean) => (preview ? `${name}'s previews` : name);
const appliesWhen = (name: string, preview: boolean) =>
  preview
    ? "from each preview's next start: a push to its branch, or obiente restart <preview>"
    : `from the next start: obiente restart ${name}, or a redeploy`;

export function registerEnvCommands(program: Command) {
  const env = commandGroup(program, "env", "a deployment's env vars");

  env
    .command("ls <deployment>", { isDefault: true })
    .description("list the env vars (values hidden unless --reveal)")
    .option(...ORG)
    .option(...PREVIEW)
    .option("--reveal", "show the values")
    .option("--json", "print JSON (an array of {key, value}; value null unless --reveal)")
    .action(
      async (
        ref: string,
        o: { org?: string; preview?: boolean; reveal?: boolean; json?: boolean },
      ) => {
        const c = await clients();
        const d = await findDeployment(c, ref, o.org);
        const preview = o.preview === true;
        const { envVars } = await c.deployments.listEnvVars({ deploymentId: d.id, preview });
        const reveal = o.reveal === true;
        if (o.json) return printJson(envVars.map((e) => envVarJson(e, reveal)));
        if (envVars.length === 0) return out(preview ? "no preview env vars" : "no env vars");
        for (const e of envVars) out(reveal ? `${e.key}=${e.value}` : e.key);
        if (!reveal) note("(values hidden: --reveal shows them)");
      },
    );

  env
    .command("set <deployment> [pairs...]")
    .description("set env vars: KEY=VALUE arguments and/or a .env file (others are kept)")
    .option(...ORG)
    .option(...PREVIEW)
    .option("--from-file <path>", "read KEY=VALUE lines from a .env file (the arguments win)")
    .action(
      async (
        ref: string,
        pairs: string[],
        o: { org?: string; preview?: boolean; fromFile?: string },
      ) => {
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
        const preview = o.preview === true;
        await c.deployments.setEnvVars({ deploymentId: d.id, envVars: vars, preview });
        out(`set ${keys.sort().join(", ")} on ${whose(d.name, preview)}`);
        note(`(they apply ${appliesWhen(d.name, preview)})`);
      },
    );

  env
    .command("rm <deployment> <keys...>")
    .description("remove env vars")
    .option(...ORG)
    .option(...PREVIEW)
    .action(async (ref: string, keys: string[], o: { org?: string; preview?: boolean }) => {
      const c = await clients();
      const d = await findDeployment(c, ref, o.org);
      const preview = o.preview === true;
      for (const key of keys) {
        await c.deployments.deleteEnvVar({ deploymentId: d.id, key, preview });
      }
      out(`removed ${keys.join(", ")} from ${whose(d.name, preview)}`);
      note(`(this applies ${appliesWhen(d.name, preview)})`);
    });
}

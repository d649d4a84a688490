/**
 * `obiente projects [ls]` and `obiente projects key <project> [--rotate]`: the project's deploy
 * key, the public key to add to a forge (as a read-only deploy key) so that the platform can
 * clone the project's ssh repositories.
 */
import type { Command } from "commander";
import { commandGroup } from "./command-group.js";
import { CliError, EXIT } from "./exit-codes.js";
import { deployKeyJson, projectJson } from "./json-shapes.js";
import { clients, findProject, organizationId } from "./lookup.js";
import { note, out, printJson } from "./output.js";

export function registerProjectCommands(program: Command) {
  const projects = commandGroup(program, "projects", "the projects of an organization");

  projects
    .command("ls", { isDefault: true })
    .description("list the projects of an organization")
    .option("--org <id|slug>", "the organization (default: your first)")
    .option("--json", "print JSON (an array of projects)")
    .action(async (o: { org?: string; json?: boolean }) => {
      const c = await clients();
      const { projects: list } = await c.projects.listProjects({
        organizationId: await organizationId(c.auth, o.org),
      });
      if (o.json) return printJson(list.map(projectJson));
      for (const p of list) out(`${p.id}  ${p.slug}  ${p.name}`);
    });

  projects
    .command("key <project>")
    .description(
      "the project's deploy key: add it to your forge so that ssh repositories clone (--rotate replaces it; owners and admins)",
    )
    .option("--org <id|slug>", "the organization, to find a project by name")
    .option("--rotate", "replace the key with a new one (the old one stops working)")
    .option("--json", "print JSON ({projectId, publicKey, fingerprint, createdAt})")
    .action(async (ref: string, o: { org?: string; rotate?: boolean; json?: boolean }) => {
      const c = await clients();
      const project = await findProject(c, ref, o.org);
      if (!project) throw new CliError(`no project "${ref}"`, EXIT.notFound);
      const { deployKey } = o.rotate
        ? await c.projects.rotateDeployKey({ projectId: project.id })
        : await c.projects.getDeployKey({ projectId: project.id });
      if (!deployKey) throw new CliError("the API returned no deploy key");
      if (o.json) return printJson(deployKeyJson(deployKey));
      out(deployKey.publicKey);
      note(
        `${o.rotate ? "a new key: the old one no longer clones. " : ""}${deployKey.fingerprint}; add it to the repository's deploy keys (read-only) on your forge`,
      );
    });
}

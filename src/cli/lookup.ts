/**
 * What the client commands share: the API's clients with the saved token, and finding an
 * organization, a project or a deployment (or a preview) from what a person types (an id, a slug
 * or a name).
 */
import { type Client, createClient } from "@connectrpc/connect";
import { AuthService } from "../gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  type Deployment,
  DeploymentService,
} from "../gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../gen/obiente/cloud/organization/v1/organization_pb.js";
import { type Project, ProjectService } from "../gen/obiente/cloud/project/v1/project_pb.js";
import { transportFor } from "./client.js";
import { loadCredentials } from "./credentials.js";
import { CliError, EXIT } from "./exit-codes.js";

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function clients() {
  const credentials = await loadCredentials();
  const transport = transportFor(credentials);
  return {
    /** The API's address as this CLI reaches it (OBIENTE_API, or the saved login). */
    api: credentials.api,
    auth: createClient(AuthService, transport),
    organizations: createClient(OrganizationService, transport),
    projects: createClient(ProjectService, transport),
    deployments: createClient(DeploymentService, transport),
  };
}

export type Clients = Awaited<ReturnType<typeof clients>>;

/** The organization to act in: --org (id or slug), or the caller's only (or first) organization. */
export async function organizationId(
  auth: Client<typeof AuthService>,
  org: string | undefined,
): Promise<string> {
  const me = await auth.whoAmI({});
  if (org) {
    const match = me.memberships.find(
      (m) => m.organizationId === org || m.organizationSlug === org,
    );
    if (!match)
      throw new CliError(`you are not a member of an organization "${org}"`, EXIT.notFound);
    return match.organizationId;
  }
  const first = me.memberships[0];
  if (!first) throw new CliError("you are not a member of any organization", EXIT.notFound);
  return first.organizationId;
}

/**
 * A deployment by id, or by name within the organization. Previews are found too: by id, or by
 * their name (`<branch>--<deployment>`), which ListDeployments does not list.
 */
export async function findDeployment(
  c: Clients,
  ref: string,
  org: string | undefined,
): Promise<Deployment> {
  if (UUID.test(ref)) {
    const { deployment } = await c.deployments.getDeployment({ id: ref });
    if (deployment) return deployment;
  }
  const { deployments } = await c.deployments.listDeployments({
    organizationId: await organizationId(c.auth, org),
  });
  let matches = deployments.filter((d) => d.name === ref);
  // Every preview's name has `--` between its branch and its deployment.
  if (matches.length === 0 && ref.includes("--")) {
    const previews = await Promise.all(
      deployments.map(
        async (d) => (await c.deployments.listPreviews({ deploymentId: d.id })).previews,
      ),
    );
    matches = previews.flat().filter((p) => p.name === ref);
  }
  if (matches.length === 0) throw new CliError(`no deployment named "${ref}"`, EXIT.notFound);
  if (matches.length > 1) {
    throw new CliError(`several deployments are named "${ref}": use the id`, EXIT.usage);
  }
  return matches[0] as Deployment;
}

/** A project by id, slug or name within the organization. */
export async function findProject(
  c: Clients,
  ref: string,
  org: string | undefined,
): Promise<Project | undefined> {
  if (UUID.test(ref)) {
    const { project } = await c.projects.getProject({ id: ref });
    if (project) return project;
  }
  const { projects } = await c.projects.listProjects({
    organizationId: await organizationId(c.auth, org),
  });
  return (
    projects.find((p) => p.slug === ref) ??
    projects.find((p) => p.name === ref) ??
    projects.find((p) => p.id === ref)
  );
}

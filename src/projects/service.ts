/** Projects: CRUD inside an organization, and each project's deploy key. */
import { randomUUID } from "node:crypto";
import { and, asc, count, eq } from "drizzle-orm";
import { authorize } from "../access/index.js";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { cachedForOrganization, invalidateOrganization } from "../core/index.js";
import type { SecretBox } from "../crypto/index.js";
import {
  alreadyExists,
  failedPrecondition,
  notFound,
  validation as valid,
} from "../domain/index.js";
import type { Cache } from "../platform/index.js";
import { type Db, deployments, isUniqueViolation, projects } from "../store/index.js";
import { type DeployKey, ensureDeployKey, replaceDeployKey } from "./deploy-keys.js";

export type Project = typeof projects.$inferSelect;

/**
 * What ProjectService uses: the database, the response cache it reads through and drops, the
 * secret box that seals deploy keys, the clock.
 */
export interface ProjectServiceDeps {
  readonly db: Db;
  readonly cache: Cache;
  readonly secrets: SecretBox;
  readonly now: () => Date;
}

export class ProjectService {
  constructor(private readonly deps: ProjectServiceDeps) {}

  async create(
    principal: Principal,
    input: { organizationId: string; name: string; description?: string },
  ): Promise<Project> {
    const organizationId = valid.uuid("organization_id", input.organizationId);
    await authorize(this.deps.db, principal, organizationId, "write");
    const name = valid.displayName("name", input.name);
    const description = valid.description(input.description ?? "");
    const slug = valid.slugify(name);
    if (slug === "") throw valid.noSlug(name);
    const id = randomUUID();
    try {
      const row = await this.deps.db.transaction(async (tx) => {
        const [project] = await tx
          .insert(projects)
          .values({ id, organizationId, name, slug, description })
          .returning();
        await ensureDeployKey(tx, this.deps.secrets, { id, slug });
        await recordAudit(tx, {
          principal,
          organizationId,
          action: "project.create",
          resourceType: "project",
          resourceId: id,
          details: { name },
        });
        return project;
      });
      if (!row) throw new Error("insert returned no row");
      await invalidateOrganization(this.deps.cache, organizationId);
      return row;
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw alreadyExists(`a project named "${slug}" already exists in this organization`);
      }
      throw error;
    }
  }

  /** Loads a project the caller may act on; NotFound when it is not theirs to see. */
  async load(
    principal: Principal,
    id: string,
    action: "read" | "write" | "manage",
  ): Promise<Project> {
    const projectId = valid.uuid("id", id);
    const [row] = await this.deps.db.select().from(projects).where(eq(projects.id, projectId));
    if (!row) throw notFound("project");
    await authorize(this.deps.db, principal, row.organizationId, action, "project");
    return row;
  }

  get(principal: Principal, id: string): Promise<Project> {
    return this.load(principal, id, "read");
  }

  /** The project's deploy key (its public half): every member may see it, to give it to a forge. */
  async deployKey(principal: Principal, id: string): Promise<DeployKey> {
    const project = await this.load(principal, valid.uuid("project_id", id), "read");
    return ensureDeployKey(this.deps.db, this.deps.secrets, project);
  }

  /**
   * Replaces the project's deploy key; the old one stops cloning at once. Owners and admins only:
   * the forges must be given the new key, or the project's ssh builds fail.
   */
  async rotateDeployKey(principal: Principal, id: string): Promise<DeployKey> {
    const project = await this.load(principal, valid.uuid("project_id", id), "read");
    await authorize(this.deps.db, principal, project.organizationId, "manage", "project");
    return this.deps.db.transaction(async (tx) => {
      const key = await replaceDeployKey(tx, this.deps.secrets, project, this.deps.now());
      await recordAudit(tx, {
        principal,
        organizationId: project.organizationId,
        action: "project.deploy_key.rotate",
        resourceType: "project",
        resourceId: project.id,
        details: { fingerprint: key.fingerprint },
      });
      return key;
    });
  }

  async list(principal: Principal, organizationId: string): Promise<Project[]> {
    const orgId = valid.uuid("organization_id", organizationId);
    await authorize(this.deps.db, principal, orgId, "read");
    return cachedForOrganization(this.deps.cache, orgId, "projects", () =>
      this.deps.db
        .select()
        .from(projects)
        .where(eq(projects.organizationId, orgId))
        .orderBy(asc(projects.name)),
    );
  }

  async update(
    principal: Principal,
    input: { id: string; name?: string | undefined; description?: string | undefined },
  ): Promise<Project> {
    const project = await this.load(principal, input.id, "write");
    const name = input.name === undefined ? undefined : valid.displayName("name", input.name);
    const description =
      input.description === undefined ? undefined : valid.description(input.description);
    const row = await this.deps.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(projects)
        .set({
          ...(name === undefined ? {} : { name }),
          ...(description === undefined ? {} : { description }),
          updatedAt: this.deps.now(),
        })
        .where(eq(projects.id, project.id))
        .returning();
      await recordAudit(tx, {
        principal,
        organizationId: project.organizationId,
        action: "project.update",
        resourceType: "project",
        resourceId: project.id,
        details: { name, description },
      });
      return updated;
    });
    if (!row) throw notFound("project");
    await invalidateOrganization(this.deps.cache, project.organizationId);
    return row;
  }

  async delete(principal: Principal, id: string): Promise<void> {
    const project = await this.load(principal, id, "write");
    await this.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .select({ n: count() })
        .from(deployments)
        .where(eq(deployments.projectId, project.id));
      if ((row?.n ?? 0) > 0) {
        throw failedPrecondition("the project still has deployments: delete them first");
      }
      await tx
        .delete(projects)
        .where(
          and(eq(projects.id, project.id), eq(projects.organizationId, project.organizationId)),
        );
      await recordAudit(tx, {
        principal,
        organizationId: project.organizationId,
        action: "project.delete",
        resourceType: "project",
        resourceId: project.id,
      });
    });
    await invalidateOrganization(this.deps.cache, project.organizationId);
  }
}

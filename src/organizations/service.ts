/**
 * Organizations and their members. Every method takes the authenticated caller and checks their
 * role (src/access); every change writes an audit row in the same transaction.
 */
import { randomUUID } from "node:crypto";
import { and, asc, count, eq, sql } from "drizzle-orm";
import { atLeast, authorize, type RoleName } from "../access/index.js";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { invalidateOrganization } from "../core/index.js";
import {
  alreadyExists,
  failedPrecondition,
  notFound,
  permissionDenied,
  validation as valid,
} from "../domain/index.js";
import type { Cache } from "../platform/index.js";
import {
  type Db,
  deployments,
  isUniqueViolation,
  memberships,
  organizations,
  users,
} from "../store/index.js";

export type Organization = typeof organizations.$inferSelect & { role: RoleName };
export interface Member {
  userId: string;
  email: string;
  displayName: string;
  role: RoleName;
  createdAt: Date;
  /** Invited by email, never signed in: the first OIDC sign-in with that email takes it. */
  invited: boolean;
}

/** What OrganizationService uses: the database, the response cache it drops, the clock. */
export interface OrganizationServiceDeps {
  readonly db: Db;
  /** The API response cache, dropped for an organization after each of its writes. */
  readonly cache: Cache;
  readonly now: () => Date;
}

export class OrganizationService {
  constructor(private readonly deps: OrganizationServiceDeps) {}

  async create(
    principal: Principal,
    input: { name: string; slug?: string },
  ): Promise<Organization> {
    const name = valid.displayName("name", input.name);
    const given = input.slug ? valid.slug("slug", input.slug) : undefined;
    // A derived slug can be taken between the check and the insert by a concurrent create:
    // then another one is derived. A slug the caller chose is theirs to change.
    for (let attempt = 1; ; attempt++) {
      const slug = given ?? (await this.freeSlug(name, attempt > 1));
      try {
        return await this.insertOrganization(principal, name, slug);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        if (given === undefined && attempt < 3) continue;
        throw alreadyExists(`an organization with slug "${slug}" already exists`);
      }
    }
  }

  private async insertOrganization(
    principal: Principal,
    name: string,
    slug: string,
  ): Promise<Organization> {
    const id = randomUUID();
    const row = await this.deps.db.transaction(async (tx) => {
      const [org] = await tx.insert(organizations).values({ id, name, slug }).returning();
      await tx
        .insert(memberships)
        .values({ organizationId: id, userId: principal.userId, role: "owner" });
      await recordAudit(tx, {
        principal,
        organizationId: id,
        action: "organization.create",
        resourceType: "organization",
        resourceId: id,
        details: { name, slug },
      });
      return org;
    });
    if (!row) throw new Error("insert returned no row");
    return { ...row, role: "owner" };
  }

  async get(principal: Principal, id: string): Promise<Organization> {
    const organizationId = valid.uuid("id", id);
    const role = await authorize(this.deps.db, principal, organizationId, "read");
    const [row] = await this.deps.db
      .select()
      .from(organizations)
      .where(eq(organizations.id, organizationId));
    if (!row) throw notFound("organization");
    return { ...row, role };
  }

  async list(principal: Principal): Promise<Organization[]> {
    const rows = await this.deps.db
      .select({ org: organizations, role: memberships.role })
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
      .where(eq(memberships.userId, principal.userId))
      .orderBy(asc(organizations.name));
    return rows.map((r) => ({ ...r.org, role: r.role }));
  }

  async update(
    principal: Principal,
    input: { id: string; name?: string | undefined },
  ): Promise<Organization> {
    const organizationId = valid.uuid("id", input.id);
    const role = await authorize(this.deps.db, principal, organizationId, "manage");
    const name = input.name === undefined ? undefined : valid.displayName("name", input.name);
    const row = await this.deps.db.transaction(async (tx) => {
      const [org] = await tx
        .update(organizations)
        .set({ ...(name === undefined ? {} : { name }), updatedAt: this.deps.now() })
        .where(eq(organizations.id, organizationId))
        .returning();
      await recordAudit(tx, {
        principal,
        organizationId,
        action: "organization.update",
        resourceType: "organization",
        resourceId: organizationId,
        details: { name },
      });
      return org;
    });
    if (!row) throw notFound("organization");
    await invalidateOrganization(this.deps.cache, organizationId);
    return { ...row, role };
  }

  /** Refused while deployments remain: they must be deleted first so their containers go. */
  async delete(principal: Principal, id: string): Promise<void> {
    const organizationId = valid.uuid("id", id);
    await authorize(this.deps.db, principal, organizationId, "own");
    await this.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .select({ n: count() })
        .from(deployments)
        .where(eq(deployments.organizationId, organizationId));
      if ((row?.n ?? 0) > 0) {
        throw failedPrecondition(
          "the organization still has deployments: delete them first, so that their containers are removed",
        );
      }
      await tx.delete(organizations).where(eq(organizations.id, organizationId));
      await recordAudit(tx, {
        principal,
        organizationId,
        action: "organization.delete",
        resourceType: "organization",
        resourceId: organizationId,
      });
    });
    await invalidateOrganization(this.deps.cache, organizationId);
  }

  async listMembers(principal: Principal, id: string): Promise<Member[]> {
    const organizationId = valid.uuid("organization_id", id);
    await authorize(this.deps.db, principal, organizationId, "read");
    return this.deps.db
      .select({
        userId: users.id,
        email: users.email,
        displayName: users.displayName,
        role: memberships.role,
        createdAt: memberships.createdAt,
        invited: users.invited,
      })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.organizationId, organizationId))
      .orderBy(asc(users.email));
  }

  /**
   * Adds a member by email. For an email no user has, an invitation: a user marked `invited`,
   * who has no way to sign in until the first OIDC sign-in with that email, verified by the
   * issuer, takes it (src/accounts/lookups.ts).
   */
  async addMember(
    principal: Principal,
    input: { organizationId: string; email: string; role: RoleName },
  ): Promise<Member> {
    const organizationId = valid.uuid("organization_id", input.organizationId);
    const callerRole = await authorize(this.deps.db, principal, organizationId, "manage");
    const email = valid.email(input.email);
    this.checkGrant(callerRole, input.role);
    return this.deps.db.transaction(async (tx) => {
      let [user] = await tx
        .select()
        .from(users)
        .where(sql`lower(${users.email}) = ${email}`)
        .limit(1);
      if (!user) {
        // Another request may be adding the same new email at this moment (to this or another
        // organization): then its user is the one to use.
        [user] = await tx
          .insert(users)
          .values({ id: randomUUID(), email, invited: true })
          .onConflictDoNothing()
          .returning();
        if (!user) {
          [user] = await tx
            .select()
            .from(users)
            .where(sql`lower(${users.email}) = ${email}`)
            .limit(1);
        }
      }
      if (!user) throw new Error("user insert returned no row");
      const [existing] = await tx
        .select()
        .from(memberships)
        .where(
          and(eq(memberships.organizationId, organizationId), eq(memberships.userId, user.id)),
        );
      if (existing) throw alreadyExists(`${email} is already a member (${existing.role})`);
      const [m] = await tx
        .insert(memberships)
        .values({ organizationId, userId: user.id, role: input.role })
        .onConflictDoNothing()
        .returning();
      if (!m) throw alreadyExists(`${email} is already a member`);
      await recordAudit(tx, {
        principal,
        organizationId,
        action: "member.add",
        resourceType: "member",
        resourceId: user.id,
        details: { email, role: input.role },
      });
      await invalidateOrganization(this.deps.cache, organizationId);
      return {
        userId: user.id,
        email: user.email,
        displayName: user.displayName,
        role: input.role,
        createdAt: m.createdAt,
        invited: user.invited,
      };
    });
  }

  async updateMemberRole(
    principal: Principal,
    input: { organizationId: string; userId: string; role: RoleName },
  ): Promise<Member> {
    const organizationId = valid.uuid("organization_id", input.organizationId);
    const userId = valid.uuid("user_id", input.userId);
    const callerRole = await authorize(this.deps.db, principal, organizationId, "manage");
    return this.deps.db.transaction(async (tx) => {
      const target = await this.memberFor(tx, organizationId, userId);
      // Granting or taking away ownership is an owner's act.
      this.checkGrant(callerRole, input.role);
      this.checkGrant(callerRole, target.role);
      if (target.role === "owner" && input.role !== "owner") {
        await this.keepAnOwner(tx, organizationId);
      }
      await tx
        .update(memberships)
        .set({ role: input.role })
        .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
      await recordAudit(tx, {
        principal,
        organizationId,
        action: "member.update_role",
        resourceType: "member",
        resourceId: userId,
        details: { from: target.role, to: input.role },
      });
      await invalidateOrganization(this.deps.cache, organizationId);
      return { ...target, role: input.role };
    });
  }

  async removeMember(principal: Principal, input: { organizationId: string; userId: string }) {
    const organizationId = valid.uuid("organization_id", input.organizationId);
    const userId = valid.uuid("user_id", input.userId);
    // Anyone may leave; removing someone else needs "manage".
    const callerRole = await authorize(
      this.deps.db,
      principal,
      organizationId,
      userId === principal.userId ? "read" : "manage",
    );
    await this.deps.db.transaction(async (tx) => {
      const target = await this.memberFor(tx, organizationId, userId);
      if (userId !== principal.userId) this.checkGrant(callerRole, target.role);
      if (target.role === "owner") await this.keepAnOwner(tx, organizationId);
      await tx
        .delete(memberships)
        .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
      await recordAudit(tx, {
        principal,
        organizationId,
        action: "member.remove",
        resourceType: "member",
        resourceId: userId,
        details: { role: target.role },
      });
    });
    await invalidateOrganization(this.deps.cache, organizationId);
  }

  private checkGrant(callerRole: RoleName, role: RoleName) {
    if (role === "owner" && !atLeast(callerRole, "owner")) {
      throw permissionDenied("only an owner can grant or take away the owner role");
    }
  }

  private async memberFor(
    tx: Parameters<typeof recordAudit>[0],
    organizationId: string,
    userId: string,
  ): Promise<Member> {
    const [row] = await tx
      .select({
        userId: users.id,
        email: users.email,
        displayName: users.displayName,
        role: memberships.role,
        createdAt: memberships.createdAt,
        invited: users.invited,
      })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
    if (!row) throw notFound("member");
    return row;
  }

  /** Refuses a change that would leave the organization with no owner. */
  private async keepAnOwner(tx: Parameters<typeof recordAudit>[0], organizationId: string) {
    const owners = await tx
      .select({ userId: memberships.userId })
      .from(memberships)
      .where(and(eq(memberships.organizationId, organizationId), eq(memberships.role, "owner")));
    if (owners.length <= 1) {
      throw failedPrecondition(
        "an organization needs at least one owner: make someone else owner first",
      );
    }
  }

  /**
   * A slug derived from the name, with a short suffix when it is taken (or always, with
   * `suffixed`, after a concurrent create took the one found free).
   */
  private async freeSlug(name: string, suffixed = false): Promise<string> {
    const base = valid.slugify(name) || "org";
    for (let attempt = suffixed ? 1 : 0; attempt < 5; attempt++) {
      const candidate = attempt === 0 ? base : `${base.slice(0, 33)}-${randomUUID().slice(0, 6)}`;
      const taken = await this.deps.db
        .select({ id: organizations.id })
        .from(organizations)
        .where(eq(organizations.slug, candidate))
        .limit(1);
      if (taken.length === 0) return candidate;
    }
    return `${base.slice(0, 27)}-${randomUUID().slice(0, 12)}`;
  }
}

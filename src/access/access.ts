/**
 * Authorization against the caller's organization role. A caller who is not a member of an
 * organization gets NotFound for it and for everything in it, exactly as if it did not exist,
 * so ids of other organizations reveal nothing. A member whose role is too low gets
 * PermissionDenied.
 */
import { and, eq } from "drizzle-orm";
import type { Principal } from "../auth/index.js";
import { notFound, permissionDenied } from "../domain/index.js";
import { type Db, memberships } from "../store/index.js";
import { type Action, allows, minimumRole, type RoleName } from "./roles.js";

export async function roleIn(
  db: Db,
  principal: Principal,
  organizationId: string,
): Promise<RoleName | undefined> {
  const rows = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(
      and(eq(memberships.organizationId, organizationId), eq(memberships.userId, principal.userId)),
    )
    .limit(1);
  return rows[0]?.role;
}

/**
 * Resolves the caller's role in the organization and checks it allows the action.
 * `what` names the resource in the NotFound message ("project", "deployment", …).
 */
export async function authorize(
  db: Db,
  principal: Principal,
  organizationId: string,
  action: Action,
  what = "organization",
): Promise<RoleName> {
  const role = await roleIn(db, principal, organizationId);
  if (role === undefined) throw notFound(what);
  if (!allows(role, action)) {
    throw permissionDenied(
      `your role in this organization (${role}) cannot do this: it needs ${minimumRole(action)} or above`,
    );
  }
  return role;
}

export function requirePlatformAdmin(principal: Principal): void {
  if (!principal.platformAdmin) {
    throw permissionDenied("only platform administrators can do this");
  }
}

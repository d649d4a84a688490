/**
 * Organization roles and what each may do. Pure.
 *
 * owner > admin > developer > viewer. A viewer reads; a developer changes projects and
 * deployments; an admin also manages members and the organization; only an owner deletes the
 * organization or grants and takes away ownership.
 */
import type { RoleName } from "../store/index.js";

export type { RoleName };

const RANK: Record<RoleName, number> = { viewer: 1, developer: 2, admin: 3, owner: 4 };

export const ROLE_NAMES: readonly RoleName[] = ["owner", "admin", "developer", "viewer"];

export function atLeast(role: RoleName, minimum: RoleName): boolean {
  return RANK[role] >= RANK[minimum];
}

export type Action =
  | "read"
  | "write" // projects, deployments, env vars, domains
  | "manage" // members (non-owners), organization settings
  | "own"; // delete the organization, grant or take away ownership

const MINIMUM: Record<Action, RoleName> = {
  read: "viewer",
  write: "developer",
  manage: "admin",
  own: "owner",
};

export function allows(role: RoleName, action: Action): boolean {
  return atLeast(role, MINIMUM[action]);
}

export function minimumRole(action: Action): RoleName {
  return MINIMUM[action];
}

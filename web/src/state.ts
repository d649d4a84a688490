/**
 * Who is signed in and which organization the app shows: loaded once after sign-in, changed by the
 * organization switcher. The current organization is remembered per browser.
 */
import type { User } from "../../src/gen/obiente/cloud/auth/v1/auth_pb.js";
import {
  type Organization,
  Role,
} from "../../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { api } from "./api.js";
import type { AuthMethod } from "./auth.js";

const ORG_KEY = "obiente.organization";

export class AppState {
  user: User | undefined;
  authMethod: AuthMethod = "api_token";
  organizations: Organization[] = [];
  private currentId: string | undefined;
  private readonly listeners = new Set<() => void>();

  async load(): Promise<void> {
    const [me, orgs] = await Promise.all([
      api.auth.whoAmI({}),
      api.organizations.listOrganizations({}),
    ]);
    this.user = me.user;
    this.authMethod = me.authMethod === "oidc" ? "oidc" : "api_token";
    this.organizations = orgs.organizations;
    const stored = localStorage.getItem(ORG_KEY) ?? undefined;
    this.currentId = this.organizations.some((o) => o.id === stored)
      ? stored
      : this.organizations[0]?.id;
  }

  async reloadOrganizations(select?: string): Promise<void> {
    this.organizations = (await api.organizations.listOrganizations({})).organizations;
    if (select) this.currentId = select;
    if (!this.organizations.some((o) => o.id === this.currentId)) {
      this.currentId = this.organizations[0]?.id;
    }
    this.emit();
  }

  get organization(): Organization | undefined {
    return this.organizations.find((o) => o.id === this.currentId);
  }

  selectOrganization(id: string): void {
    if (id === this.currentId) return;
    this.currentId = id;
    localStorage.setItem(ORG_KEY, id);
    this.emit();
  }

  /** Developers and above change projects and deployments. */
  get canDeploy(): boolean {
    const role = this.organization?.role;
    return role === Role.OWNER || role === Role.ADMIN || role === Role.DEVELOPER;
  }

  get canManageMembers(): boolean {
    const role = this.organization?.role;
    return role === Role.OWNER || role === Role.ADMIN;
  }

  get isPlatformAdmin(): boolean {
    return this.user?.platformAdmin === true;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reset(): void {
    this.user = undefined;
    this.organizations = [];
    this.currentId = undefined;
  }

  private emit() {
    for (const listener of this.listeners) listener();
  }
}

export const ROLE_NAMES: Record<Role, string> = {
  [Role.UNSPECIFIED]: "—",
  [Role.OWNER]: "Owner",
  [Role.ADMIN]: "Admin",
  [Role.DEVELOPER]: "Developer",
  [Role.VIEWER]: "Viewer",
};

export { Role };

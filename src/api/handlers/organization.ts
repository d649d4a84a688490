import type { ServiceImpl } from "@connectrpc/connect";
import type { OrganizationService } from "../../gen/obiente/cloud/organization/v1/organization_pb.js";
import { memberToProto, organizationToProto, quotasToProto, roleFromProto } from "../convert.js";
import { principalOf } from "../interceptors.js";
import type { Domain } from "./services.js";

export function organizationHandlers({
  organizations,
  quotas,
}: Domain): ServiceImpl<typeof OrganizationService> {
  return {
    async createOrganization(req, ctx) {
      const org = await organizations.create(principalOf(ctx), { name: req.name, slug: req.slug });
      return { organization: organizationToProto(org) };
    },
    async getOrganization(req, ctx) {
      return {
        organization: organizationToProto(await organizations.get(principalOf(ctx), req.id)),
      };
    },
    async listOrganizations(_req, ctx) {
      const rows = await organizations.list(principalOf(ctx));
      return { organizations: rows.map(organizationToProto) };
    },
    async updateOrganization(req, ctx) {
      const org = await organizations.update(principalOf(ctx), { id: req.id, name: req.name });
      return { organization: organizationToProto(org) };
    },
    async deleteOrganization(req, ctx) {
      await organizations.delete(principalOf(ctx), req.id);
      return {};
    },
    async listMembers(req, ctx) {
      const rows = await organizations.listMembers(principalOf(ctx), req.organizationId);
      return { members: rows.map(memberToProto) };
    },
    async addMember(req, ctx) {
      const member = await organizations.addMember(principalOf(ctx), {
        organizationId: req.organizationId,
        email: req.email,
        role: roleFromProto(req.role),
      });
      return { member: memberToProto(member) };
    },
    async updateMemberRole(req, ctx) {
      const member = await organizations.updateMemberRole(principalOf(ctx), {
        organizationId: req.organizationId,
        userId: req.userId,
        role: roleFromProto(req.role),
      });
      return { member: memberToProto(member) };
    },
    async removeMember(req, ctx) {
      await organizations.removeMember(principalOf(ctx), {
        organizationId: req.organizationId,
        userId: req.userId,
      });
      return {};
    },
    async getQuotas(req, ctx) {
      return quotasToProto(await quotas.get(principalOf(ctx), req.organization));
    },
    async setQuotas(req, ctx) {
      return quotasToProto(
        await quotas.set(principalOf(ctx), {
          organization: req.organization,
          limits: req.limits,
          reset: req.reset,
        }),
      );
    },
  };
}

import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../gen/obiente/cloud/auth/v1/auth_pb.js";
import { apiTokenToProto, roleToProto, userToProto } from "../convert.js";
import { principalOf } from "../interceptors.js";
import type { Domain } from "./services.js";

export function authHandlers({ accounts }: Domain): ServiceImpl<typeof AuthService> {
  return {
    async whoAmI(_req, ctx) {
      const me = await accounts.whoAmI(principalOf(ctx));
      return {
        user: userToProto(me.user),
        memberships: me.memberships.map((m) => ({
          organizationId: m.organization.id,
          organizationName: m.organization.name,
          organizationSlug: m.organization.slug,
          role: roleToProto(m.role),
        })),
        authMethod: me.method,
      };
    },
    async createApiToken(req, ctx) {
      const { token, record } = await accounts.createApiToken(principalOf(ctx), {
        name: req.name,
        expiresInDays: req.expiresInDays,
      });
      return { token, apiToken: apiTokenToProto(record) };
    },
    async listApiTokens(_req, ctx) {
      const rows = await accounts.listApiTokens(principalOf(ctx));
      return { apiTokens: rows.map(apiTokenToProto) };
    },
    async revokeApiToken(req, ctx) {
      await accounts.revokeApiToken(principalOf(ctx), req.id);
      return {};
    },
    async linkIdentity(req, ctx) {
      const { user, movedFromUserId } = await accounts.linkIdentity(principalOf(ctx), {
        user: req.user,
        issuer: req.issuer,
        subject: req.subject,
        move: req.move,
      });
      return { user: userToProto(user), movedFromUserId: movedFromUserId ?? "" };
    },
  };
}

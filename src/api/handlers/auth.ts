import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../gen/obiente/cloud/auth/v1/auth_pb.js";
import { apiTokenToProto, roleToProto } from "../convert.js";
import { principalOf } from "../interceptors.js";
import type { Domain } from "./services.js";

export function authHandlers({ accounts }: Domain): ServiceImpl<typeof AuthService> {
  return {
    async whoAmI(_req, ctx) {
      const me = await accounts.whoAmI(principalOf(ctx));
      return {
        user: {
          id: me.user.id,
          email: me.user.email,
          displayName: me.user.displayName,
          platformAdmin: me.user.platformAdmin,
          createdAt: timestampFromDate(me.user.createdAt),
        },
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
  };
}

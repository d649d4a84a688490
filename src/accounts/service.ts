/** The caller's own account: who they are, and their API tokens. */
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, isNull } from "drizzle-orm";
import type { RoleName } from "../access/roles.js";
import type { AppContext } from "../app/context.js";
import { recordAudit } from "../audit/audit.js";
import type { Principal } from "../auth/principal.js";
import { generateApiToken } from "../crypto/tokens.js";
import { invalidArgument, notFound } from "../domain/errors.js";
import * as valid from "../domain/validation.js";
import { apiTokens, memberships, organizations, users } from "../store/schema.js";

export type ApiToken = Omit<typeof apiTokens.$inferSelect, "tokenHash" | "userId">;
export const MAX_TOKENS_PER_USER = 100;

export class AccountService {
  constructor(private readonly ctx: AppContext) {}

  async whoAmI(principal: Principal) {
    const [user] = await this.ctx.db.select().from(users).where(eq(users.id, principal.userId));
    if (!user) throw notFound("user");
    const rows = await this.ctx.db
      .select({ org: organizations, role: memberships.role })
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
      .where(eq(memberships.userId, principal.userId))
      .orderBy(asc(organizations.name));
    return {
      user,
      memberships: rows.map((r) => ({ organization: r.org, role: r.role as RoleName })),
      method: principal.method,
    };
  }

  /** Creates a token acting as the caller. The secret is returned here and never again. */
  async createApiToken(
    principal: Principal,
    input: { name: string; expiresInDays: number },
  ): Promise<{ token: string; record: ApiToken }> {
    const name = valid.displayName("name", input.name);
    if (
      !Number.isInteger(input.expiresInDays) ||
      input.expiresInDays < 0 ||
      input.expiresInDays > 3650
    ) {
      throw invalidArgument("expires_in_days must be between 0 (never) and 3650");
    }
    const live = await this.ctx.db
      .select({ id: apiTokens.id })
      .from(apiTokens)
      .where(and(eq(apiTokens.userId, principal.userId), isNull(apiTokens.revokedAt)));
    if (live.length >= MAX_TOKENS_PER_USER) {
      throw invalidArgument(`you have ${MAX_TOKENS_PER_USER} tokens: revoke some first`);
    }
    const { token, hash, prefix } = generateApiToken();
    const expiresAt =
      input.expiresInDays === 0
        ? null
        : new Date(this.ctx.now().getTime() + input.expiresInDays * 86_400_000);
    const record = await this.ctx.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(apiTokens)
        .values({
          id: randomUUID(),
          userId: principal.userId,
          name,
          tokenHash: hash,
          prefix,
          expiresAt,
        })
        .returning();
      if (!row) throw new Error("insert returned no row");
      await recordAudit(tx, {
        principal,
        action: "api_token.create",
        resourceType: "api_token",
        resourceId: row.id,
        details: { name, prefix },
      });
      return row;
    });
    return { token, record: publicToken(record) };
  }

  async listApiTokens(principal: Principal): Promise<ApiToken[]> {
    const rows = await this.ctx.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.userId, principal.userId))
      .orderBy(desc(apiTokens.createdAt));
    return rows.map(publicToken);
  }

  async revokeApiToken(principal: Principal, id: string): Promise<void> {
    const tokenId = valid.uuid("id", id);
    await this.ctx.db.transaction(async (tx) => {
      // Only the caller's own tokens: someone else's id is NotFound, as if it did not exist.
      const [row] = await tx
        .update(apiTokens)
        .set({ revokedAt: this.ctx.now() })
        .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, principal.userId)))
        .returning();
      if (!row) throw notFound("api token");
      await recordAudit(tx, {
        principal,
        action: "api_token.revoke",
        resourceType: "api_token",
        resourceId: tokenId,
      });
    });
  }
}

function publicToken(row: typeof apiTokens.$inferSelect): ApiToken {
  const { tokenHash: _hash, userId: _user, ...rest } = row;
  return rest;
}

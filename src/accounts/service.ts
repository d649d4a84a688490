/**
 * The caller's own account: who they are, and their API tokens; and, for platform
 * administrators, linking an OIDC identity to an existing account.
 */
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, isNull, sql } from "drizzle-orm";
import { type RoleName, requirePlatformAdmin } from "../access/index.js";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { generateApiToken } from "../crypto/index.js";
import { alreadyExists, invalidArgument, notFound, validation as valid } from "../domain/index.js";
import { apiTokens, type Db, memberships, organizations, users } from "../store/index.js";

export type ApiToken = Omit<typeof apiTokens.$inferSelect, "tokenHash" | "userId">;
export const MAX_TOKENS_PER_USER = 100;

/** What AccountService uses: the database and the clock. */
export interface AccountServiceDeps {
  readonly db: Db;
  readonly now: () => Date;
}

export class AccountService {
  constructor(private readonly deps: AccountServiceDeps) {}

  async whoAmI(principal: Principal) {
    const [user] = await this.deps.db.select().from(users).where(eq(users.id, principal.userId));
    if (!user) throw notFound("user");
    const rows = await this.deps.db
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
    const live = await this.deps.db
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
        : new Date(this.deps.now().getTime() + input.expiresInDays * 86_400_000);
    const record = await this.deps.db.transaction(async (tx) => {
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
    const rows = await this.deps.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.userId, principal.userId))
      .orderBy(desc(apiTokens.createdAt));
    return rows.map(publicToken);
  }

  async revokeApiToken(principal: Principal, id: string): Promise<void> {
    const tokenId = valid.uuid("id", id);
    await this.deps.db.transaction(async (tx) => {
      // Only the caller's own tokens: someone else's id is NotFound, as if it did not exist.
      const [row] = await tx
        .update(apiTokens)
        .set({ revokedAt: this.deps.now() })
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

  /**
   * Platform administrators only: from now on, the OIDC identity (issuer, subject) signs in as
   * `user` (an id or an email). The only way an identity reaches an existing account: sign-in
   * itself matches (issuer, subject), never an email. An identity another user has is refused,
   * unless `move` takes it from them (they can then no longer sign in with it). The target's
   * own identity, if any, is replaced. Audited, with what was replaced.
   */
  async linkIdentity(
    principal: Principal,
    input: { user: string; issuer: string; subject: string; move: boolean },
  ): Promise<{ user: typeof users.$inferSelect; movedFromUserId: string | undefined }> {
    requirePlatformAdmin(principal);
    const issuer = input.issuer.trim();
    const subject = input.subject.trim();
    if (!/^https?:\/\/[^\s]+$/.test(issuer) || issuer.length > 2048) {
      throw invalidArgument("issuer must be the issuer's URL, as in the tokens' iss claim");
    }
    if (subject === "" || subject.length > 255 || /[\u0000-\u001f]/.test(subject)) {
      throw invalidArgument("subject must be the tokens' sub claim: 1 to 255 printable characters");
    }
    const ref = input.user.trim();
    if (ref === "") throw invalidArgument("user must be a user's id or email");
    return this.deps.db.transaction(async (tx) => {
      const isId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
      const [target] = await tx
        .select()
        .from(users)
        .where(
          isId
            ? eq(users.id, ref.toLowerCase())
            : sql`lower(${users.email}) = ${ref.toLowerCase()}`,
        )
        .for("update");
      if (!target) throw notFound(`user ${ref}`);
      const [holder] = await tx
        .select()
        .from(users)
        .where(and(eq(users.oidcIssuer, issuer), eq(users.oidcSubject, subject)))
        .for("update");
      if (holder?.id === target.id) return { user: target, movedFromUserId: undefined };
      if (holder && !input.move) {
        throw alreadyExists(
          `this identity signs in as another user (${holder.email}, ${holder.id}): pass move to take it from them`,
        );
      }
      if (holder) {
        await tx
          .update(users)
          .set({ oidcIssuer: null, oidcSubject: null, updatedAt: this.deps.now() })
          .where(eq(users.id, holder.id));
      }
      const [linked] = await tx
        .update(users)
        .set({
          oidcIssuer: issuer,
          oidcSubject: subject,
          invited: false,
          updatedAt: this.deps.now(),
        })
        .where(eq(users.id, target.id))
        .returning();
      if (!linked) throw notFound(`user ${ref}`);
      await recordAudit(tx, {
        principal,
        action: "user.link_identity",
        resourceType: "user",
        resourceId: target.id,
        details: {
          issuer,
          subject,
          ...(target.oidcSubject
            ? { replaced: { issuer: target.oidcIssuer, subject: target.oidcSubject } }
            : {}),
          ...(holder ? { movedFromUserId: holder.id } : {}),
        },
      });
      return { user: linked, movedFromUserId: holder?.id };
    });
  }
}

function publicToken(row: typeof apiTokens.$inferSelect): ApiToken {
  const { tokenHash: _hash, userId: _user, ...rest } = row;
  return rest;
}

/**
 * The store side of authentication (src/auth's AuthLookups): tokens by hash, users by id, and
 * OIDC users, created on their first sign-in.
 */
import { randomUUID } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.js";
import type { AuthLookups, AuthUser, OidcUserIdentity } from "../auth/authenticator.js";
import { slugify } from "../domain/validation.js";
import type { Db } from "../store/database.js";
import { isUniqueViolation } from "../store/errors.js";
import { apiTokens, memberships, organizations, users } from "../store/schema.js";

export function storeAuthLookups(db: Db, now: () => Date = () => new Date()): AuthLookups {
  return {
    async findApiToken(hash) {
      const [row] = await db
        .select({
          tokenId: apiTokens.id,
          userId: apiTokens.userId,
          revokedAt: apiTokens.revokedAt,
          expiresAt: apiTokens.expiresAt,
        })
        .from(apiTokens)
        .where(eq(apiTokens.tokenHash, hash));
      return row;
    },
    async touchApiToken(tokenId) {
      await db.update(apiTokens).set({ lastUsedAt: now() }).where(eq(apiTokens.id, tokenId));
    },
    async findUser(userId) {
      const [row] = await db.select().from(users).where(eq(users.id, userId));
      return row ? toAuthUser(row) : undefined;
    },
    upsertOidcUser: (identity) => upsertOidcUser(db, identity),
  };
}

/**
 * The user of an OIDC identity. Known by (issuer, subject); else a user added by email who
 * has not signed in yet takes this identity, when the issuer says the email is verified; else a
 * new user, with a personal organization of their own.
 */
async function upsertOidcUser(db: Db, identity: OidcUserIdentity): Promise<AuthUser> {
  const [known] = await db
    .select()
    .from(users)
    .where(and(eq(users.oidcIssuer, identity.issuer), eq(users.oidcSubject, identity.subject)));
  if (known) return toAuthUser(known);
  try {
    return await createOidcUser(db, identity);
  } catch (error) {
    // A first sign-in's concurrent requests race to create the user: the loser finds the winner's.
    if (!isUniqueViolation(error)) throw error;
    const [winner] = await db
      .select()
      .from(users)
      .where(and(eq(users.oidcIssuer, identity.issuer), eq(users.oidcSubject, identity.subject)));
    if (!winner) throw error;
    return toAuthUser(winner);
  }
}

async function createOidcUser(db: Db, identity: OidcUserIdentity): Promise<AuthUser> {
  const email = identity.email?.toLowerCase();
  return db.transaction(async (tx) => {
    if (email && identity.emailVerified) {
      const [invited] = await tx
        .update(users)
        .set({
          oidcIssuer: identity.issuer,
          oidcSubject: identity.subject,
          displayName: identity.name ?? "",
        })
        .where(and(sql`lower(${users.email}) = ${email}`, isNull(users.oidcSubject)))
        .returning();
      if (invited) return toAuthUser(invited);
    }
    // Without a verified email the user still gets in, under a placeholder address that cannot
    // collide with (and so cannot claim) anyone's invitation.
    const id = randomUUID();
    const address = email && identity.emailVerified ? email : `${id}@oidc.invalid`;
    const [user] = await tx
      .insert(users)
      .values({
        id,
        email: address,
        displayName: identity.name ?? email ?? "",
        oidcIssuer: identity.issuer,
        oidcSubject: identity.subject,
      })
      .returning();
    if (!user) throw new Error("insert returned no row");
    const orgId = randomUUID();
    const base = slugify(identity.name ?? email?.split("@")[0] ?? "") || "personal";
    await tx.insert(organizations).values({
      id: orgId,
      name: `${identity.name ?? email ?? "My"} projects`.slice(0, 100),
      slug: `${base.slice(0, 30)}-${orgId.slice(0, 8)}`,
    });
    await tx.insert(memberships).values({ organizationId: orgId, userId: id, role: "owner" });
    await recordAudit(tx, {
      principal: undefined,
      organizationId: orgId,
      action: "user.signup",
      resourceType: "user",
      resourceId: id,
      details: { issuer: identity.issuer },
    });
    return toAuthUser(user);
  });
}

function toAuthUser(row: typeof users.$inferSelect): AuthUser {
  return {
    id: row.id,
    email: row.email,
    displayName: row.displayName,
    platformAdmin: row.platformAdmin,
  };
}

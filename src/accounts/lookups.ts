/**
 * The store side of authentication (src/auth's AuthLookups): tokens by hash, users by id, and
 * OIDC users, found by (issuer, subject) and created on their first sign-in as SIGNUP allows.
 */
import { randomUUID } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import { recordAudit } from "../audit/index.js";
import type { AuthLookups, AuthUser, OidcUserIdentity } from "../auth/index.js";
import { permissionDenied, slugify } from "../domain/index.js";
import {
  apiTokens,
  type Db,
  isUniqueViolation,
  memberships,
  organizations,
  type Tx,
  users,
} from "../store/index.js";

/**
 * Who may get an account by signing in through OIDC:
 *  - open: anyone the issuer signs in, with an organization of their own;
 *  - invite: only someone invited by email into an organization (AddMember), who takes the
 *    invitation with that email verified by the issuer, and gets no organization of their own;
 *  - closed: nobody new; a platform administrator links identities to accounts (LinkIdentity).
 */
export type SignupPolicy = "open" | "invite" | "closed";

export interface StoreAuthLookupsOptions {
  signup?: SignupPolicy;
  now?: () => Date;
}

export function storeAuthLookups(db: Db, options: StoreAuthLookupsOptions = {}): AuthLookups {
  const now = options.now ?? (() => new Date());
  const signup = options.signup ?? "open";
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
    upsertOidcUser: (identity) => upsertOidcUser(db, identity, signup),
  };
}

/**
 * The user of an OIDC identity. Known by (issuer, subject) and by nothing else: an email, even
 * one the issuer calls verified, never leads to an existing account (an issuer may let anyone
 * claim any address, and the bootstrap administrator has one no issuer owns). The one thing an
 * email is matched with is an invitation (a user AddMember made, who never signed in); else,
 * when SIGNUP allows, a new user with an organization of their own.
 */
async function upsertOidcUser(
  db: Db,
  identity: OidcUserIdentity,
  signup: SignupPolicy,
): Promise<AuthUser> {
  const known = await findByIdentity(db, identity);
  if (known) return toAuthUser(known);
  for (let attempt = 1; ; attempt++) {
    try {
      return await createOidcUser(db, identity, signup);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // A first sign-in's concurrent requests race to create the user: the loser finds the
      // winner's. Or the email was taken meanwhile: the next attempt sees it.
      const winner = await findByIdentity(db, identity);
      if (winner) return toAuthUser(winner);
      if (attempt >= 2) throw error;
    }
  }
}

async function findByIdentity(db: Db | Tx, identity: OidcUserIdentity) {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.oidcIssuer, identity.issuer), eq(users.oidcSubject, identity.subject)));
  return row;
}

async function createOidcUser(
  db: Db,
  identity: OidcUserIdentity,
  signup: SignupPolicy,
): Promise<AuthUser> {
  const email = identity.email?.trim().toLowerCase();
  const verified = email !== undefined && email !== "" && identity.emailVerified === true;
  return db.transaction(async (tx) => {
    if (verified && signup !== "closed") {
      const [invited] = await tx
        .update(users)
        .set({
          oidcIssuer: identity.issuer,
          oidcSubject: identity.subject,
          displayName: identity.name ?? "",
          invited: false,
          updatedAt: new Date(),
        })
        .where(
          and(
            sql`lower(${users.email}) = ${email}`,
            eq(users.invited, true),
            isNull(users.oidcSubject),
            eq(users.platformAdmin, false),
          ),
        )
        .returning();
      if (invited) {
        await recordAudit(tx, {
          principal: undefined,
          action: "user.accept_invitation",
          resourceType: "user",
          resourceId: invited.id,
          details: { issuer: identity.issuer, subject: identity.subject },
        });
        return toAuthUser(invited);
      }
    }
    if (signup !== "open") throw refused(identity, signup, verified ? email : undefined);

    // The verified email when no one has it; else a placeholder that cannot collide with (and
    // so cannot claim) anyone's address or invitation.
    const id = randomUUID();
    let address = `${id}@oidc.invalid`;
    if (verified) {
      const [taken] = await tx
        .select({ id: users.id })
        .from(users)
        .where(sql`lower(${users.email}) = ${email}`)
        .limit(1);
      if (!taken) address = email;
    }
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
      details: {
        issuer: identity.issuer,
        ...(verified && address !== email ? { emailTakenBy: "another user" } : {}),
      },
    });
    return toAuthUser(user);
  });
}

/** PermissionDenied for a sign-in SIGNUP does not allow, saying what would let the person in. */
function refused(identity: OidcUserIdentity, signup: SignupPolicy, email: string | undefined) {
  const who = `issuer ${identity.issuer}, subject ${identity.subject}`;
  if (signup === "invite") {
    return permissionDenied(
      email
        ? `this platform takes new accounts by invitation only, and ${email} has no invitation: ask an organization's administrator to invite ${email}`
        : `this platform takes new accounts by invitation only, and invitations go to an email your sign-in must carry, verified: ask an administrator to link your identity (${who}) to an account`,
    );
  }
  return permissionDenied(
    `this platform takes no new accounts: ask a platform administrator to link your identity (${who}) to an account`,
  );
}

function toAuthUser(row: typeof users.$inferSelect): AuthUser {
  return {
    id: row.id,
    email: row.email,
    displayName: row.displayName,
    platformAdmin: row.platformAdmin,
  };
}

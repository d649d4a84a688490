/**
 * Users other than the bootstrap administrator, with an API token each, made straight in the
 * store: the API has no call that issues a token for someone else. A user that AddMember created
 * (by email) is reused, so that a test can add a member and then act as them.
 */
import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import type { Principal } from "../../src/auth/principal.js";
import { generateApiToken } from "../../src/crypto/tokens.js";
import type { Db } from "../../src/store/database.js";
import { apiTokens, users } from "../../src/store/schema.js";
import type { TestPlatform } from "./api.js";

export interface TestUser {
  userId: string;
  email: string;
  /** The API token's secret ("obt_…"). */
  token: string;
  tokenId: string;
  platformAdmin: boolean;
  /** The same user as the domain services see them, for tests that call services directly. */
  principal: Principal;
}

export interface CreateUserOptions {
  platformAdmin?: boolean;
  displayName?: string;
}

/** A user of the running test platform, with a fresh API token. */
export function createUserWithToken(
  t: Pick<TestPlatform, "platform">,
  email: string,
  options: CreateUserOptions = {},
): Promise<TestUser> {
  return createUserWithTokenInDb(t.platform.database.db, email, options);
}

/**
 * The user with this email (created when missing; `platformAdmin` is applied either way), and a
 * new API token for them.
 */
export async function createUserWithTokenInDb(
  db: Db,
  email: string,
  options: CreateUserOptions = {},
): Promise<TestUser> {
  const lower = email.toLowerCase();
  const platformAdmin = options.platformAdmin ?? false;
  let [user] = await db.select().from(users).where(sql`lower(${users.email}) = ${lower}`).limit(1);
  if (user) {
    if (user.platformAdmin !== platformAdmin) {
      [user] = await db
        .update(users)
        .set({ platformAdmin })
        .where(eq(users.id, user.id))
        .returning();
    }
  } else {
    [user] = await db
      .insert(users)
      .values({
        id: randomUUID(),
        email: lower,
        displayName: options.displayName ?? lower.split("@")[0] ?? "",
        platformAdmin,
      })
      .returning();
  }
  if (!user) throw new Error(`could not create the user ${email}`);
  const { token, hash, prefix } = generateApiToken();
  const tokenId = randomUUID();
  await db
    .insert(apiTokens)
    .values({ id: tokenId, userId: user.id, name: "test token", tokenHash: hash, prefix });
  return {
    userId: user.id,
    email: user.email,
    token,
    tokenId,
    platformAdmin: user.platformAdmin,
    principal: {
      userId: user.id,
      email: user.email,
      displayName: user.displayName,
      platformAdmin: user.platformAdmin,
      method: "api_token",
      tokenId,
    },
  };
}

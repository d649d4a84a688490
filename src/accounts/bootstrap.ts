/**
 * First start of an empty installation: an administrator, an organization and an API token for
 * them. Runs under a transaction-scoped advisory lock, so that several processes starting at
 * once create exactly one administrator. The token is returned to be printed once; only its
 * hash is kept.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.js";
import { generateApiToken } from "../crypto/tokens.js";
import type { Db } from "../store/database.js";
import { apiTokens, memberships, organizations, users } from "../store/schema.js";

const BOOTSTRAP_LOCK = 7_236_001_002n;

export interface Bootstrapped {
  userId: string;
  email: string;
  organizationId: string;
  token: string;
}

export async function bootstrap(db: Db, adminEmail: string): Promise<Bootstrapped | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`);
    const existing = await tx.select({ id: users.id }).from(users).limit(1);
    if (existing.length > 0) return undefined;
    const userId = randomUUID();
    const organizationId = randomUUID();
    const { token, hash, prefix } = generateApiToken();
    await tx
      .insert(users)
      .values({ id: userId, email: adminEmail, displayName: "Administrator", platformAdmin: true });
    await tx.insert(organizations).values({ id: organizationId, name: "Default", slug: "default" });
    await tx.insert(memberships).values({ organizationId, userId, role: "owner" });
    await tx
      .insert(apiTokens)
      .values({ id: randomUUID(), userId, name: "bootstrap admin token", tokenHash: hash, prefix });
    await recordAudit(tx, {
      principal: undefined,
      organizationId,
      action: "platform.bootstrap",
      resourceType: "user",
      resourceId: userId,
      details: { email: adminEmail },
    });
    return { userId, email: adminEmail, organizationId, token };
  });
}

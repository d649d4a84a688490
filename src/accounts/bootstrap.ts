/**
 * First start of an empty installation: an administrator, an organization and an API token for
 * them. Runs under a transaction-scoped advisory lock, so that several processes starting at
 * once create exactly one administrator. The token is returned to be shown once (the start-up
 * banner) and written to a file only its owner may read; only its hash is kept in the database.
 *
 * The token is the way in until there is another: once a platform administrator has another
 * usable API token, or signs in through OIDC, the bootstrap token is given an expiry
 * (BOOTSTRAP_TOKEN_TTL_HOURS, 24 h by default) and its file is removed when it lapses
 * (BootstrapTokenExpiry).
 */
import { randomUUID } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { and, asc, eq, gt, isNotNull, isNull, ne, or, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { recordAudit } from "../audit/index.js";
import { generateApiToken } from "../crypto/index.js";
import { apiTokens, auditLog, type Db, memberships, organizations, users } from "../store/index.js";

const BOOTSTRAP_LOCK = 7_236_001_002n;
const BOOTSTRAP_ACTION = "platform.bootstrap";
export const BOOTSTRAP_TOKEN_NAME = "bootstrap admin token";
/** The token's file, in DATA_DIR. */
export const BOOTSTRAP_TOKEN_FILE = "bootstrap-admin-token";

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
      .values({ id: randomUUID(), userId, name: BOOTSTRAP_TOKEN_NAME, tokenHash: hash, prefix });
    await recordAudit(tx, {
      principal: undefined,
      organizationId,
      action: BOOTSTRAP_ACTION,
      resourceType: "user",
      resourceId: userId,
      details: { email: adminEmail },
    });
    return { userId, email: adminEmail, organizationId, token };
  });
}

/**
 * Writes the token to DATA_DIR/bootstrap-admin-token, readable by its owner only (0600, in a
 * folder of mode 0700 when it makes it), through a temporary file renamed into place, so that
 * the file is never seen half written or with wider permissions. Returns the file's path.
 */
export async function writeBootstrapTokenFile(dataDir: string, token: string): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, BOOTSTRAP_TOKEN_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  await writeFile(temporary, `${token}\n`, { mode: 0o600, flag: "wx" });
  await rename(temporary, file);
  return file;
}

/** The bootstrap token's row: the first-start administrator's token of that name. */
async function bootstrapToken(db: Db) {
  const [created] = await db
    .select({ userId: auditLog.resourceId })
    .from(auditLog)
    .where(eq(auditLog.action, BOOTSTRAP_ACTION))
    .orderBy(asc(auditLog.id))
    .limit(1);
  if (!created) return undefined;
  const [token] = await db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.userId, created.userId), eq(apiTokens.name, BOOTSTRAP_TOKEN_NAME)))
    .orderBy(asc(apiTokens.createdAt))
    .limit(1);
  return token;
}

/**
 * Gives the bootstrap token an expiry `ttlMs` from `now` once another way in exists for a
 * platform administrator: another API token that is neither revoked nor expired, or an account
 * signed in through OIDC. Idempotent: a token that has an expiry already keeps it. Returns the
 * token's state: `usable` false once it is revoked or expired, `expiresAt` when it has one, and
 * `setNow` when this call set it.
 */
export async function expireBootstrapToken(
  db: Db,
  now: Date,
  ttlMs: number,
): Promise<{ usable: boolean; expiresAt: Date | null; setNow: boolean } | undefined> {
  const token = await bootstrapToken(db);
  if (!token) return undefined;
  const usable = (expiresAt: Date | null) =>
    token.revokedAt === null && (expiresAt === null || expiresAt > now);
  if (token.expiresAt !== null || token.revokedAt !== null) {
    return { usable: usable(token.expiresAt), expiresAt: token.expiresAt, setNow: false };
  }
  const [otherToken] = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(
      and(
        eq(users.platformAdmin, true),
        ne(apiTokens.id, token.id),
        isNull(apiTokens.revokedAt),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now)),
      ),
    )
    .limit(1);
  const [oidcAdmin] = otherToken
    ? [undefined]
    : await db
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.platformAdmin, true), isNotNull(users.oidcSubject)))
        .limit(1);
  if (!otherToken && !oidcAdmin) return { usable: true, expiresAt: null, setNow: false };
  const expiresAt = new Date(now.getTime() + ttlMs);
  const [updated] = await db.transaction(async (tx) => {
    const rows = await tx
      .update(apiTokens)
      .set({ expiresAt })
      .where(and(eq(apiTokens.id, token.id), isNull(apiTokens.expiresAt)))
      .returning({ expiresAt: apiTokens.expiresAt });
    if (rows.length > 0) {
      await recordAudit(tx, {
        principal: undefined,
        action: "api_token.expire_bootstrap",
        resourceType: "api_token",
        resourceId: token.id,
        details: {
          expiresAt: expiresAt.toISOString(),
          because: otherToken ? "another administrator token" : "an OIDC administrator",
        },
      });
    }
    return rows;
  });
  // Another process set it a moment before: read back what it set.
  if (!updated) return expireBootstrapToken(db, now, ttlMs);
  return { usable: usable(expiresAt), expiresAt, setNow: true };
}

export interface BootstrapTokenExpiryOptions {
  db: Db;
  /** The token's life once another way in exists. */
  ttlMs: number;
  /** DATA_DIR: the token's file there is removed once the token is no longer usable. */
  dataDir: string;
  logger: Logger;
  now?: () => Date;
  intervalMs?: number;
}

/**
 * Checks every minute (and at start) whether the bootstrap token should now expire, and removes
 * its file once it has. Every process runs one: the check is one short query, and idempotent.
 */
export class BootstrapTokenExpiry {
  readonly #options: BootstrapTokenExpiryOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(options: BootstrapTokenExpiryOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    await this.check();
    if (this.#closed) return;
    this.#timer = setInterval(() => {
      this.#running ??= this.check().finally(() => {
        this.#running = undefined;
      });
    }, this.#options.intervalMs ?? 60_000);
    this.#timer.unref();
  }

  /** One check; errors are logged, and the next check tries again. */
  async check(): Promise<void> {
    const { db, ttlMs, dataDir, logger } = this.#options;
    const now = this.#options.now?.() ?? new Date();
    try {
      const state = await expireBootstrapToken(db, now, ttlMs);
      if (state?.setNow) {
        logger.info(
          { expiresAt: state.expiresAt },
          "another administrator credential exists: the bootstrap admin token expires then",
        );
      }
      if (state && !state.usable) {
        await rm(join(dataDir, BOOTSTRAP_TOKEN_FILE), { force: true });
      }
    } catch (error) {
      logger.warn({ err: error }, "checking the bootstrap admin token's expiry failed");
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}

/**
 * A deployment's credential for its https repository: given as `https://user:token@host/…` or
 * on its own, kept apart from the deployment in `deployment_git_credentials`, sealed with the
 * secret box, for the repository's origin only. The repository URL that is stored, shown, audited
 * and logged never holds it; the builder gets it at clone time (an askpass helper, never argv).
 */
import { eq, inArray, like, or } from "drizzle-orm";
import type { SecretBox } from "../crypto/index.js";
import { invalidArgument } from "../domain/index.js";
import { type Db, deploymentGitCredentials, deployments, type Tx } from "../store/index.js";

export interface GitCredential {
  username: string;
  /** A password or token. */
  password: string;
}

const MAX_PART = 4096;

/**
 * Splits the user-info off an http(s) URL. Other URLs (ssh's `git@host:…` names a login, not a
 * secret) come back as they are.
 */
export function splitCredential(url: string): { url: string; credential?: GitCredential } {
  const match = /^(https?:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!match) return { url };
  const [, scheme = "", authority = "", rest = ""] = match;
  const at = authority.lastIndexOf("@");
  if (at === -1) return { url };
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(":");
  const credential = {
    username: decode(colon === -1 ? userinfo : userinfo.slice(0, colon)),
    password: colon === -1 ? "" : decode(userinfo.slice(colon + 1)),
  };
  return { url: `${scheme}${authority.slice(at + 1)}${rest}`, credential };
}

/** Masks the user-info of every http(s) URL in a text: for messages and logs. */
export function stripCredentials(text: string): string {
  return text.replace(/(https?:\/\/)[^/\s?#]+@/gi, "$1");
}

/** A credential given on its own: checked; `null` for "remove" (both parts empty). */
export function checkCredential(credential: GitCredential): GitCredential | null {
  const { username, password } = credential;
  if (username === "" && password === "") return null;
  if (username.length > MAX_PART || password.length > MAX_PART) {
    throw invalidArgument(
      `git_credential: the username and password are at most ${MAX_PART} characters`,
    );
  }
  // The askpass helper answers git with one line.
  if (/[\u0000-\u001f\u007f]/.test(username + password)) {
    throw invalidArgument("git_credential must not contain control characters or line breaks");
  }
  return credential;
}

/** The scheme, host and port a credential is for: it is never sent anywhere else. */
export function originOf(url: string): string | undefined {
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return undefined;
  }
}

/** What a sealed credential is bound to: its deployment. */
export const gitCredentialAad = (deploymentId: string) =>
  `deployment:${deploymentId}:git-credential`;

/** Stores (or with `null`, removes) a deployment's credential, in the caller's transaction. */
export async function writeGitCredential(
  tx: Tx | Db,
  secrets: SecretBox,
  deploymentId: string,
  repoUrl: string,
  credential: GitCredential | null,
): Promise<void> {
  if (credential === null) {
    await tx
      .delete(deploymentGitCredentials)
      .where(eq(deploymentGitCredentials.deploymentId, deploymentId));
    return;
  }
  const origin = originOf(repoUrl);
  if (origin === undefined) {
    throw invalidArgument("a git credential is for https repositories only");
  }
  const credentialEncrypted = secrets.encrypt(
    JSON.stringify(credential),
    gitCredentialAad(deploymentId),
  );
  await tx
    .insert(deploymentGitCredentials)
    .values({ deploymentId, origin, credentialEncrypted })
    .onConflictDoUpdate({
      target: deploymentGitCredentials.deploymentId,
      set: { origin, credentialEncrypted, updatedAt: new Date() },
    });
}

/** The credential for a clone of `repoUrl`: none when it was stored for another origin. */
export async function readGitCredential(
  db: Db,
  secrets: SecretBox,
  deploymentId: string,
  repoUrl: string,
): Promise<GitCredential | undefined> {
  const [row] = await db
    .select()
    .from(deploymentGitCredentials)
    .where(eq(deploymentGitCredentials.deploymentId, deploymentId));
  if (!row || row.origin !== originOf(repoUrl)) return undefined;
  const parsed = JSON.parse(
    secrets.decrypt(row.credentialEncrypted, gitCredentialAad(deploymentId)),
  ) as unknown;
  const { username, password } = (parsed ?? {}) as Partial<GitCredential>;
  if (typeof username !== "string" || typeof password !== "string") return undefined;
  return { username, password };
}

/** Which of these deployments have a credential. */
export async function withCredentials(db: Db, deploymentIds: string[]): Promise<Set<string>> {
  if (deploymentIds.length === 0) return new Set();
  const rows = await db
    .select({ id: deploymentGitCredentials.deploymentId })
    .from(deploymentGitCredentials)
    .where(inArray(deploymentGitCredentials.deploymentId, deploymentIds));
  return new Set(rows.map((row) => row.id));
}

/**
 * Moves credentials still written in repository URLs (deployments made before they were kept
 * apart) into the sealed table, leaving the URLs without them. Run at start-up, after the
 * migrations; idempotent. Returns how many it moved.
 */
export async function sealGitCredentials(deps: { db: Db; secrets: SecretBox }): Promise<number> {
  const rows = await deps.db
    .select({ id: deployments.id, gitRepo: deployments.gitRepo })
    .from(deployments)
    .where(or(like(deployments.gitRepo, "https://%@%"), like(deployments.gitRepo, "http://%@%")));
  let moved = 0;
  for (const row of rows) {
    const { url, credential } = splitCredential(row.gitRepo);
    if (credential === undefined) continue;
    await deps.db.transaction(async (tx) => {
      await writeGitCredential(tx, deps.secrets, row.id, url, credential);
      await tx.update(deployments).set({ gitRepo: url }).where(eq(deployments.id, row.id));
    });
    moved++;
  }
  return moved;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

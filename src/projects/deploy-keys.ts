/**
 * A project's deploy key: an ed25519 key pair the platform makes, one per project, for cloning
 * the project's ssh repositories. The user adds the public key to their forge (a read-only deploy
 * key); the private key never leaves the platform: it is sealed with the secret box in
 * `project_deploy_keys`, bound to the project by its AAD, and given to the builder only for a
 * clone over ssh, which uses it and nothing else (src/builder/git.ts).
 */
import { eq } from "drizzle-orm";
import type { SecretBox } from "../crypto/index.js";
import { type Db, projectDeployKeys, type Tx } from "../store/index.js";
import { generateSshKeyPair } from "./ssh-key-format.js";

export interface DeployKey {
  projectId: string;
  /** The authorized_keys line, its comment naming the project. */
  publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` and the forges show it. */
  fingerprint: string;
  createdAt: Date;
}

/** What a sealed deploy key is bound to: its project. */
export const deployKeyAad = (projectId: string) => `project:${projectId}:deploy-key`;

/** The public key's comment: which platform and project the key is for, on the forge's list. */
export function deployKeyComment(project: { id: string; slug: string }): string {
  return `obiente-project-${project.slug}-${project.id.slice(0, 8)}`;
}

function newRow(secrets: SecretBox, project: { id: string; slug: string }) {
  const pair = generateSshKeyPair(deployKeyComment(project));
  return {
    projectId: project.id,
    publicKey: pair.publicKey,
    fingerprint: pair.fingerprint,
    privateKeyEncrypted: secrets.encrypt(pair.privateKey, deployKeyAad(project.id)),
  };
}

const shown = (row: typeof projectDeployKeys.$inferSelect): DeployKey => ({
  projectId: row.projectId,
  publicKey: row.publicKey,
  fingerprint: row.fingerprint,
  createdAt: row.createdAt,
});

/**
 * The project's key, made on first use: projects get one when they are created, and those made
 * before deploy keys existed get theirs the first time it is asked for. Two first asks at once
 * both see the one that was inserted first.
 */
export async function ensureDeployKey(
  db: Db | Tx,
  secrets: SecretBox,
  project: { id: string; slug: string },
): Promise<DeployKey> {
  const [existing] = await db
    .select()
    .from(projectDeployKeys)
    .where(eq(projectDeployKeys.projectId, project.id));
  if (existing) return shown(existing);
  await db.insert(projectDeployKeys).values(newRow(secrets, project)).onConflictDoNothing();
  const [row] = await db
    .select()
    .from(projectDeployKeys)
    .where(eq(projectDeployKeys.projectId, project.id));
  if (!row) throw new Error("the deploy key was neither inserted nor found");
  return shown(row);
}

/** Replaces the project's key with a new one: the old one no longer clones anything. */
export async function replaceDeployKey(
  tx: Db | Tx,
  secrets: SecretBox,
  project: { id: string; slug: string },
  now: Date,
): Promise<DeployKey> {
  const row = newRow(secrets, project);
  const [stored] = await tx
    .insert(projectDeployKeys)
    .values({ ...row, createdAt: now })
    .onConflictDoUpdate({
      target: projectDeployKeys.projectId,
      set: {
        publicKey: row.publicKey,
        fingerprint: row.fingerprint,
        privateKeyEncrypted: row.privateKeyEncrypted,
        createdAt: now,
      },
    })
    .returning();
  if (!stored) throw new Error("the deploy key was not stored");
  return shown(stored);
}

/** The private key for a clone (the controller's own use; no principal). */
export async function readDeployKey(
  db: Db,
  secrets: SecretBox,
  projectId: string,
): Promise<{ privateKeyPem: string } | undefined> {
  const [row] = await db
    .select()
    .from(projectDeployKeys)
    .where(eq(projectDeployKeys.projectId, projectId));
  if (!row) return undefined;
  return { privateKeyPem: secrets.decrypt(row.privateKeyEncrypted, deployKeyAad(projectId)) };
}

/** Whether git reaches this remote over ssh: `ssh://…` or the scp-like `user@host:path`. */
export function isSshRemote(url: string): boolean {
  return /^ssh:\/\//i.test(url) || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(url);
}

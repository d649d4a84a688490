/**
 * A deployment's environment variables, sealed with the secret box: its own, and those only its
 * previews get. The deployments service writes and lists them for people; the controller reads
 * them decrypted (`deploymentEnv`) for the containers it starts.
 */
import { eq } from "drizzle-orm";
import type { SecretBox } from "../crypto/index.js";
import { type Db, deployments, envVars, previewEnvVars, type Tx } from "../store/index.js";

/** Binds each ciphertext to its deployment and key, so a value copied to another row fails. */
export const envAad = (deploymentId: string, key: string) => `env:${deploymentId}:${key}`;
/** The same for a deployment's preview-only variables. */
export const previewEnvAad = (deploymentId: string, key: string) =>
  `preview-env:${deploymentId}:${key}`;

/** A deployment's own variables, or those only its previews get. */
export type EnvScope = "deployment" | "preview";

export function envTable(scope: EnvScope) {
  return scope === "preview"
    ? { table: previewEnvVars, aad: previewEnvAad }
    : { table: envVars, aad: envAad };
}

/** One scope of a deployment's variables, decrypted. */
export async function readEnvVars(
  db: Db | Tx,
  secrets: SecretBox,
  deploymentId: string,
  scope: EnvScope,
): Promise<Record<string, string>> {
  const { table, aad } = envTable(scope);
  const rows = await db.select().from(table).where(eq(table.deploymentId, deploymentId));
  return Object.fromEntries(
    rows.map((r) => [r.key, secrets.decrypt(r.valueEncrypted, aad(deploymentId, r.key))]),
  );
}

/**
 * The environment a deployment's containers run with, decrypted. A preview gets its deployment's
 * variables, over them the preview-only ones, and over those its own.
 */
export async function deploymentEnv(
  db: Db,
  secrets: SecretBox,
  deploymentId: string,
): Promise<Record<string, string>> {
  const [row] = await db
    .select({ parentId: deployments.parentId })
    .from(deployments)
    .where(eq(deployments.id, deploymentId));
  const parentId = row?.parentId;
  return {
    ...(parentId ? await readEnvVars(db, secrets, parentId, "deployment") : {}),
    ...(parentId ? await readEnvVars(db, secrets, parentId, "preview") : {}),
    ...(await readEnvVars(db, secrets, deploymentId, "deployment")),
  };
}

/**
 * Every column the secret box seals, with the associated data each value is bound to. A new
 * encrypted column is added here, or `obiente secrets rotate` leaves it under the old key.
 */
import { and, asc, count, eq, ne, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import { gitCredentialAad } from "../deployments/git-credentials.js";
import { envAad } from "../deployments/service.js";
import { deployKeyAad } from "../projects/deploy-keys.js";
import { deploymentGitCredentials, envVars, projectDeployKeys } from "../store/schema.js";
import type { SealedColumn } from "./rotate.js";

/** The key id a sealed value names (secret-box.ts's format: v1:<keyId>:…). */
const keyIdOf = (column: PgColumn) => sql<string>`split_part(${column}, ':', 2)`;

const envVarValues: SealedColumn<{ deploymentId: string; key: string }> = {
  name: "env_vars.value_encrypted",
  async batch(tx, after, limit, currentKeyId) {
    const rows = await tx
      .select({
        deploymentId: envVars.deploymentId,
        key: envVars.key,
        sealed: envVars.valueEncrypted,
      })
      .from(envVars)
      .where(
        and(
          ne(keyIdOf(envVars.valueEncrypted), currentKeyId),
          after
            ? sql`(${envVars.deploymentId}, ${envVars.key}) > (${after.deploymentId}::uuid, ${after.key})`
            : undefined,
        ),
      )
      .orderBy(asc(envVars.deploymentId), asc(envVars.key))
      .limit(limit)
      .for("update");
    return rows.map((row) => ({
      position: { deploymentId: row.deploymentId, key: row.key },
      sealed: row.sealed,
      aad: envAad(row.deploymentId, row.key),
    }));
  },
  async write(tx, { deploymentId, key }, sealed) {
    // updated_at stays: the value is the same, only the key that seals it changed.
    await tx
      .update(envVars)
      .set({ valueEncrypted: sealed })
      .where(and(eq(envVars.deploymentId, deploymentId), eq(envVars.key, key)));
  },
  async countStale(db, currentKeyId) {
    const [row] = await db
      .select({ n: count() })
      .from(envVars)
      .where(ne(keyIdOf(envVars.valueEncrypted), currentKeyId));
    return row?.n ?? 0;
  },
  describe: ({ deploymentId, key }) => `deployment ${deploymentId}, env var ${key}`,
};

/** A sealed column of a table keyed by one uuid, bound to that id. */
function sealedById(
  name: string,
  table: PgTable,
  id: PgColumn,
  column: PgColumn,
  aad: (id: string) => string,
  describe: (id: string) => string,
): SealedColumn<string> {
  return {
    name,
    async batch(tx, after, limit, currentKeyId) {
      const rows = await tx
        .select({ id: sql<string>`${id}`, sealed: sql<string>`${column}` })
        .from(table)
        .where(
          and(ne(keyIdOf(column), currentKeyId), after ? sql`${id} > ${after}::uuid` : undefined),
        )
        .orderBy(asc(id))
        .limit(limit)
        .for("update");
      return rows.map((row) => ({ position: row.id, sealed: row.sealed, aad: aad(row.id) }));
    },
    async write(tx, position, sealed) {
      await tx.execute(
        sql`update ${table} set ${sql.identifier(column.name)} = ${sealed} where ${id} = ${position}::uuid`,
      );
    },
    async countStale(db, currentKeyId) {
      const [row] = await db
        .select({ n: count() })
        .from(table)
        .where(ne(keyIdOf(column), currentKeyId));
      return row?.n ?? 0;
    },
    describe,
  };
}

const gitCredentials = sealedById(
  "deployment_git_credentials.credential_encrypted",
  deploymentGitCredentials,
  deploymentGitCredentials.deploymentId,
  deploymentGitCredentials.credentialEncrypted,
  gitCredentialAad,
  (id) => `deployment ${id}, git credential`,
);

const deployKeys = sealedById(
  "project_deploy_keys.private_key_encrypted",
  projectDeployKeys,
  projectDeployKeys.projectId,
  projectDeployKeys.privateKeyEncrypted,
  deployKeyAad,
  (id) => `project ${id}, deploy key`,
);

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  envVarValues as SealedColumn,
  gitCredentials as SealedColumn,
  deployKeys as SealedColumn,
];

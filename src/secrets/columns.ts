/**
 * Every column the secret box seals, with the associated data each value is bound to. A new
 * encrypted column is added here, or `obiente secrets rotate` leaves it under the old key.
 */
import { and, asc, count, eq, ne, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import { envAad, gitCredentialAad, previewEnvAad, webhookAad } from "../deployments/index.js";
import { deployKeyAad } from "../projects/index.js";
import {
  deploymentGitCredentials,
  envVars,
  previewEnvVars,
  projectDeployKeys,
  projectWebhooks,
} from "../store/index.js";
import type { SealedColumn } from "./rotate.js";

/** The key id a sealed value names (secret-box.ts's format: v1:<keyId>:…). */
const keyIdOf = (column: PgColumn) => sql<string>`split_part(${column}, ':', 2)`;

/** Variables, keyed by deployment and key: a deployment's own, or those only its previews get. */
function variableValues(
  name: string,
  table: typeof envVars | typeof previewEnvVars,
  aad: (deploymentId: string, key: string) => string,
  what: string,
): SealedColumn<{ deploymentId: string; key: string }> {
  return {
    name,
    async batch(tx, after, limit, currentKeyId) {
      const rows = await tx
        .select({ deploymentId: table.deploymentId, key: table.key, sealed: table.valueEncrypted })
        .from(table)
        .where(
          and(
            ne(keyIdOf(table.valueEncrypted), currentKeyId),
            after
              ? sql`(${table.deploymentId}, ${table.key}) > (${after.deploymentId}::uuid, ${after.key})`
              : undefined,
          ),
        )
        .orderBy(asc(table.deploymentId), asc(table.key))
        .limit(limit)
        .for("update");
      return rows.map((row) => ({
        position: { deploymentId: row.deploymentId, key: row.key },
        sealed: row.sealed,
        aad: aad(row.deploymentId, row.key),
      }));
    },
    async write(tx, { deploymentId, key }, sealed) {
      // updated_at stays: the value is the same, only the key that seals it changed.
      await tx
        .update(table)
        .set({ valueEncrypted: sealed })
        .where(and(eq(table.deploymentId, deploymentId), eq(table.key, key)));
    },
    async countStale(db, currentKeyId) {
      const [row] = await db
        .select({ n: count() })
        .from(table)
        .where(ne(keyIdOf(table.valueEncrypted), currentKeyId));
      return row?.n ?? 0;
    },
    describe: ({ deploymentId, key }) => `deployment ${deploymentId}, ${what} ${key}`,
  };
}

const envVarValues = variableValues("env_vars.value_encrypted", envVars, envAad, "env var");
const previewEnvVarValues = variableValues(
  "preview_env_vars.value_encrypted",
  previewEnvVars,
  previewEnvAad,
  "preview env var",
);

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

const webhookSecrets = sealedById(
  "project_webhooks.secret_encrypted",
  projectWebhooks,
  projectWebhooks.projectId,
  projectWebhooks.secretEncrypted,
  webhookAad,
  (id) => `project ${id}, webhook secret`,
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
  previewEnvVarValues as SealedColumn,
  gitCredentials as SealedColumn,
  deployKeys as SealedColumn,
  webhookSecrets as SealedColumn,
];

/**
 * Every column the secret box seals, with the associated data each value is bound to. A new
 * encrypted column is added here, or `obiente secrets rotate` leaves it under the old key.
 */
import { and, asc, count, eq, ne, sql } from "drizzle-orm";
import { envAad } from "../deployments/service.js";
import { envVars } from "../store/schema.js";
import type { SealedColumn } from "./rotate.js";

/** The key id a sealed value names (secret-box.ts's format: v1:<keyId>:…). */
const keyIdOf = (column: typeof envVars.valueEncrypted) =>
  sql<string>`split_part(${column}, ':', 2)`;

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

export const SEALED_COLUMNS: readonly SealedColumn[] = [envVarValues as SealedColumn];

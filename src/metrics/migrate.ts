/**
 * The metrics tables in a metrics database of its own (METRICS_DATABASE_URL set): only the
 * metrics migration is applied there, with the same bookkeeping and advisory lock as the store's
 * migrations (src/store/migrate.ts), so that the platform's tables are not created in it. When
 * the metrics database is the main one, `migrate()` has already applied the file and this does
 * nothing.
 */
import { readFile } from "node:fs/promises";
import type { Database } from "../store/database.js";
import { migrationLockKey } from "../store/migrate.js";

export const METRICS_MIGRATION = "0003_metrics";
const file = new URL(`../store/migrations/${METRICS_MIGRATION}.sql`, import.meta.url);

/** Applies the metrics migration once; resolves whether this call applied it. */
export async function migrateMetrics(database: Database): Promise<boolean> {
  const sqlText = await readFile(file, "utf8");
  return database.rawTransaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${migrationLockKey})`);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
        version text PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const done = await tx.query("SELECT 1 FROM schema_migrations WHERE version = $1", [
      METRICS_MIGRATION,
    ]);
    if (done.length > 0) return false;
    await tx.exec(sqlText);
    await tx.query("INSERT INTO schema_migrations (version) VALUES ($1)", [METRICS_MIGRATION]);
    return true;
  });
}

/**
 * The metrics tables in a metrics database of its own (METRICS_DATABASE_URL set): only the
 * metrics migration is applied there, through the store's migrate (same bookkeeping, same
 * advisory lock), so that the platform's tables are not created in it. When the metrics
 * database is the main one, `migrate()` has already applied the file and this does nothing.
 */
import { type Database, migrate } from "../store/index.js";

export const METRICS_MIGRATION = "0003_metrics";

/** Applies the metrics migration once; resolves whether this call applied it. */
export async function migrateMetrics(database: Database): Promise<boolean> {
  const { applied } = await migrate(database, { only: [METRICS_MIGRATION] });
  return applied.length > 0;
}

/**
 * Applies `migrations/*.sql` in name order, each once, on either driver.
 *
 * Everything happens in one transaction that first takes a transaction-scoped advisory lock, so
 * that several processes may start at once: the first applies what is missing, the others wait for
 * its commit, then find nothing left to do. A failing file rolls the whole run back.
 *
 * The files are run as they are written, several statements each, inside that transaction: they
 * must not contain BEGIN/COMMIT, nor statements that refuse a transaction (CREATE INDEX
 * CONCURRENTLY, …).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Database } from "./database.js";

/** The advisory-lock key of migrations: the ASCII bytes of "obiente!" as a signed 64-bit integer. */
export const migrationLockKey = 8026093370293380385n;

const defaultDir = fileURLToPath(new URL("./migrations/", import.meta.url));

interface Migration {
  /** The file name without `.sql`, as kept in `schema_migrations`. */
  version: string;
  file: string;
  sql: string;
}

export interface MigrateOptions {
  /** The folder of `*.sql` files; `src/store/migrations` by default. */
  dir?: string;
  /** Only these versions (a separate metrics database gets the metrics migration alone). */
  only?: readonly string[];
}

export async function migrate(
  database: Database,
  options: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  // Read before taking the lock, so that the lock is held for database work only.
  const only = options.only;
  const migrations = (await readMigrations(options.dir ?? defaultDir)).filter(
    (migration) => only === undefined || only.includes(migration.version),
  );

  return database.rawTransaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${migrationLockKey})`);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
        version text PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const done = new Set(
      (await tx.query<{ version: string }>("SELECT version FROM schema_migrations")).map(
        (row) => row.version,
      ),
    );

    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      try {
        await tx.exec(migration.sql);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`migration ${migration.file} failed: ${reason}`, { cause: error });
      }
      await tx.query("INSERT INTO schema_migrations (version) VALUES ($1)", [migration.version]);
      applied.push(migration.version);
    }
    return { applied };
  });
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith(".sql")).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: file.slice(0, -".sql".length),
      file,
      sql: await readFile(join(dir, file), "utf8"),
    })),
  );
}

/**
 * Runs a test suite on both store drivers: `for (const driver of testDrivers) describe(driver.name, …)`.
 *
 * Each `open()` gives a database of its own, migrated unless asked otherwise: PGlite in memory, or
 * a fresh `obiente_test_<random>` database on the TEST_DATABASE_URL server, dropped on close.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { type Database, openDatabase } from "../../src/store/database.js";
import { migrate } from "../../src/store/migrate.js";

export const testDatabaseUrl =
  process.env.TEST_DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";

export type DriverName = "pglite" | "postgres";

export interface TestDatabase extends Database {
  name: DriverName;
  /** For postgres: the fresh database's URL, so that a test can start a second process on it. */
  url?: string;
}

export interface OpenTestDatabaseOptions {
  /** Apply src/store/migrations (default true). */
  migrate?: boolean;
}

export interface TestDriver {
  name: DriverName;
  open(options?: OpenTestDatabaseOptions): Promise<TestDatabase>;
}

export const testDrivers: TestDriver[] = [
  {
    name: "pglite",
    async open(options = {}) {
      const database = await openDatabase({ dataDir: "memory://" });
      return prepare({ ...database, name: "pglite" }, options);
    },
  },
  {
    name: "postgres",
    async open(options = {}) {
      const fresh = await freshPostgresUrl();
      let database: Database;
      try {
        database = await openDatabase({ url: fresh.url, maxConnections: 4 });
      } catch (error) {
        await fresh.drop();
        throw error;
      }
      return prepare(
        {
          ...database,
          name: "postgres",
          url: fresh.url,
          async close() {
            await database.close();
            await fresh.drop();
          },
        },
        options,
      );
    },
  },
];

async function prepare(
  database: TestDatabase,
  options: OpenTestDatabaseOptions,
): Promise<TestDatabase> {
  if (options.migrate === false) return database;
  try {
    await migrate(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

/**
 * A new, empty database on the TEST_DATABASE_URL server. `drop()` removes it even while
 * connections to it remain open (WITH (FORCE)); it is safe to call twice.
 */
export async function freshPostgresUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  // Only [0-9a-f_] in the name, so it needs no quoting.
  const name = `obiente_test_${randomBytes(8).toString("hex")}`;
  await asAdmin((sql) => sql.unsafe(`CREATE DATABASE ${name}`));
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  let dropping: Promise<void> | undefined;
  return {
    url: url.toString(),
    drop() {
      dropping ??= asAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      return dropping;
    },
  };
}

async function asAdmin(fn: (sql: postgres.Sql) => Promise<unknown>): Promise<void> {
  const sql = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} });
  try {
    await fn(sql);
  } finally {
    await sql.end();
  }
}

/** The SQLSTATE of a driver error, however drizzle wrapped it (it puts the driver's in `cause`). */
export function sqlStateOf(error: unknown): string | undefined {
  for (let e = error; e !== null && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

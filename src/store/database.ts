/**
 * The store's two drivers behind one contract: PostgreSQL through postgres.js (single server and
 * cluster modes) and PGlite, PostgreSQL compiled to WASM, in a data folder (embedded mode). Both
 * give the same drizzle `Db`, so every query and every migration is written once.
 */
import { mkdir, readFile } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";
import type { SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as schema from "./schema.js";

/**
 * What the rest of the code uses. The query-result type is the generic one, so what `db.execute`
 * returns is `unknown`: postgres.js gives an array of rows, PGlite a `{ rows }` object (see
 * `executeRows`). Everything drizzle maps itself (select, insert … returning, the relational
 * queries) is the same on both.
 */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The `tx` of `db.transaction(async (tx) => …)`. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export type SqlParameter = string | number | boolean | null;

/**
 * Raw SQL inside one transaction of the driver itself, for work that drizzle cannot express:
 * migrations, whose files hold several statements and must run as they are written.
 */
export interface RawTransaction {
  /** Several statements, no parameters (the simple query protocol). */
  exec(sqlText: string): Promise<void>;
  /** One statement with `$1 …` parameters; the rows as the driver parses them. */
  query<T extends Record<string, unknown>>(sqlText: string, params?: SqlParameter[]): Promise<T[]>;
}

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** Raw multi-statement SQL, outside any transaction. */
  exec(sqlText: string): Promise<void>;
  /** Runs `fn` in one driver transaction: committed when it resolves, rolled back when it throws. */
  rawTransaction<T>(fn: (tx: RawTransaction) => Promise<T>): Promise<T>;
  /** For `/health`: resolves when the database answers, throws when it cannot be reached. */
  ping(): Promise<void>;
  /** Ends every connection (postgres.js) or closes the data folder (PGlite). Safe to call twice. */
  close(): Promise<void>;
}

/** Pino-compatible; only debug messages are written. */
export interface DatabaseLogger {
  debug(details: object, message?: string): void;
}

export interface OpenDatabaseOptions {
  /**
   * A PostgreSQL URL. Several hosts are allowed, and are how a Patroni cluster is followed:
   * `postgres://u:p@h1:5432,h2:5432/db?target_session_attrs=read-write`. For every connection it
   * opens, postgres.js tries the hosts in turn and, with `read-write`, drops any that is read-only
   * (a replica). After a failover the connections to the old primary break, and the ones that
   * replace them find the new primary; queries running at that moment fail and are the caller's
   * to retry. The URL is passed to postgres.js untouched, so every parameter it understands
   * (sslmode, target_session_attrs, application_name, …) works; URL-encode the password.
   */
  url?: string;
  /** PGlite's data folder when there is no `url`; created if missing. `memory://` keeps nothing. */
  dataDir?: string;
  /** Pool size for PostgreSQL (default 10). PGlite has a single connection. */
  maxConnections?: number;
  logger?: DatabaseLogger;
}

const defaultMaxConnections = 10;
const defaultConnectTimeoutSeconds = 10;
/** How long `close()` lets running queries finish before it ends the connections. */
const closeTimeoutSeconds = 5;

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.url !== undefined && options.url !== "") {
    return openPostgres(options.url, options);
  }
  return openPglite(options.dataDir ?? "memory://", options);
}

/**
 * The rows of `db.execute(query)` (or `tx.execute`) on either driver. Values are what the driver
 * gives for raw SQL, which drizzle does not map: timestamps are strings on both, bigint is a string
 * on postgres.js and a number on PGlite. Prefer drizzle's builders where the types matter.
 */
export async function executeRows<T extends Record<string, unknown>>(
  db: Db | Tx,
  query: SQL,
): Promise<T[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as T[];
  if (result !== null && typeof result === "object" && "rows" in result) {
    return result.rows as T[];
  }
  throw new Error("executeRows: the driver returned no rows");
}

// Each driver is imported when it is opened: a process on PostgreSQL never loads PGlite (its
// WebAssembly build of PostgreSQL), and the embedded mode never loads postgres.js.
async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  const { logger } = options;
  const [{ default: postgres }, { drizzle: drizzlePostgres }] = await Promise.all([
    import("postgres"),
    import("drizzle-orm/postgres-js"),
  ]);
  const client = postgres(url, {
    max: options.maxConnections ?? defaultMaxConnections,
    // A URL's own connect_timeout wins over the default (an option given here would override it).
    ...(/[?&]connect_timeout=/.test(url) ? {} : { connect_timeout: defaultConnectTimeoutSeconds }),
    // Notices ("relation already exists, skipping", …) are not errors: debug log, not stderr.
    onnotice: (notice) => logger?.debug({ notice: notice.message }, "postgres notice"),
  });
  // No cast: PostgresJsDatabase is a PgDatabase over a result type that extends the generic one.
  const db: Db = drizzlePostgres(client, { schema });
  logger?.debug({ kind: "postgres" }, "database opened");

  let closing: Promise<void> | undefined;
  return {
    db,
    kind: "postgres",
    async exec(sqlText) {
      await client.unsafe(sqlText).simple();
    },
    async rawTransaction<T>(fn: (tx: RawTransaction) => Promise<T>): Promise<T> {
      // Boxed because begin() would await the elements of an array result (UnwrapPromiseArray).
      const { result } = await client.begin(async (sql) => ({
        result: await fn({
          async exec(sqlText) {
            await sql.unsafe(sqlText).simple();
          },
          query: <R extends Record<string, unknown>>(
            sqlText: string,
            params: SqlParameter[] = [],
          ) => sql.unsafe<R[]>(sqlText, params),
        }),
      }));
      return result;
    },
    async ping() {
      await client`select 1`;
    },
    close() {
      closing ??= client.end({ timeout: closeTimeoutSeconds });
      return closing;
    },
  };
}

async function openPglite(dataDir: string, options: OpenDatabaseOptions): Promise<Database> {
  const { logger } = options;
  if (!dataDir.includes("://")) await mkdir(dataDir, { recursive: true });
  const [{ PGlite }, { drizzle: drizzlePglite }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("drizzle-orm/pglite"),
  ]);
  const wasmModule = await pgliteModule();
  const client = await PGlite.create(dataDir, wasmModule ? { wasmModule } : {});
  const db: Db = drizzlePglite(client, { schema });
  logger?.debug({ kind: "pglite", dataDir }, "database opened");

  let closing: Promise<void> | undefined;
  return {
    db,
    kind: "pglite",
    async exec(sqlText) {
      await client.exec(sqlText);
    },
    // PGlite has one connection: while this runs, queries on `client` (or on `db`) wait for it.
    rawTransaction(fn) {
      return client.transaction((tx) =>
        fn({
          async exec(sqlText) {
            await tx.exec(sqlText);
          },
          async query<T extends Record<string, unknown>>(
            sqlText: string,
            params: SqlParameter[] = [],
          ) {
            return (await tx.query<T>(sqlText, params)).rows;
          },
        }),
      );
    },
    async ping() {
      await client.query("select 1");
    },
    close() {
      closing ??= client.close();
      return closing;
    },
  };
}

/**
 * PGlite's buffer pool. PGlite 0.3 starts PostgreSQL with arguments compiled into its
 * WebAssembly module, `shared_buffers=128MB` among them, and has no option to change them
 * (`startParams` comes with 0.4). The pool lives in the module's memory, and PostgreSQL touches
 * all of it when it starts, so those 128 MB were resident in every embedded process: most of
 * its memory at rest (docs/benchmarks.md, "Footprint"). A control plane's tables fit in far less,
 * and what is not cached is one read away in the operating system's page cache.
 */
export const PGLITE_SHARED_BUFFERS = "16MB";

const compiledArgument = "shared_buffers=128MB";

let pgliteCompiled: Promise<WebAssembly.Module | undefined> | undefined;

/**
 * PGlite's module with its `shared_buffers` argument set to PGLITE_SHARED_BUFFERS: the same
 * bytes, the shorter string padded with NULs (C strings end at the first one). Compiled once per
 * process and shared by every PGlite opened in it. When the argument is not found exactly once
 * (another PGlite build), PGlite loads its own module unchanged.
 */
function pgliteModule(): Promise<WebAssembly.Module | undefined> {
  pgliteCompiled ??= (async () => {
    // V8 compiles WebAssembly twice: at once with its baseline compiler (Liftoff), then its hot
    // functions again with the optimizing one (TurboFan), on background threads. For PGlite's
    // 9 MB module that second compiler's code and the memory its threads leave with the
    // allocator were 60 to 90 MB of the embedded process at rest (docs/benchmarks.md,
    // "Footprint"). Liftoff's code serves a control plane's queries well enough. The flag is
    // the process's, read when a module is compiled; PGlite's is the only large one.
    setFlagsFromString("--liftoff-only");
    const file = new URL("pglite.wasm", import.meta.resolve("@electric-sql/pglite"));
    const bytes = await readFile(file);
    const from = Buffer.from(`${compiledArgument}\0`);
    const at = bytes.indexOf(from);
    if (at === -1 || bytes.indexOf(from, at + 1) !== -1) return undefined;
    const to = Buffer.alloc(from.length);
    to.write(`shared_buffers=${PGLITE_SHARED_BUFFERS}`);
    to.copy(bytes, at);
    return WebAssembly.compile(bytes);
  })();
  return pgliteCompiled;
}

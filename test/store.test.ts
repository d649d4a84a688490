/**
 * The store on both drivers: migrations, the schema as drizzle sees it against the tables the SQL
 * made, the constraints the platform relies on, and type round-trips.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { and, eq, is, sql } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { PGLITE_SHARED_BUFFERS } from "../src/store/database.js";
import {
  auditLog,
  controllerState,
  type Database,
  type Db,
  deployments,
  domains,
  envVars,
  executeRows,
  memberships,
  migrate,
  nodeMetadata,
  openDatabase,
  organizations,
  projects,
  type RoleName,
  schema,
  users,
} from "../src/store/index.js";
import {
  freshPostgresUrl,
  sqlStateOf,
  type TestDatabase,
  testDrivers,
} from "./helpers/databases.js";

const migrationsDir = fileURLToPath(new URL("../src/store/migrations/", import.meta.url));
const allVersions = (await readdir(migrationsDir))
  .filter((file) => file.endsWith(".sql"))
  .sort()
  .map((file) => file.slice(0, -".sql".length));

const uniqueViolation = "23505";
const checkViolation = "23514";

async function rejectsWithSqlState(promise: Promise<unknown>, state: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal(sqlStateOf(error), state, `expected SQLSTATE ${state}, got: ${String(error)}`);
    return true;
  });
}

/** An organization with one project and one deployment in it. */
async function seedOrganization(db: Db) {
  const organizationId = randomUUID();
  const projectId = randomUUID();
  const deploymentId = randomUUID();
  await db
    .insert(organizations)
    .values({ id: organizationId, name: "Acme", slug: `acme-${organizationId}` });
  await db.insert(projects).values({ id: projectId, organizationId, name: "Shop", slug: "shop" });
  await db.insert(deployments).values({
    id: deploymentId,
    organizationId,
    projectId,
    name: "web",
    gitRepo: "https://git.example.com/acme/shop.git",
    branch: "main",
  });
  return { organizationId, projectId, deploymentId };
}

async function tableExists(database: Database, table: string): Promise<boolean> {
  const [row] = await executeRows<{ found: boolean }>(
    database.db,
    sql`SELECT to_regclass(${table}) IS NOT NULL AS found`,
  );
  return row?.found === true;
}

for (const driver of testDrivers) {
  describe(driver.name, () => {
    let database: TestDatabase;
    before(async () => {
      database = await driver.open();
    });
    after(() => database?.close());

    describe("migrations", () => {
      test("apply every file on an empty database, then nothing the second time", async () => {
        const empty = await driver.open({ migrate: false });
        try {
          assert.deepEqual(await migrate(empty), { applied: allVersions });
          assert.deepEqual(await migrate(empty), { applied: [] });
          const rows = await executeRows<{ version: string; applied_at: unknown }>(
            empty.db,
            sql`SELECT version, applied_at FROM schema_migrations ORDER BY version`,
          );
          assert.deepEqual(
            rows.map((row) => row.version),
            allVersions,
          );
          assert.ok(rows.every((row) => row.applied_at !== null));
        } finally {
          await empty.close();
        }
      });

      test("a failing file rolls the whole run back and names the file", async () => {
        const dir = await mkdtemp(join(tmpdir(), "obiente-migrations-"));
        const empty = await driver.open({ migrate: false });
        try {
          await writeFile(
            join(dir, "0001_ok.sql"),
            "CREATE TABLE ok_table (id int);\nINSERT INTO ok_table VALUES (1);\n",
          );
          await writeFile(
            join(dir, "0002_bad.sql"),
            "CREATE TABLE bad_table (id int);\nSELECT * FROM no_such_table;\n",
          );
          await assert.rejects(migrate(empty, { dir }), (error: unknown) => {
            assert.ok(error instanceof Error);
            assert.match(error.message, /0002_bad\.sql/);
            assert.equal(sqlStateOf(error.cause), "42P01"); // undefined_table
            return true;
          });
          for (const table of ["ok_table", "bad_table", "schema_migrations"]) {
            assert.equal(await tableExists(empty, table), false, `${table} was rolled back`);
          }
          // The connection is usable afterwards, and the real migrations still apply.
          assert.deepEqual(await migrate(empty), { applied: allVersions });
        } finally {
          await empty.close();
          await rm(dir, { recursive: true, force: true });
        }
      });

      test("make every table and column of schema.ts, with its type, nullability and default", async () => {
        const rows = await executeRows<{
          table_name: string;
          column_name: string;
          data_type: string;
          is_nullable: "YES" | "NO";
          column_default: string | null;
          is_identity: "YES" | "NO";
        }>(
          database.db,
          sql`SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
              FROM information_schema.columns
              WHERE table_schema = current_schema()`,
        );
        const actual = new Map<string, Map<string, (typeof rows)[number]>>();
        for (const row of rows) {
          const columns = actual.get(row.table_name) ?? new Map();
          columns.set(row.column_name, row);
          actual.set(row.table_name, columns);
        }

        const tables = Object.values(schema).filter((value) => is(value, PgTable));
        assert.ok(tables.length > 0);
        for (const table of tables) {
          const config = getTableConfig(table);
          const columns = actual.get(config.name);
          assert.ok(columns, `table ${config.name} exists`);
          assert.deepEqual(
            [...columns.keys()].sort(),
            config.columns.map((column) => column.name).sort(),
            `columns of ${config.name}: the SQL and schema.ts list the same`,
          );
          for (const column of config.columns) {
            const found = columns.get(column.name);
            const where = `${config.name}.${column.name}`;
            assert.ok(found, where);
            assert.equal(found.data_type, column.getSQLType(), `type of ${where}`);
            assert.equal(found.is_nullable === "NO", column.notNull, `nullability of ${where}`);
            const hasDefault: boolean =
              found.column_default !== null || found.is_identity === "YES";
            assert.equal(hasDefault, column.hasDefault, `default of ${where}`);
          }
        }
        // And no table in the SQL that schema.ts does not describe, except the metrics
        // tables (0003_metrics.sql, which may live in a database of their own and are read by
        // src/metrics/metrics-store.ts in SQL) and their daily partitions.
        const described = new Set([
          ...tables.map((table) => getTableConfig(table).name),
          "schema_migrations",
        ]);
        const metricsTable =
          /^(container_metrics_minute|node_metrics_minute|deployment_usage_hourly)(_p\d{8})?$/;
        assert.deepEqual(
          [...actual.keys()].filter((name) => !described.has(name) && !metricsTable.test(name)),
          [],
        );
      });
    });

    describe("constraints", () => {
      test("a verified domain belongs to one deployment on the whole platform", async () => {
        const a = await seedOrganization(database.db);
        const b = await seedOrganization(database.db);
        const domain = `shop-${randomUUID()}.example.com`;
        await database.db.insert(domains).values({
          domain,
          deploymentId: a.deploymentId,
          organizationId: a.organizationId,
          status: "verified",
        });
        await rejectsWithSqlState(
          database.db.insert(domains).values({
            domain,
            deploymentId: b.deploymentId,
            organizationId: b.organizationId,
            status: "verified",
          }),
          uniqueViolation,
        );
      });

      test("pending claims of two organizations coexist; only one may become verified", async () => {
        const a = await seedOrganization(database.db);
        const b = await seedOrganization(database.db);
        const domain = `claimed-${randomUUID()}.example.com`;
        for (const o of [a, b]) {
          await database.db
            .insert(domains)
            .values({ domain, deploymentId: o.deploymentId, organizationId: o.organizationId });
        }
        // One organization claims a domain once, on one deployment.
        await rejectsWithSqlState(
          database.db
            .insert(domains)
            .values({ domain, deploymentId: a.deploymentId, organizationId: a.organizationId }),
          uniqueViolation,
        );
        await database.db
          .update(domains)
          .set({ status: "verified" })
          .where(and(eq(domains.domain, domain), eq(domains.organizationId, a.organizationId)));
        await rejectsWithSqlState(
          database.db
            .update(domains)
            .set({ status: "verified" })
            .where(and(eq(domains.domain, domain), eq(domains.organizationId, b.organizationId))),
          uniqueViolation,
        );
      });

      test("domains are lowercase", async () => {
        const a = await seedOrganization(database.db);
        await rejectsWithSqlState(
          database.db.insert(domains).values({
            domain: `Shop-${randomUUID()}.example.com`,
            deploymentId: a.deploymentId,
            organizationId: a.organizationId,
          }),
          checkViolation,
        );
      });

      test("a membership's role is one of the four", async () => {
        const { organizationId } = await seedOrganization(database.db);
        const userId = randomUUID();
        await database.db.insert(users).values({ id: userId, email: `${userId}@example.com` });
        await rejectsWithSqlState(
          database.db
            .insert(memberships)
            .values({ organizationId, userId, role: "superuser" as RoleName }),
          checkViolation,
        );
        await database.db.insert(memberships).values({ organizationId, userId, role: "viewer" });
      });

      test("a deployment's name is unique within its project only", async () => {
        const { organizationId, projectId } = await seedOrganization(database.db);
        const otherProjectId = randomUUID();
        await database.db
          .insert(projects)
          .values({ id: otherProjectId, organizationId, name: "Blog", slug: "blog" });
        const web = {
          organizationId,
          name: "web",
          gitRepo: "https://git.example.com/acme/shop.git",
          branch: "main",
        };
        await rejectsWithSqlState(
          database.db.insert(deployments).values({ ...web, id: randomUUID(), projectId }),
          uniqueViolation,
        );
        await database.db
          .insert(deployments)
          .values({ ...web, id: randomUUID(), projectId: otherProjectId });
      });

      test("deleting an organization deletes what it holds", async () => {
        const { organizationId, projectId, deploymentId } = await seedOrganization(database.db);
        const userId = randomUUID();
        await database.db.insert(users).values({ id: userId, email: `${userId}@example.com` });
        await database.db.insert(memberships).values({ organizationId, userId, role: "owner" });
        await database.db.insert(domains).values({
          domain: `shop-${randomUUID()}.example.com`,
          deploymentId,
          organizationId,
        });
        await database.db
          .insert(envVars)
          .values({ deploymentId, key: "DATABASE_URL", valueEncrypted: "v1:ciphertext" });

        await database.db.delete(organizations).where(eq(organizations.id, organizationId));

        const db = database.db;
        const left = {
          projects: await db.$count(projects, eq(projects.id, projectId)),
          deployments: await db.$count(deployments, eq(deployments.id, deploymentId)),
          domains: await db.$count(domains, eq(domains.deploymentId, deploymentId)),
          envVars: await db.$count(envVars, eq(envVars.deploymentId, deploymentId)),
          memberships: await db.$count(memberships, eq(memberships.organizationId, organizationId)),
          users: await db.$count(users, eq(users.id, userId)),
        };
        assert.deepEqual(left, {
          projects: 0,
          deployments: 0,
          domains: 0,
          envVars: 0,
          memberships: 0,
          users: 1, // a user outlives the organizations they belonged to
        });
      });
    });

    describe("types", () => {
      test("jsonb, timestamptz and bigint columns round-trip", async () => {
        const id = `node-${randomUUID()}`;
        const heartbeat = new Date("2025-03-04T05:06:07.891Z");
        const labels = { zone: "eu-west-1", "obiente.cloud/gpu": "true", quote: `"'\\ ü` };
        const memoryBytes = 2 ** 40 + 7; // beyond 32 bits, within Number.MAX_SAFE_INTEGER
        await database.db
          .insert(nodeMetadata)
          .values({ id, labels, memoryBytes, lastHeartbeat: heartbeat, cpuCores: 7.5 });

        const [node] = await database.db.select().from(nodeMetadata).where(eq(nodeMetadata.id, id));
        assert.ok(node);
        assert.deepEqual(node.labels, labels);
        // Stored as a JSON object, not as a string holding JSON (which drizzle would hide on read).
        const [stored] = await executeRows<{ kind: string; zone: string }>(
          database.db,
          sql`SELECT jsonb_typeof(labels) AS kind, labels ->> 'zone' AS zone
              FROM node_metadata WHERE id = ${id}`,
        );
        assert.deepEqual(stored, { kind: "object", zone: "eu-west-1" });
        assert.equal(node.memoryBytes, memoryBytes);
        assert.equal(node.memoryUsedBytes, 0);
        assert.equal(node.cpuCores, 7.5);
        assert.ok(node.lastHeartbeat instanceof Date);
        assert.equal(node.lastHeartbeat.getTime(), heartbeat.getTime());
        assert.ok(node.createdAt instanceof Date);
        assert.ok(Math.abs(node.createdAt.getTime() - Date.now()) < 60_000, "now() is now");

        const details = { nested: { list: [1, "two", null, true], n: 1.5 }, empty: {} };
        const [entry] = await database.db
          .insert(auditLog)
          .values({ action: "node.label", resourceType: "node", resourceId: id, details })
          .returning();
        assert.ok(entry);
        assert.equal(typeof entry.id, "number");
        assert.deepEqual(entry.details, details);
        assert.ok(entry.at instanceof Date);

        const key = `round-robin-${randomUUID()}`;
        await database.db.insert(controllerState).values({ key, value: [3, { next: "b" }] });
        const [state] = await database.db
          .select()
          .from(controllerState)
          .where(eq(controllerState.key, key));
        assert.deepEqual(state?.value, [3, { next: "b" }]);
      });

      test("timestamps stay right when the session's time zone is not UTC", async () => {
        const id = `node-${randomUUID()}`;
        const heartbeat = new Date("2025-12-31T23:59:59.999Z");
        await database.db.insert(nodeMetadata).values({ id, lastHeartbeat: heartbeat });
        // postgres.js passes unknown URL parameters as startup parameters of the connection.
        const other =
          database.url === undefined
            ? undefined
            : await openDatabase({ url: `${database.url}?TimeZone=Asia%2FKolkata` });
        const db = other?.db ?? database.db;
        try {
          if (other === undefined) await database.exec("SET TIME ZONE 'Asia/Kolkata'");
          const [zone] = await executeRows<{ TimeZone: string }>(db, sql`SHOW TIME ZONE`);
          assert.equal(zone?.TimeZone, "Asia/Kolkata");
          const [node] = await db.select().from(nodeMetadata).where(eq(nodeMetadata.id, id));
          assert.equal(node?.lastHeartbeat?.toISOString(), heartbeat.toISOString());
          const later = new Date("2026-06-30T12:00:00.001Z");
          await db
            .update(nodeMetadata)
            .set({ lastHeartbeat: later })
            .where(eq(nodeMetadata.id, id));
          const [updated] = await database.db
            .select({ lastHeartbeat: nodeMetadata.lastHeartbeat })
            .from(nodeMetadata)
            .where(eq(nodeMetadata.id, id));
          assert.equal(updated?.lastHeartbeat?.toISOString(), later.toISOString());
        } finally {
          if (other === undefined) await database.exec("RESET TIME ZONE");
          await other?.close();
        }
      });
    });

    describe("transactions", () => {
      test("a transaction that throws leaves nothing behind", async () => {
        const id = randomUUID();
        await assert.rejects(
          database.db.transaction(async (tx) => {
            await tx.insert(organizations).values({ id, name: "Ghost", slug: `ghost-${id}` });
            assert.equal(await tx.$count(organizations, eq(organizations.id, id)), 1);
            throw new Error("changed my mind");
          }),
          /changed my mind/,
        );
        assert.equal(await database.db.$count(organizations, eq(organizations.id, id)), 0);
      });

      test("a transaction that returns is committed", async () => {
        const id = randomUUID();
        const name = await database.db.transaction(async (tx) => {
          await tx.insert(organizations).values({ id, name: "Kept", slug: `kept-${id}` });
          return "Kept";
        });
        assert.equal(name, "Kept");
        assert.equal(await database.db.$count(organizations, eq(organizations.id, id)), 1);
      });
    });

    test("ping answers, close is safe twice", async () => {
      const extra = await driver.open({ migrate: false });
      await extra.ping();
      await extra.close();
      await extra.close();
      await assert.rejects(extra.ping());
    });

    if (driver.name === "postgres") {
      test("three processes migrating one fresh database at once apply each file once", async () => {
        const fresh = await freshPostgresUrl();
        const processes = await Promise.all(
          [1, 2, 3].map(() => openDatabase({ url: fresh.url, maxConnections: 1 })),
        );
        try {
          const results = await Promise.all(processes.map((p) => migrate(p)));
          assert.deepEqual(results.flatMap((result) => result.applied).sort(), allVersions);
          assert.equal(results.filter((result) => result.applied.length > 0).length, 1);
          const [first] = processes;
          assert.ok(first);
          const rows = await executeRows<{ version: string }>(
            first.db,
            sql`SELECT version FROM schema_migrations ORDER BY version`,
          );
          assert.deepEqual(
            rows.map((row) => row.version),
            allVersions,
          );
        } finally {
          await Promise.all(processes.map((p) => p.close()));
          await fresh.drop();
        }
      });

      test("ping throws when the server cannot be reached", async () => {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        const unreachable = await openDatabase({
          url: "postgres://postgres:postgres@127.0.0.1:1/postgres?connect_timeout=2",
        });
        try {
          await assert.rejects(unreachable.ping());
        } finally {
          await unreachable.close();
        }
      });

      test("a URL with several hosts reaches the one that accepts writes", async () => {
        // What a Patroni cluster looks like to postgres.js: the first host is down, the second
        // is the primary. target_session_attrs=read-write makes it skip read-only hosts too.
        const url = new URL(database.url ?? "");
        const multiHost = `postgres://${url.username}:${url.password}@127.0.0.1:1,${url.host}${url.pathname}?target_session_attrs=read-write`;
        const cluster = await openDatabase({ url: multiHost });
        try {
          await cluster.ping();
          assert.equal(
            await cluster.db.$count(organizations),
            await database.db.$count(organizations),
          );
        } finally {
          await cluster.close();
        }
      });
    }

    if (driver.name === "pglite") {
      test("data survives closing and reopening the data folder", async () => {
        const root = await mkdtemp(join(tmpdir(), "obiente-pglite-"));
        const dataDir = join(root, "data", "nested"); // openDatabase creates the missing folders
        try {
          const first = await openDatabase({ dataDir });
          let organizationId: string;
          try {
            await migrate(first);
            ({ organizationId } = await seedOrganization(first.db));
          } finally {
            await first.close();
          }

          const second = await openDatabase({ dataDir });
          try {
            assert.deepEqual(await migrate(second), { applied: [] });
            const [organization] = await second.db
              .select()
              .from(organizations)
              .where(eq(organizations.id, organizationId));
            assert.equal(organization?.name, "Acme");
            assert.equal(await second.db.$count(deployments), 1);
          } finally {
            await second.close();
          }
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      });

      // The buffer pool is most of an embedded process's memory at rest (docs/benchmarks.md,
      // "Footprint"); a PGlite upgrade that drops the smaller setting shows here.
      test("runs with the small buffer pool, not the 128 MB compiled into PGlite", async () => {
        const rows = await executeRows<{ shared_buffers: string }>(
          database.db,
          sql`show shared_buffers`,
        );
        assert.equal(rows[0]?.shared_buffers, PGLITE_SHARED_BUFFERS);
      });
    }

    test("raw rows come back as the driver gives them", async () => {
      // Documents a difference drizzle's builders hide but db.execute does not.
      const [row] = await executeRows<{ big: unknown; at: unknown; doc: unknown }>(
        database.db,
        sql`SELECT 5000000000::bigint AS big, now() AS at, '{"a":1}'::jsonb AS doc`,
      );
      assert.ok(row);
      assert.deepEqual(row.doc, { a: 1 });
      assert.equal(typeof row.at, "string");
      assert.equal(Number(row.big), 5_000_000_000);
    });
  });
}

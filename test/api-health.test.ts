/**
 * /health (readiness) and /health/live (liveness) when the database stops answering: the API
 * on a fresh PostgreSQL database that is then closed to connections, its open ones ended, as a
 * database failover or outage does. Liveness must keep answering 200 (the image's HEALTHCHECK
 * asks it, and a restart would cure nothing); readiness answers 503 and says why.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import postgres from "postgres";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";

describe("health while the database is down", () => {
  let t: TestPlatform;
  let admin: postgres.Sql;
  let database = "";

  before(async () => {
    t = await startTestPlatform({ database: "postgres" });
    const url = new URL(t.platform.ctx.config.DATABASE_URL ?? "");
    database = url.pathname.slice(1);
    url.pathname = "/postgres";
    admin = postgres(url.toString(), { max: 1, onnotice: () => {} });
  });

  after(async () => {
    await admin`ALTER DATABASE ${admin(database)} ALLOW_CONNECTIONS true`;
    await admin.end();
    await t.close();
  });

  it("/health/live answers 200 while /health answers 503 naming the database", async () => {
    const ready = await fetch(`${t.baseUrl}/health`);
    assert.equal(ready.status, 200, await ready.text());
    const live = await fetch(`${t.baseUrl}/health/live`);
    assert.equal(live.status, 200);
    assert.equal(((await live.json()) as { status: string }).status, "ok");

    await admin`ALTER DATABASE ${admin(database)} ALLOW_CONNECTIONS false`;
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${database} AND pid <> pg_backend_pid()`;

    const down = await fetch(`${t.baseUrl}/health`);
    const report = (await down.json()) as {
      checks: Record<string, { ok: boolean; detail?: string }>;
    };
    assert.equal(down.status, 503, JSON.stringify(report));
    assert.equal(report.checks.database?.ok, false);
    assert.ok(report.checks.database?.detail, "says why");

    const stillLive = await fetch(`${t.baseUrl}/health/live`);
    assert.equal(stillLive.status, 200, await stillLive.text());
  });
});

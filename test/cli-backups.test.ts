/**
 * `obiente backup ls|now`, the real binary against a real API on a platform without backup
 * agents: a clear error and a non-zero exit code for each, a usage error for a type that does not
 * exist, and PermissionDenied for a user who is not a platform administrator. Listing and taking
 * backups through real agents is the stack test's (test/stack-deploy.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { addUserWithToken, startTestPlatform, type TestPlatform } from "./helpers/api.js";
import { type CliTarget, runCli } from "./helpers/cli.js";

describe("CLI: backup ls|now on a platform without backup agents", () => {
  let t: TestPlatform;
  let admin: CliTarget;
  let user: CliTarget;

  before(async () => {
    t = await startTestPlatform();
    admin = { api: t.baseUrl, token: t.adminToken, home: t.dataDir };
    user = { ...admin, token: (await addUserWithToken(t.platform.ctx.db)).token };
  });

  after(() => t?.close());

  const notConfigured =
    "obiente: backups are not configured: set BACKUP_AGENT_URLS and BACKUP_AGENT_TOKEN\n";

  it("backup ls, backup (its default) and backup ls --json: the error, exit 1, nothing on stdout", async () => {
    for (const args of [["backup", "ls"], ["backup"], ["backup", "ls", "--json"]]) {
      const result = await runCli(admin, ...args);
      assert.equal(result.code, 1, `obiente ${args.join(" ")}: ${result.stderr}`);
      assert.equal(result.stdout, "");
      assert.ok(result.stderr.endsWith(notConfigured), result.stderr);
    }
  });

  it("backup now: the error, exit 1; a type that does not exist is a usage error (2)", async () => {
    const now = await runCli(admin, "backup", "now", "--type", "incr");
    assert.equal(now.code, 1, now.stderr);
    assert.equal(now.stdout, "");
    assert.ok(now.stderr.endsWith(notConfigured), now.stderr);
    const weekly = await runCli(admin, "backup", "now", "--type", "weekly");
    assert.equal(weekly.code, 2, weekly.stderr);
    assert.match(
      weekly.stderr,
      /argument 'weekly' is invalid\. Allowed choices are full, diff, incr/,
    );
  });

  it("someone who is not a platform administrator: exit 4", async () => {
    const result = await runCli(user, "backup", "ls");
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /only platform administrators can do this/);
  });
});

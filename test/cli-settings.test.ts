/**
 * The CLI's settings commands and its contract with scripts, each run as the real `obiente`
 * binary against a real API (the API role alone: nothing here builds): env ls|set|rm (values
 * hidden unless --reveal, .env files), domains ls|add|rm, projects ls and projects key
 * (--rotate for owners and admins only), orgs, open, the --json shapes, and the exit codes a
 * script can rely on (README.md): 2 usage, 3 not found, 4 permission denied, 5 unauthenticated,
 * 6 unreachable.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { nodeMetadata } from "../src/store/schema.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";
import { type CliTarget, cliJson, cliOrganization, orgCommands } from "./helpers/cli.js";

const REPO = "https://git.example.test/acme/shop.git";

describe("CLI: env, domains, project keys, JSON and exit codes against a real API", () => {
  let t: TestPlatform;
  let org = "";
  let owner: CliTarget;
  let viewer: CliTarget;

  const { as, json, ok, fails } = orgCommands(() => ({ org, owner }));

  before(async () => {
    t = await startTestPlatform();
    ({ org, owner, viewer } = await cliOrganization(t, "CLI Settings"));
    const deployed = await ok(
      "deploy",
      "--git",
      REPO,
      "--name",
      "shop",
      "--project",
      "settings",
      "--no-follow",
    );
    assert.match(deployed.stdout, /deployment shop \([0-9a-f-]{36}\) queued\n/);
  });

  after(() => t?.close());

  it("env set (pairs and a .env file), ls hides values unless --reveal, rm", async () => {
    const file = join(t.dataDir, "app.env");
    await writeFile(
      file,
      [
        "# app settings",
        "export DATABASE_URL='postgres://db/app'",
        'GREETING="hello\\nworld"',
        "A=from-file",
        "",
      ].join("\n"),
    );
    const set = await ok("env", "set", "shop", "A=1", "B=two words", "--from-file", file);
    assert.equal(set.stdout, "set A, B, DATABASE_URL, GREETING on shop\n");
    assert.match(set.stderr, /obiente restart shop/);

    const hidden = await ok("env", "ls", "shop");
    assert.equal(hidden.stdout, "A\nB\nDATABASE_URL\nGREETING\n");
    assert.match(hidden.stderr, /--reveal/);
    const shown = await ok("env", "ls", "shop", "--reveal");
    assert.equal(
      shown.stdout,
      "A=1\nB=two words\nDATABASE_URL=postgres://db/app\nGREETING=hello\nworld\n",
    );
    assert.deepEqual(await json("env", "ls", "shop"), [
      { key: "A", value: null },
      { key: "B", value: null },
      { key: "DATABASE_URL", value: null },
      { key: "GREETING", value: null },
    ]);
    const revealed = await json<Array<{ key: string; value: string }>>(
      "env",
      "ls",
      "shop",
      "--reveal",
    );
    assert.equal(revealed.find((e) => e.key === "GREETING")?.value, "hello\nworld");
    // A viewer sees the keys; the server gives it no values, even asked to reveal them.
    const asViewer = await cliJson<Array<{ key: string; value: string }>>(
      viewer,
      "env",
      "ls",
      "shop",
      "--reveal",
      "--org",
      org,
    );
    assert.deepEqual(
      asViewer.map((e) => [e.key, e.value]),
      [
        ["A", ""],
        ["B", ""],
        ["DATABASE_URL", ""],
        ["GREETING", ""],
      ],
    );

    await ok("env", "rm", "shop", "A", "B");
    assert.equal((await ok("env", "ls", "shop")).stdout, "DATABASE_URL\nGREETING\n");
    await fails(3, owner, "env", "rm", "shop", "NOPE");
    await fails(2, owner, "env", "set", "shop");
    await fails(2, owner, "env", "set", "shop", "NOEQUALS");
    const bad = join(t.dataDir, "bad.env");
    await writeFile(bad, 'OK=1\nBROKEN="never closed\n');
    const badFile = await fails(2, owner, "env", "set", "shop", "--from-file", bad);
    assert.match(badFile.stderr, /line 2: the value of BROKEN has no closing "/);
    await fails(2, owner, "env", "set", "shop", "--from-file", join(t.dataDir, "missing.env"));
    // The server refuses a bad key: InvalidArgument is a usage error, and nothing changed.
    const refused = await fails(2, owner, "env", "set", "shop", "1BAD=x", "C=3");
    assert.match(refused.stderr, /env var key "1BAD" is invalid/);
    assert.equal((await ok("env", "ls", "shop")).stdout, "DATABASE_URL\nGREETING\n");
    await fails(4, viewer, "env", "set", "shop", "X=1");
  });

  it("domains ls|add|rm", async () => {
    const added = await ok("domains", "add", "shop", "Shop.Example.test");
    // Pending until the organization proves it owns the domain: the record to add is printed.
    assert.match(
      added.stdout,
      /^shop\.example\.test {2}pending\n {2}to verify: add a TXT record\n/,
    );
    assert.match(added.stdout, /name: {2}_obiente-challenge\.shop\.example\.test\n/);
    const list = await json<
      Array<{
        domain: string;
        isDefault: boolean;
        status: string;
        verification?: { recordType: string; recordName: string; recordValue: string };
        createdAt: string;
      }>
    >("domains", "ls", "shop");
    assert.deepEqual(
      list.map((d) => [d.domain, d.isDefault, d.status]),
      [
        ["shop.localhost", true, "default"],
        ["shop.example.test", false, "pending"],
      ],
    );
    assert.deepEqual(Object.keys(list[0] ?? {}).sort(), [
      "createdAt",
      "domain",
      "isDefault",
      "status",
    ]);
    assert.equal(list[1]?.verification?.recordName, "_obiente-challenge.shop.example.test");
    const text = (await ok("domains", "ls", "shop")).stdout;
    assert.ok(text.startsWith("shop.localhost  default\nshop.example.test  pending\n"), text);
    await ok("domains", "rm", "shop", "shop.example.test");
    assert.equal((await json<unknown[]>("domains", "ls", "shop")).length, 1);
    const platformDomain = await fails(2, owner, "domains", "add", "shop", "other.localhost");
    assert.match(platformDomain.stderr, /under the platform's domain/);
    const defaultDomain = await fails(1, owner, "domains", "rm", "shop", "shop.localhost");
    assert.match(defaultDomain.stderr, /default domain cannot be removed/);
    await fails(3, owner, "domains", "rm", "shop", "never.example.test");
    await fails(4, viewer, "domains", "add", "shop", "viewer.example.test");
  });

  it("projects ls, and projects key: shown to every member, rotated by owners and admins", async () => {
    const projects = await json<Array<Record<string, unknown>>>("projects", "ls");
    assert.deepEqual(
      projects.map((p) => p.slug),
      ["settings"],
    );
    assert.deepEqual(Object.keys(projects[0] ?? {}).sort(), [
      "createdAt",
      "description",
      "id",
      "name",
      "organizationId",
      "slug",
    ]);
    const projectId = String(projects[0]?.id);

    const shown = await ok("projects", "key", "settings");
    const line = shown.stdout.trim();
    assert.match(
      line,
      new RegExp(`^ssh-ed25519 [A-Za-z0-9+/]+ obiente-project-settings-${projectId.slice(0, 8)}$`),
    );
    assert.match(shown.stderr, /SHA256:.*deploy keys/);
    const key = await json<Record<string, string>>("projects", "key", projectId);
    assert.deepEqual(Object.keys(key).sort(), [
      "createdAt",
      "fingerprint",
      "projectId",
      "publicKey",
    ]);
    assert.equal(key.publicKey, line);
    const seenByViewer = await as(viewer, "projects", "key", "settings");
    assert.equal(seenByViewer.stdout.trim(), line);

    const refused = await fails(4, viewer, "projects", "key", "settings", "--rotate");
    assert.match(refused.stderr, /needs admin or above/);
    const rotated = await ok("projects", "key", "settings", "--rotate");
    assert.notEqual(rotated.stdout.trim(), line);
    assert.match(rotated.stderr, /the old one no longer clones/);
    assert.equal((await as(viewer, "projects", "key", "settings")).stdout, rotated.stdout);
    await fails(3, owner, "projects", "key", "nope");
  });

  it("orgs, ls and nodes print JSON; open prints the URL", async () => {
    await t.platform.ctx.db.insert(nodeMetadata).values({
      id: "node-cli-1",
      hostname: "worker-1",
      address: "10.0.0.11",
      labels: { zone: "eu-1" },
      cpuCores: 4,
      memoryBytes: 8 * 1024 ** 3,
    });
    const nodes = await cliJson<Array<Record<string, unknown>>>(owner, "nodes");
    const node = nodes.find((n) => n.id === "node-cli-1");
    assert.deepEqual(node && Object.keys(node).sort(), [
      "address",
      "availability",
      "cpuCores",
      "deploymentCount",
      "hostname",
      "id",
      "labels",
      "lastHeartbeat",
      "maxDeployments",
      "memoryBytes",
      "role",
      "statusMessage",
    ]);
    assert.equal(node?.memoryBytes, 8 * 1024 ** 3);
    assert.deepEqual(node?.labels, { zone: "eu-1" });

    const orgs = await cliJson<Array<Record<string, string>>>(owner, "orgs");
    const mine = orgs.find((o) => o.id === org);
    assert.deepEqual(mine && Object.keys(mine).sort(), ["id", "name", "role", "slug"]);
    assert.equal(mine?.role, "owner");
    const list = await json<Array<{ name: string; status: string; url: string }>>("ls");
    assert.deepEqual(
      list.map((d) => [d.name, d.status]),
      [["shop", "queued"]],
    );
    const opened = await ok("open", "shop");
    assert.equal(opened.stdout, `${list[0]?.url}\n`);
  });

  it("exit codes: usage 2, not found 3, permission denied 4, unauthenticated 5, unreachable 6", async () => {
    const unknownOption = await fails(2, owner, "ls", "--bogus");
    assert.match(unknownOption.stderr, /unknown option '--bogus'/);
    await fails(2, owner, "scale", "shop", "two");
    await fails(2, owner, "scale", "shop", "0");
    const missing = await fails(3, owner, "status", "nope");
    assert.match(missing.stderr, /no deployment named "nope"/);
    await fails(3, owner, "status", "00000000-0000-4000-8000-000000000000");
    const denied = await fails(4, viewer, "scale", "shop", "2");
    assert.match(denied.stderr, /your role in this organization \(viewer\)/);
    await fails(5, { ...owner, token: "obt_not-a-real-token" }, "ls");
    await fails(6, { ...owner, api: "http://127.0.0.1:9" }, "ls");
    // A command that works exits 0.
    await ok("ls");
  });
});

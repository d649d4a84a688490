/**
 * The CLI's git-loop commands, each run as the real `obiente` binary against a real API (the API
 * role alone: nothing here builds): hooks show|rotate (the secret printed once and never again,
 * the URL per forge, which a signed delivery reaches), hooks deploy (a URL printed once that
 * answers a bare POST with 202; --show; deploy-rm), previews on|off|ls|rm (a preview made by a
 * pull request delivered to the printed webhook, found by its name), env --preview, and builds
 * ls's commit columns; with their --json shapes and exit codes.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { githubPing, githubPullRequest } from "../src/forges/fixtures.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { builds } from "../src/store/schema.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";
import { type CliTarget, cliOrganization, JSON_FIELDS, orgCommands } from "./helpers/cli.js";

/** The repository of the forge fixtures' deliveries (acme/shop on GitHub). */
const REPO = "https://github.com/acme/shop.git";
const FORGES = ["bitbucket", "gitea", "github", "gitlab"];

interface WebhookJson {
  projectId: string;
  configured: boolean;
  createdAt: string | null;
  endpoints: Array<{ forge: string; path: string; url: string }>;
  secret?: string;
}
interface DeployHookJson {
  deploymentId: string;
  exists: boolean;
  prefix: string | null;
  createdAt: string | null;
  lastUsedAt: string | null;
  url?: string;
}
interface PreviewJson {
  id: string;
  name: string;
  branch: string;
  status: string;
  url: string;
  parentId: string | null;
  pullRequest: number | null;
  lastPushAt: string | null;
}

/** What GitHub sends: the event, a delivery id, and the body's HMAC-SHA256 under the secret. */
function githubDelivery(url: string, event: string, payload: unknown, secret: string) {
  const body = JSON.stringify(payload);
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    },
    body,
  });
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe("CLI: webhooks, deploy hooks, previews and preview variables against a real API", () => {
  let t: TestPlatform;
  let org = "";
  let owner: CliTarget;
  let viewer: CliTarget;
  let projectId = "";
  let shopId = "";

  const { as, json, ok, fails } = orgCommands(() => ({ org, owner }));
  const deployments = () => t.client(DeploymentService);

  before(async () => {
    t = await startTestPlatform();
    ({ org, owner, viewer } = await cliOrganization(t, "CLI Git Loop"));
    const deployed = await ok(
      "deploy",
      "--git",
      REPO,
      "--name",
      "shop",
      "--project",
      "loop",
      "--no-follow",
    );
    shopId = /\(([0-9a-f-]{36})\) queued/.exec(deployed.stdout)?.[1] ?? "";
    assert.ok(shopId, deployed.stdout);
    const projects = await json<Array<{ id: string; slug: string }>>("projects", "ls");
    projectId = projects.find((p) => p.slug === "loop")?.id ?? "";
    assert.ok(projectId);
  });

  after(() => t?.close());

  it("hooks show before a secret: not configured, each forge's URL on the CLI's API address", async () => {
    const shown = await json<WebhookJson>("hooks", "show", "loop");
    assert.deepEqual(Object.keys(shown).sort(), [
      "configured",
      "createdAt",
      "endpoints",
      "projectId",
    ]);
    assert.equal(shown.projectId, projectId);
    assert.equal(shown.configured, false);
    assert.equal(shown.createdAt, null);
    assert.deepEqual(shown.endpoints.map((e) => e.forge).sort(), FORGES);
    for (const e of shown.endpoints) {
      assert.deepEqual(Object.keys(e).sort(), ["forge", "path", "url"]);
      assert.equal(e.path, `/api/v1/webhooks/${e.forge}/${projectId}`);
      // No PUBLIC_URL on this platform: the CLI puts the address it talks to before the path.
      assert.equal(e.url, `${t.baseUrl}${e.path}`);
    }
    const text = await ok("hooks", "show", "loop");
    assert.match(text.stdout, /^webhook of loop: no secret yet/);
    assert.match(text.stdout, /obiente hooks rotate loop/);
    for (const e of shown.endpoints) {
      assert.match(text.stdout, new RegExp(`^${e.forge} +${e.url}$`, "m"));
    }
    assert.match(text.stderr, /PUBLIC_URL/);
    // Every member may see the URLs.
    assert.equal((await as(viewer, "hooks", "show", projectId)).stdout, text.stdout);
    await fails(3, owner, "hooks", "show", "nope");
  });

  it("hooks rotate prints the secret once; show never does; deliveries signed with it are accepted", async () => {
    await fails(4, viewer, "hooks", "rotate", "loop");
    const rotated = await ok("hooks", "rotate", "loop");
    const secret = /^secret: (\S+)$/m.exec(rotated.stdout)?.[1] ?? "";
    assert.ok(secret.length >= 32, rotated.stdout);
    assert.equal(count(rotated.stdout + rotated.stderr, secret), 1, "the secret, printed once");
    assert.match(rotated.stderr, /will not be shown again/);
    const github = `${t.baseUrl}/api/v1/webhooks/github/${projectId}`;
    assert.match(rotated.stdout, new RegExp(`^github +${github}$`, "m"));

    const text = await ok("hooks", "show", "loop");
    assert.match(text.stdout, /^webhook of loop: secret set \d{4}-\d\d-\d\dT/);
    const shown = await json<WebhookJson>("hooks", "show", "loop");
    assert.equal(shown.configured, true);
    assert.ok(shown.createdAt);
    for (const output of [text.stdout, text.stderr, JSON.stringify(shown)]) {
      assert.ok(!output.includes(secret), "hooks show never prints the secret");
    }

    // The URL and the secret printed are what a forge needs.
    const pong = await githubDelivery(github, "ping", githubPing(), secret);
    assert.equal(pong.status, 200, await pong.text());

    const again = await json<WebhookJson>("hooks", "rotate", "loop");
    assert.deepEqual(Object.keys(again).sort(), [
      "configured",
      "createdAt",
      "endpoints",
      "projectId",
      "secret",
    ]);
    assert.ok(again.secret && again.secret !== secret);
    assert.equal(again.endpoints.find((e) => e.forge === "github")?.url, github);
    const stale = await githubDelivery(github, "ping", githubPing(), secret);
    assert.equal(stale.status, 401, "the replaced secret no longer signs");
    const fresh = await githubDelivery(github, "ping", githubPing(), again.secret);
    assert.equal(fresh.status, 200);
  });

  it("hooks deploy prints a URL once that answers a POST with 202; --show; deploy-rm", async () => {
    const none = await ok("hooks", "deploy", "shop", "--show");
    assert.equal(none.stdout, "shop has no deploy hook: obiente hooks deploy shop makes one\n");
    assert.deepEqual(await json<DeployHookJson>("hooks", "deploy", "shop", "--show"), {
      deploymentId: shopId,
      exists: false,
      prefix: null,
      createdAt: null,
      lastUsedAt: null,
    });
    await fails(4, viewer, "hooks", "deploy", "shop");

    const made = await ok("hooks", "deploy", "shop");
    const url = made.stdout.trim();
    assert.match(url, new RegExp(`^${t.baseUrl}/api/v1/hooks/obh_[A-Za-z0-9_-]{40,}$`));
    assert.equal(made.stdout, `${url}\n`, "the URL alone on stdout");
    assert.match(made.stderr, /will not be shown again/);
    assert.match(made.stderr, /PUBLIC_URL/);
    const token = url.slice(url.lastIndexOf("/") + 1);

    const called = await fetch(url, { method: "POST" });
    assert.equal(called.status, 202);
    const answer = (await called.json()) as { deployment_id: string; name: string };
    assert.equal(answer.deployment_id, shopId);
    assert.equal(answer.name, "shop");

    const shown = await ok("hooks", "deploy", "shop", "--show");
    assert.match(
      shown.stdout,
      new RegExp(
        `^shop has a deploy hook ${token.slice(0, 10)}…, made \\S+Z, last used \\d{4}-\\S+Z\\n$`,
      ),
    );
    const shownJson = await json<DeployHookJson>("hooks", "deploy", "shop", "--show");
    assert.equal(shownJson.exists, true);
    assert.equal(shownJson.prefix, token.slice(0, 10));
    assert.ok(shownJson.createdAt && shownJson.lastUsedAt);
    for (const output of [shown.stdout, shown.stderr, JSON.stringify(shownJson)]) {
      assert.ok(!output.includes(token), "--show never prints the token");
    }

    const replaced = await json<DeployHookJson>("hooks", "deploy", "shop");
    assert.deepEqual(Object.keys(replaced).sort(), [
      "createdAt",
      "deploymentId",
      "exists",
      "lastUsedAt",
      "prefix",
      "url",
    ]);
    assert.ok(replaced.url && replaced.url !== url);
    assert.equal(replaced.lastUsedAt, null);
    assert.equal((await fetch(url, { method: "POST" })).status, 404, "the old URL stops");

    const removed = await ok("hooks", "deploy-rm", "shop");
    assert.match(removed.stdout, /removed the deploy hook of shop/);
    assert.equal((await fetch(replaced.url, { method: "POST" })).status, 404);
    await fails(3, owner, "hooks", "deploy-rm", "shop");
    assert.match((await ok("hooks", "deploy", "shop", "--show")).stdout, /has no deploy hook/);
    await fails(3, owner, "hooks", "deploy", "nope");
  });

  it("previews on|off change the deployment as GetDeployment reports it", async () => {
    const on = await ok("previews", "on", "shop", "--branches", "feature/*, fix/**");
    assert.equal(on.stdout, "previews of shop: on, for branches feature/*, fix/**\n");
    let d = (await deployments().getDeployment({ id: shopId })).deployment;
    assert.equal(d?.previewsEnabled, true);
    assert.equal(d?.previewBranches, "feature/*, fix/**");
    const status = await json<{ previewsEnabled: boolean; previewBranches: string }>(
      "status",
      "shop",
    );
    assert.equal(status.previewsEnabled, true);
    assert.equal(status.previewBranches, "feature/*, fix/**");

    const off = await ok("previews", "off", "shop");
    assert.equal(off.stdout, "previews of shop: off\n");
    d = (await deployments().getDeployment({ id: shopId })).deployment;
    assert.equal(d?.previewsEnabled, false);
    assert.equal(d?.previewBranches, "feature/*, fix/**", "off keeps the branches");

    // Without --branches, on keeps them; with an empty one, every branch.
    assert.match((await ok("previews", "on", "shop")).stdout, /for branches feature\/\*, fix/);
    const every = await ok("previews", "on", "shop", "--branches", "");
    assert.equal(every.stdout, "previews of shop: on, for every branch\n");
    assert.equal(
      (await deployments().getDeployment({ id: shopId })).deployment?.previewBranches,
      "",
    );

    const bad = await fails(2, owner, "previews", "on", "shop", "--branches", "feature x");
    assert.match(bad.stderr, /is not a branch pattern/);
    await fails(4, viewer, "previews", "off", "shop");
    await fails(3, owner, "previews", "on", "nope");
  });

  it("previews ls without previews; previews rm of a deployment that is not a preview", async () => {
    const none = await ok("previews", "ls", "shop");
    assert.equal(none.stdout, "no previews\n");
    assert.deepEqual(await json("previews", "ls", "shop"), []);

    const refused = await fails(2, owner, "previews", "rm", "shop");
    assert.match(refused.stderr, /shop is not a preview/);
    const still = (await deployments().getDeployment({ id: shopId })).deployment;
    assert.equal(still?.id, shopId, "the deployment is still there");
    await fails(2, owner, "previews", "rm", shopId);
    await fails(3, owner, "previews", "rm", "feature-x--shop");
  });

  it("a pull request delivered to the printed webhook makes a preview: ls, found by name, rm", async () => {
    const { secret } = await json<WebhookJson>("hooks", "rotate", "loop");
    assert.ok(secret);
    const shown = await json<WebhookJson>("hooks", "show", "loop");
    const github = shown.endpoints.find((e) => e.forge === "github")?.url ?? "";
    const opened = await githubDelivery(github, "pull_request", githubPullRequest(), secret);
    assert.equal(opened.status, 202, await opened.text());

    const list = await json<PreviewJson[]>("previews", "ls", "shop");
    assert.equal(list.length, 1);
    const preview = list[0];
    assert.ok(preview);
    assert.equal(preview.branch, "feature/login");
    assert.equal(preview.pullRequest, 42);
    assert.equal(preview.parentId, shopId);
    assert.ok(preview.lastPushAt);
    assert.match(preview.name, /--shop$/);
    assert.deepEqual(
      Object.keys(preview).sort(),
      [...JSON_FIELDS.deployment, "lastPushAt", "pullRequest"].sort(),
      "a preview: a deployment's fields, and its pull request and last push",
    );
    const text = await ok("previews", "ls", "shop");
    const [header, row] = text.stdout.split("\n");
    assert.match(header ?? "", /^NAME +BRANCH +PR +STATUS +URL +LAST PUSH$/);
    assert.match(
      row ?? "",
      new RegExp(`^${preview.name} +feature/login +#42 +queued +http\\S+ +\\d{4}-`),
    );

    // Found by its name, which `ls` does not list, and by its id.
    const status = await json<{ id: string; parentId: string }>("status", preview.name);
    assert.equal(status.id, preview.id);
    assert.equal(status.parentId, shopId);
    // A preview has no previews, deploy hook or preview variables of its own.
    await fails(1, owner, "previews", "on", preview.name);
    await fails(1, owner, "hooks", "deploy", preview.id);
    await fails(1, owner, "env", "set", preview.name, "--preview", "X=1");

    await fails(4, viewer, "previews", "rm", preview.name);
    const removed = await ok("previews", "rm", preview.name);
    assert.equal(removed.stdout, `removing the preview ${preview.name} of branch feature/login\n`);
    assert.deepEqual(await json("previews", "ls", "shop"), []);
    assert.ok((await deployments().getDeployment({ id: shopId })).deployment, "shop stays");
  });

  it("env --preview: the previews' own variables, set, listed (hidden unless --reveal) and removed", async () => {
    const set = await ok(
      "env",
      "set",
      "shop",
      "--preview",
      "DATABASE_URL=postgres://staging/app",
      "A=1",
    );
    assert.equal(set.stdout, "set A, DATABASE_URL on shop's previews\n");
    assert.match(set.stderr, /each preview's next start/);
    await ok("env", "set", "shop", "OWN=yes");

    const hidden = await ok("env", "ls", "shop", "--preview");
    assert.equal(hidden.stdout, "A\nDATABASE_URL\n");
    assert.match(hidden.stderr, /--reveal/);
    const shown = await ok("env", "ls", "shop", "--preview", "--reveal");
    assert.equal(shown.stdout, "A=1\nDATABASE_URL=postgres://staging/app\n");
    assert.deepEqual(await json("env", "ls", "shop", "--preview"), [
      { key: "A", value: null },
      { key: "DATABASE_URL", value: null },
    ]);
    // The deployment's own variables are apart.
    assert.equal((await ok("env", "ls", "shop")).stdout, "OWN\n");
    await fails(3, owner, "env", "rm", "shop", "DATABASE_URL");
    await fails(3, owner, "env", "rm", "shop", "--preview", "OWN");

    const removed = await ok("env", "rm", "shop", "--preview", "A");
    assert.equal(removed.stdout, "removed A from shop's previews\n");
    assert.equal((await ok("env", "ls", "shop", "--preview")).stdout, "DATABASE_URL\n");
    await ok("env", "rm", "shop", "--preview", "DATABASE_URL");
    assert.equal((await ok("env", "ls", "shop", "--preview")).stdout, "no preview env vars\n");
    await fails(4, viewer, "env", "set", "shop", "--preview", "X=1");
  });

  it("builds ls: each build's commit subject, author and trigger; --json has them", async () => {
    const long = `Make the login form remember the e-mail address across visits and reloads`;
    const id = randomUUID();
    const committedAt = new Date("2026-11-30T09:15:00.000Z");
    await t.platform.ctx.db.insert(builds).values({
      id,
      deploymentId: shopId,
      status: "succeeded",
      gitRepo: REPO,
      branch: "main",
      commitSha: "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
      commitMessage: `${long}\n\nThe body, which builds ls does not show.`,
      commitAuthor: "Ada Lovelace <ada@example.com>",
      committedAt,
      trigger: "push",
      createdAt: new Date(Date.now() + 60_000),
      finishedAt: new Date(Date.now() + 120_000),
    });
    // A build that ended before any commit was read (the clone failed) has none of them.
    await t.platform.ctx.db.insert(builds).values({
      id: randomUUID(),
      deploymentId: shopId,
      status: "failed",
      statusMessage: "the clone failed",
      gitRepo: REPO,
      branch: "main",
    });

    const list = await json<Array<Record<string, unknown>>>("builds", "ls", "shop");
    const built = list.find((b) => b.id === id);
    assert.ok(built);
    assert.deepEqual(Object.keys(built).sort(), JSON_FIELDS.build);
    assert.equal(built.commitMessage, `${long}\n\nThe body, which builds ls does not show.`);
    assert.equal(built.commitAuthor, "Ada Lovelace <ada@example.com>");
    assert.equal(built.committedAt, committedAt.toISOString());
    assert.equal(built.trigger, "push");
    assert.equal(built.branch, "main");

    const text = await ok("builds", "ls", "shop");
    const lines = text.stdout.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      /^ {2}BUILD +STATUS +COMMIT +SUBJECT +AUTHOR +TRIGGER +CREATED +MESSAGE$/,
    );
    const row = lines.find((l) => l.includes(id.slice(0, 8))) ?? "";
    // The subject clipped to 50 characters, the author's name without the address.
    const subject = `${long.slice(0, 49)}…`;
    assert.match(row, new RegExp(`  succeeded +7fd1a60 +${subject} +Ada Lovelace +push +2026-`));
    assert.ok(!text.stdout.includes("ada@example.com"));
    assert.ok(!text.stdout.includes("The body"));
    const failed = lines.find((l) => l.includes(" failed ")) ?? "";
    assert.match(failed, /failed +- +- +- +- +\S+ +the clone failed$/, text.stdout);
  });
});

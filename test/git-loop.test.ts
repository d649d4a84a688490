/**
 * From push to live, on the real platform (every role in this process, the local engine, the
 * built-in edge) and a real git repository: deliveries sent exactly as GitHub sends them (its
 * headers, its payload shape, its HMAC), deploy hooks, each build's commit, and a pull request's
 * preview from opened to closed.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { eq } from "drizzle-orm";
import {
  BuildStatus,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { WebhookSchema } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { deployments } from "../src/store/schema.js";
import { eventually, requestByHost } from "./helpers/caddy.js";
import {
  commitToBranch,
  containersOf,
  type DeployHarness,
  Leftovers,
  startDeployHarness,
  untilAnswers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import {
  FIXTURE_CONTENT,
  type FixtureRepo,
  makeFixtureRepo,
  NODE_IMAGE,
} from "./helpers/git-fixtures.js";

const content = (version: string, greeting: string) =>
  `${FIXTURE_CONTENT.echo} ${version}; GREETING=${greeting}`;

/** A GitHub push event's payload, the fields GitHub documents (and a few more it always sends). */
function githubPush(repo: FixtureRepo, branch: string, after: string, message = "a commit") {
  return {
    ref: `refs/heads/${branch}`,
    before: "0".repeat(40),
    after,
    created: false,
    deleted: false,
    forced: false,
    compare: `https://github.com/acme/echo/compare/${after.slice(0, 12)}`,
    commits: [
      {
        id: after,
        message,
        timestamp: new Date().toISOString(),
        author: { name: "Fixture", email: "fixture@obiente.test", username: "fixture" },
      },
    ],
    head_commit: {
      id: after,
      tree_id: "f".repeat(40),
      distinct: true,
      message,
      timestamp: new Date().toISOString(),
      url: `https://github.com/acme/echo/commit/${after}`,
      author: { name: "Fixture", email: "fixture@obiente.test", username: "fixture" },
      committer: { name: "Fixture", email: "fixture@obiente.test", username: "fixture" },
      added: [],
      removed: [],
      modified: ["message.txt"],
    },
    repository: githubRepository(repo),
    pusher: { name: "fixture", email: "fixture@obiente.test" },
    sender: { login: "fixture", id: 1, type: "User" },
  };
}

function githubRepository(repo: FixtureRepo) {
  return {
    id: 1296269,
    node_id: "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
    name: "echo",
    full_name: "acme/echo",
    private: true,
    owner: { login: "acme", id: 2, type: "Organization" },
    html_url: "https://github.com/acme/echo",
    // The forge's clone URL is where the platform's deployment clones from: here, the fixture.
    clone_url: repo.url,
    git_url: "git://github.com/acme/echo.git",
    ssh_url: "git@github.com:acme/echo.git",
    default_branch: "main",
  };
}

function githubPullRequest(
  repo: FixtureRepo,
  action: "opened" | "synchronize" | "closed",
  number: number,
  branch: string,
  sha: string,
) {
  return {
    action,
    number,
    pull_request: {
      number,
      state: action === "closed" ? "closed" : "open",
      title: "Log in with a passkey",
      merged: false,
      head: { ref: branch, sha, label: `acme:${branch}`, repo: githubRepository(repo) },
      base: { ref: "echo", sha: "0".repeat(40), label: "acme:echo", repo: githubRepository(repo) },
    },
    repository: githubRepository(repo),
    sender: { login: "fixture", id: 1, type: "User" },
  };
}

describe("push to live: webhooks, deploy hooks, commits, previews", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  let projectId = "";
  let id = "";
  let domain = "";
  let secret = "";

  const harness = () => {
    assert.ok(h, "the platform did not start");
    return h;
  };
  const fixture = () => {
    assert.ok(repo, "no fixture repository");
    return repo;
  };
  const port = () => harness().edgePort ?? 0;

  /** POSTs a delivery as GitHub does: JSON, its event and delivery headers, its signature. */
  async function deliver(
    event: string,
    payload: unknown,
    options: { deliveryId?: string; secret?: string; project?: string } = {},
  ) {
    const body = JSON.stringify(payload);
    const signature = createHmac("sha256", options.secret ?? secret)
      .update(body)
      .digest("hex");
    const response = await fetch(
      `${harness().t.baseUrl}/api/v1/webhooks/github/${options.project ?? projectId}`,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "GitHub-Hookshot/abc1234",
          "x-github-event": event,
          "x-github-delivery": options.deliveryId ?? randomUUID(),
          "x-github-hook-id": "42",
          "x-hub-signature-256": `sha256=${signature}`,
        },
        body,
      },
    );
    return {
      status: response.status,
      body: (await response.json()) as {
        message: string;
        results: Array<{ action: string; message: string; targetId?: string }>;
      },
    };
  }

  /** The deployment's generation: every change the API or a delivery makes raises it. */
  const generationOf = async (deploymentId: string) => {
    const [row] = await harness()
      .t.platform.ctx.db.select({ generation: deployments.generation })
      .from(deployments)
      .where(eq(deployments.id, deploymentId));
    return row?.generation;
  };

  const builds = async (deploymentId = id) =>
    (await harness().deployments.listBuilds({ deploymentId })).builds;

  before(async () => {
    repo = await makeFixtureRepo();
    h = await startDeployHarness({}, leftovers);
    projectId = await h.project("Git loop");
    ({ id, domain } = await h.deploy({
      projectId,
      name: "echo",
      gitRepo: repo.url,
      branch: "echo",
      envVars: { GREETING: "hello" },
    }));
    await waitForStatus(h.deployments, id, DeploymentStatus.RUNNING);
    const rotated = await h.projects.rotateWebhookSecret({ projectId });
    secret = rotated.secret;
    assert.ok(secret.length >= 32, "a secret worth the name");
    await h.deployments.updateDeployment({
      id,
      previewsEnabled: true,
      previewBranches: "feature/*",
    });
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
  });

  it("shows the webhook's path per forge, and the secret only when it is made", async () => {
    const { webhook } = await harness().projects.getWebhook({ projectId });
    assert.ok(webhook?.configured);
    assert.deepEqual(
      webhook.endpoints.map((e) => e.path),
      ["github", "gitlab", "gitea", "bitbucket"].map((f) => `/api/v1/webhooks/${f}/${projectId}`),
    );
    assert.ok(
      !JSON.stringify(toJson(WebhookSchema, webhook)).includes(secret),
      "the secret is never shown again",
    );
  });

  it("deploys the pushed commit, and records its sha, message, author and time", async () => {
    const sha = await commitToBranch(
      fixture(),
      "echo",
      { "message.txt": "v2\n" },
      "Say v2\n\nWith a body, ünïcode too.",
    );
    const answer = await deliver("push", githubPush(fixture(), "echo", sha, "Say v2"));
    assert.equal(answer.status, 202, answer.body.message);
    assert.equal(answer.body.results[0]?.action, "deploy");
    await untilAnswers(port(), domain, 200, content("v2", "hello"), 120_000);
    const [latest] = await builds();
    assert.ok(latest);
    assert.equal(latest.status, BuildStatus.SUCCEEDED);
    assert.equal(latest.commitSha, sha);
    assert.equal(latest.commitMessage, "Say v2\n\nWith a body, ünïcode too.");
    assert.equal(latest.commitAuthor, "Fixture <fixture@obiente.test>");
    assert.ok(latest.committedAt, "the commit's time");
    assert.equal(latest.trigger, "push");
  });

  it("refuses a delivery signed with another secret: 401, and nothing changes", async () => {
    const before = await builds();
    const generation = await generationOf(id);
    const sha = await commitToBranch(fixture(), "echo", { "message.txt": "forged\n" }, "forged");
    const answer = await deliver("push", githubPush(fixture(), "echo", sha), {
      secret: "not-the-secret",
    });
    assert.equal(answer.status, 401);
    assert.match(answer.body.message, /signature/);
    // Unsigned, too.
    const unsigned = await fetch(`${harness().t.baseUrl}/api/v1/webhooks/github/${projectId}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": randomUUID(),
      },
      body: JSON.stringify(githubPush(fixture(), "echo", sha)),
    });
    assert.equal(unsigned.status, 401);
    assert.equal(await generationOf(id), generation, "the deployment was not changed");
    assert.equal((await builds()).length, before.length);
  });

  it("processes a delivery sent twice once", async () => {
    const sha = await commitToBranch(fixture(), "echo", { "message.txt": "v3\n" }, "v3");
    const deliveryId = randomUUID();
    const first = await deliver("push", githubPush(fixture(), "echo", sha), { deliveryId });
    assert.equal(first.status, 202);
    const again = await deliver("push", githubPush(fixture(), "echo", sha), { deliveryId });
    assert.equal(again.status, 200);
    assert.match(again.body.message, /processed already/);
    await untilAnswers(port(), domain, 200, content("v3", "hello"), 120_000);
    assert.equal((await builds()).filter((b) => b.commitSha === sha).length, 1);
  });

  it("answers 404 for a repository no deployment builds, 202 with the reason for an untracked branch", async () => {
    const other = {
      ...githubPush(fixture(), "echo", "a".repeat(40)),
      repository: {
        ...githubRepository(fixture()),
        full_name: "acme/other",
        clone_url: "https://github.com/acme/other.git",
        ssh_url: "git@github.com:acme/other.git",
        html_url: "https://github.com/acme/other",
        git_url: "git://github.com/acme/other.git",
      },
    };
    const unknown = await deliver("push", other);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /acme\/other/);
    const count = (await builds()).length;
    const untracked = await deliver("push", githubPush(fixture(), "release", "b".repeat(40)));
    assert.equal(untracked.status, 202);
    assert.equal(untracked.body.results[0]?.action, "skip");
    assert.match(untracked.body.results[0]?.message ?? "", /release is not tracked/);
    const ping = await deliver("ping", { zen: "Keep it logically awesome.", hook_id: 42 });
    assert.equal(ping.status, 200);
    assert.equal((await builds()).length, count);
  });

  it("cancels a build still running for an older push", async () => {
    const slow = await commitToBranch(
      fixture(),
      "echo",
      {
        Dockerfile: [
          `FROM ${NODE_IMAGE}`,
          `RUN echo ${randomUUID()} && sleep 60`,
          "COPY . /app",
          'CMD ["node", "/app/server.js"]',
          "",
        ].join("\n"),
      },
      "slow build",
    );
    await deliver("push", githubPush(fixture(), "echo", slow));
    await eventually(
      async () => (await builds()).find((b) => b.status === BuildStatus.RUNNING),
      60_000,
      "the slow build to start",
    );
    const fast = await commitToBranch(
      fixture(),
      "echo",
      { Dockerfile: null, "message.txt": "v4\n" },
      "v4",
    );
    await deliver("push", githubPush(fixture(), "echo", fast));
    await untilAnswers(port(), domain, 200, content("v4", "hello"), 120_000);
    const all = await builds();
    const cancelled = all.find((b) => b.status === BuildStatus.CANCELLED);
    assert.ok(
      cancelled,
      `a cancelled build among ${all.map((b) => BuildStatus[b.status]).join(", ")}`,
    );
    assert.match(cancelled.statusMessage, /superseded/);
    assert.equal(all.find((b) => b.status === BuildStatus.SUCCEEDED)?.commitSha, fast);
  });

  it("redeploys on a bare POST to the deploy hook, and not for a wrong token", async () => {
    const hook = await harness().deployments.rotateDeployHook({ deploymentId: id });
    assert.match(hook.path, /^\/api\/v1\/hooks\/obh_/);
    const count = (await builds()).length;
    const wrong = await fetch(`${harness().t.baseUrl}/api/v1/hooks/obh_${"x".repeat(43)}`, {
      method: "POST",
    });
    assert.equal(wrong.status, 404);
    const response = await fetch(`${harness().t.baseUrl}${hook.path}`, { method: "POST" });
    assert.equal(response.status, 202, await response.clone().text());
    await waitForStatus(harness().deployments, id, DeploymentStatus.RUNNING);
    await eventually(
      async () => (await builds()).length > count || undefined,
      60_000,
      "a new build",
    );
    const [latest] = await builds();
    assert.equal(latest?.trigger, "hook");
    const { deployHook } = await harness().deployments.getDeployHook({ deploymentId: id });
    assert.ok(deployHook?.exists && deployHook.lastUsedAt);
  });

  it("refuses a body over the size limit with 413", async () => {
    const response = await fetch(`${harness().t.baseUrl}/api/v1/webhooks/github/${projectId}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push" },
      body: "x".repeat(6 * 1024 * 1024),
    });
    assert.equal(response.status, 413);
  });

  it("gives a pull request a preview with its own URL and variables, gone when it closes", async () => {
    const { deployments } = harness();
    await deployments.setEnvVars({
      deploymentId: id,
      envVars: { GREETING: "preview" },
      preview: true,
    });
    const sha = await commitToBranch(fixture(), "echo", {}, "branch point");
    await gitBranch(fixture(), "feature/login", sha);
    const head = await commitToBranch(
      fixture(),
      "feature/login",
      { "message.txt": "login\n" },
      "login",
    );
    const opened = await deliver(
      "pull_request",
      githubPullRequest(fixture(), "opened", 7, "feature/login", head),
    );
    assert.equal(opened.status, 202, opened.body.message);
    assert.equal(opened.body.results[0]?.action, "preview");
    const { previews } = await deployments.listPreviews({ deploymentId: id });
    assert.equal(previews.length, 1);
    const preview = previews[0];
    assert.ok(preview);
    leftovers.deploymentIds.add(preview.id);
    assert.equal(preview.parentId, id);
    assert.equal(preview.pullRequest, 7);
    const previewDomain = preview.domains[0] ?? "";
    assert.match(previewDomain, /^feature-login.*--echo\./);
    await waitForStatus(deployments, preview.id, DeploymentStatus.RUNNING);
    await untilAnswers(port(), previewDomain, 200, content("login", "preview"), 60_000);
    // Production is untouched, and the preview is not among the project's deployments.
    await untilAnswers(port(), domain, 200, content("v4", "hello"));
    const listed = await deployments.listDeployments({ projectId });
    assert.deepEqual(
      listed.deployments.map((d) => d.id),
      [id],
    );
    // A preview never takes a custom domain.
    await assert.rejects(
      deployments.addDomain({ deploymentId: preview.id, domain: "login.example.com" }),
      /preview/,
    );

    const closed = await deliver(
      "pull_request",
      githubPullRequest(fixture(), "closed", 7, "feature/login", head),
    );
    assert.equal(closed.status, 202);
    assert.equal(closed.body.results[0]?.action, "remove-preview");
    await eventually(
      async () =>
        (await deployments.listPreviews({ deploymentId: id })).previews.length === 0
          ? true
          : undefined,
      60_000,
      "the preview to go",
    );
    await eventually(
      async () => ((await containersOf(preview.id)).length === 0 ? true : undefined),
      60_000,
      "its containers to go",
    );
    const gone = await requestByHost(port(), previewDomain);
    assert.equal(gone.status, 404);
  });
});

async function gitBranch(repo: FixtureRepo, name: string, at: string) {
  await promisify(execFile)("git", ["branch", name, at], {
    cwd: repo.dir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: repo.dir,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
    },
  });
}

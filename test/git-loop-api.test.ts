/**
 * The git loop's rules at the API, with no controller (nothing is built): each forge's delivery
 * as it signs and sends it, through the real HTTP route and database; previews made, updated,
 * refused and expired; quotas; a deployment's previews deleted with it. test/git-loop.test.ts
 * builds and serves the results end to end.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { deploymentServiceDeps } from "../src/app/service-deps.js";
import { DeploymentService as Deployments } from "../src/deployments/service.js";
import {
  bitbucketPush,
  bodyOf,
  giteaPush,
  githubPullRequest,
  githubPush,
  gitlabPush,
  SHA_HEAD,
  SHA_PR_HEAD,
} from "../src/forges/fixtures.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { deployments } from "../src/store/schema.js";
import { startTestPlatform, type TestPlatform } from "./helpers/api.js";

interface Outcome {
  status: number;
  body: { message: string; results: Array<{ action: string; message: string; targetId?: string }> };
}

describe("the git loop at the API: forges, previews, expiry, quotas", () => {
  let t: TestPlatform;
  let projectId = "";
  let secret = "";
  let shopId = "";

  const deploymentsClient = () => t.client(DeploymentService);

  async function post(forge: string, headers: Record<string, string>, body: Buffer) {
    const response = await fetch(`${t.baseUrl}/api/v1/webhooks/${forge}/${projectId}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: new Uint8Array(body),
    });
    return { status: response.status, body: (await response.json()) as Outcome["body"] };
  }
  const hmac = (body: Buffer, key = secret) => createHmac("sha256", key).update(body).digest("hex");

  function github(event: string, payload: unknown, key = secret): Promise<Outcome> {
    const body = bodyOf(payload);
    return post(
      "github",
      {
        "x-github-event": event,
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": `sha256=${hmac(body, key)}`,
      },
      body,
    );
  }

  const previewsOf = async (id: string) =>
    (await deploymentsClient().listPreviews({ deploymentId: id })).previews;

  before(async () => {
    t = await startTestPlatform({ env: { QUOTA_DEPLOYMENTS: "4" } });
    const { organization } = await t
      .client(OrganizationService)
      .createOrganization({ name: `Git loop ${Date.now()}` });
    assert.ok(organization);
    const { project } = await t
      .client(ProjectService)
      .createProject({ organizationId: organization.id, name: "Shop" });
    assert.ok(project);
    projectId = project.id;
    secret = (await t.client(ProjectService).rotateWebhookSecret({ projectId })).secret;
    // The repository as the fixtures' forges name it; nothing clones it (no controller here).
    const { deployment } = await deploymentsClient().createDeployment({
      projectId,
      name: "shop",
      gitRepo: "https://github.com/acme/shop.git",
      branch: "main",
    });
    assert.ok(deployment);
    shopId = deployment.id;
  });
  after(() => t?.close());

  it("GitLab: the token it sends; a wrong one is 401", async () => {
    const body = bodyOf({
      ...gitlabPush(),
      project: { ...gitlabPush().project, git_http_url: "https://github.com/acme/shop.git" },
    });
    const headers = { "x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": randomUUID() };
    const wrong = await post("gitlab", { ...headers, "x-gitlab-token": "guess" }, body);
    assert.equal(wrong.status, 401);
    const right = await post("gitlab", { ...headers, "x-gitlab-token": secret }, body);
    assert.equal(right.status, 202, right.body.message);
    assert.equal(right.body.results[0]?.action, "deploy");
    const [row] = await t.platform.ctx.db
      .select()
      .from(deployments)
      .where(eq(deployments.id, shopId));
    assert.equal(row?.wantedCommit, SHA_HEAD);
    assert.equal(row?.buildTrigger, "push");
  });

  it("Gitea and Bitbucket: their HMACs, checked", async () => {
    const gitea = bodyOf({
      ...giteaPush(),
      repository: { ...giteaPush().repository, clone_url: "https://github.com/acme/shop.git" },
    });
    const giteaHeaders = { "x-gitea-event": "push", "x-gitea-delivery": randomUUID() };
    assert.equal(
      (await post("gitea", { ...giteaHeaders, "x-gitea-signature": hmac(gitea, "nope") }, gitea))
        .status,
      401,
    );
    const ok = await post("gitea", { ...giteaHeaders, "x-gitea-signature": hmac(gitea) }, gitea);
    assert.equal(ok.status, 202, ok.body.message);
    // Bitbucket's repository is bitbucket.org/acme/shop, which no deployment here builds: past
    // the signature, the answer is 404 naming it.
    const bitbucket = bodyOf(bitbucketPush());
    const bbHeaders = { "x-event-key": "repo:push", "x-request-uuid": randomUUID() };
    assert.equal(
      (await post("bitbucket", { ...bbHeaders, "x-hub-signature": "sha256=00" }, bitbucket)).status,
      401,
    );
    const bb = await post(
      "bitbucket",
      { ...bbHeaders, "x-hub-signature": `sha256=${hmac(bitbucket)}` },
      bitbucket,
    );
    assert.equal(bb.status, 404, bb.body.message);
    assert.match(bb.body.message, /acme\/shop/);
  });

  it("says why a push to another branch does nothing while previews are off", async () => {
    const other = await github("push", githubPush());
    assert.equal(other.status, 202);
    assert.equal(other.body.results[0]?.action, "skip");
    assert.match(
      other.body.results[0]?.message ?? "",
      /feature\/login is not tracked \(main\), and previews are off/,
    );
  });

  it("an unknown forge or project is 404, a malformed body 400, and nothing changes", async () => {
    const body = bodyOf(githubPush());
    const unknownForge = await fetch(`${t.baseUrl}/api/v1/webhooks/sourcehut/${projectId}`, {
      method: "POST",
      body: new Uint8Array(body),
    });
    assert.equal(unknownForge.status, 404);
    const other = await fetch(`${t.baseUrl}/api/v1/webhooks/github/${randomUUID()}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push" },
      body: new Uint8Array(body),
    });
    assert.equal(other.status, 404);
    const broken = Buffer.from("{not json");
    const bad = await post(
      "github",
      {
        "x-github-event": "push",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": `sha256=${hmac(broken)}`,
      },
      broken,
    );
    assert.equal(bad.status, 400);
  });

  it("makes a preview for a push to a matching branch, and updates the same one on the next", async () => {
    const c = deploymentsClient();
    await assert.rejects(
      c.updateDeployment({ id: shopId, previewsEnabled: true, previewBranches: "feature/*,,x" }),
      /preview_branches/,
    );
    await c.updateDeployment({ id: shopId, previewsEnabled: true, previewBranches: "feature/*" });
    const first = await github("push", githubPush());
    assert.equal(first.status, 202, first.body.message);
    assert.equal(first.body.results[0]?.action, "preview");
    const [preview] = await previewsOf(shopId);
    assert.ok(preview);
    assert.equal(preview.branch, "feature/login");
    assert.equal(preview.replicas, 1);
    assert.ok((preview.resources?.memoryMb ?? 0) <= 256);
    assert.match(preview.domains[0] ?? "", /^feature-login-[0-9a-f]{8}--shop\.localhost$/);
    const again = await github("push", { ...githubPush(), after: SHA_PR_HEAD });
    assert.equal(again.body.results[0]?.action, "preview");
    const previews = await previewsOf(shopId);
    assert.deepEqual(
      previews.map((p) => p.id),
      [preview.id],
    );
    const [row] = await t.platform.ctx.db
      .select()
      .from(deployments)
      .where(eq(deployments.id, preview.id));
    assert.equal(row?.wantedCommit, SHA_PR_HEAD);
    // Previews are not among the project's deployments; a preview has no previews or hooks.
    const listed = await c.listDeployments({ projectId });
    assert.deepEqual(
      listed.deployments.map((d) => d.id),
      [shopId],
    );
    await assert.rejects(c.updateDeployment({ id: preview.id, previewsEnabled: true }), /preview/);
    await assert.rejects(c.rotateDeployHook({ deploymentId: preview.id }), /preview/);
  });

  it("skips branches that match no glob, and pull requests from forks", async () => {
    const other = await github("push", { ...githubPush(), ref: "refs/heads/release/2" });
    assert.equal(other.body.results[0]?.action, "skip");
    assert.match(other.body.results[0]?.message ?? "", /matches no preview branch/);
    const fork = await github("pull_request", githubPullRequest("opened", true));
    assert.equal(fork.status, 202);
    assert.equal(fork.body.results[0]?.action, "skip");
    assert.match(fork.body.results[0]?.message ?? "", /fork/);
  });

  it("counts previews against the organization's quota of deployments", async () => {
    // shop, its feature/login preview, and two more: the fourth preview is over the quota (4).
    for (const branch of ["feature/a", "feature/b"]) {
      const made = await github("push", { ...githubPush(), ref: `refs/heads/${branch}` });
      assert.equal(made.body.results[0]?.action, "preview", made.body.message);
    }
    const over = await github("push", { ...githubPush(), ref: "refs/heads/feature/c" });
    assert.equal(over.status, 202);
    assert.equal(over.body.results[0]?.action, "error");
    assert.match(over.body.results[0]?.message ?? "", /quota/i);
    assert.equal((await previewsOf(shopId)).length, 3);
  });

  it("removes a preview when its branch is deleted, and idle previews after PREVIEW_TTL_HOURS", async () => {
    const deleted = await github("push", {
      ...githubPush(),
      ref: "refs/heads/feature/a",
      deleted: true,
      after: "0".repeat(40),
      head_commit: null,
    });
    assert.equal(deleted.body.results[0]?.action, "remove-preview", deleted.body.message);
    assert.equal((await previewsOf(shopId)).length, 2);

    // feature/b was last pushed 200 hours ago (the default TTL is 168).
    const previews = await previewsOf(shopId);
    const idle = previews.find((p) => p.branch === "feature/b");
    assert.ok(idle);
    await t.platform.ctx.db
      .update(deployments)
      .set({ lastPushAt: new Date(Date.now() - 200 * 3_600_000) })
      .where(eq(deployments.id, idle.id));
    const removed = await new Deployments(
      deploymentServiceDeps(t.platform.ctx),
    ).expireIdlePreviews();
    assert.equal(removed, 1);
    assert.deepEqual(
      (await previewsOf(shopId)).map((p) => p.branch),
      ["feature/login"],
    );
  });

  it("deletes a deployment's previews with it", async () => {
    const [preview] = await previewsOf(shopId);
    assert.ok(preview);
    await deploymentsClient().deleteDeployment({ id: shopId });
    const rows = await t.platform.ctx.db
      .select({ id: deployments.id, desiredState: deployments.desiredState })
      .from(deployments)
      .where(eq(deployments.parentId, shopId));
    assert.ok(
      rows.every((r) => r.desiredState === "deleted"),
      JSON.stringify(rows),
    );
  });
});

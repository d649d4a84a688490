/**
 * The git loop in the dashboard, in Chromium against a real API (the api role, no engine): the
 * project's webhook (a URL per forge, the secret shown once and accepted by the webhook route),
 * a deployment's deploy hook (the URL shown once, and a POST to it answered 202), previews (the
 * switch and branch globs saved, the list, a preview's own page, preview-only variables,
 * removing one) and each build's commit. The build and the preview are rows written to the
 * database, as the controller and a push would write them: no image is built.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { buildDashboard, DEFAULT_DASHBOARD_ROOT } from "../src/api/dashboard.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { builds, deployments, domains } from "../src/store/schema.js";
import { addUserWithToken, startTestPlatform, type TestPlatform } from "./helpers/api.js";
import {
  chromiumMissing,
  launchBrowser,
  type PageRecord,
  screenshot,
  signInWithToken,
} from "./helpers/browser.js";

const FORGES = ["github", "gitlab", "gitea", "bitbucket"];

describe("dashboard: the git loop", {
  skip: chromiumMissing() ?? false,
  timeout: 5 * 60_000,
}, () => {
  let t: TestPlatform;
  let browser: Browser;
  let organizationId = "";
  let projectId = "";
  let deploymentId = "";
  let previewId = "";
  let previewDomain = "";
  const buildId = randomUUID();
  const commitSha = "3f786850e387550fdab836ed7e6dc881de23001b";
  let viewerToken = "";
  const records: PageRecord[] = [];

  const deploymentsApi = () => t.client(DeploymentService);

  const signIn = (token: string): Promise<Page> =>
    signInWithToken(browser, { baseUrl: t.baseUrl, token, organizationId, records });

  /** A GitHub ping to the project's webhook, signed with `secret`: the route's status. */
  const ping = async (url: string, secret: string) => {
    const body = JSON.stringify({ zen: "Design for failure.", hook_id: 42 });
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
    });
    return response.status;
  };

  before(async () => {
    if (!existsSync(`${DEFAULT_DASHBOARD_ROOT}/index.html`)) await buildDashboard();
    t = await startTestPlatform();
    const { organization } = await t
      .client(OrganizationService)
      .createOrganization({ name: "Loop Inc" });
    assert.ok(organization);
    organizationId = organization.id;
    const { project } = await t
      .client(ProjectService)
      .createProject({ organizationId, name: "Storefront" });
    assert.ok(project);
    projectId = project.id;
    const { deployment } = await deploymentsApi().createDeployment({
      projectId,
      name: "shop",
      gitRepo: "https://git.example.com/acme/shop.git",
      branch: "main",
    });
    assert.ok(deployment);
    deploymentId = deployment.id;

    const db = t.platform.ctx.db;
    // A build of a pushed commit, as the build step records it.
    await db.insert(builds).values({
      id: buildId,
      deploymentId,
      status: "succeeded",
      gitRepo: deployment.gitRepo,
      branch: "main",
      commitSha,
      imageId: "sha256:0123456789abcdef",
      commitMessage: "Add passkey login\n\nWebAuthn for the account page.",
      commitAuthor: "Ada Lovelace <ada@example.com>",
      committedAt: new Date(Date.now() - 3 * 3_600_000),
      trigger: "push",
      finishedAt: new Date(),
    });
    // A pull request's preview, as a delivery makes it (DeploymentService.upsertPreview).
    previewId = randomUUID();
    previewDomain = `feature-login--shop.${t.platform.ctx.config.PLATFORM_DOMAIN}`;
    await db.insert(deployments).values({
      id: previewId,
      organizationId,
      projectId,
      name: "feature-login--shop",
      gitRepo: deployment.gitRepo,
      branch: "feature/login",
      status: "running",
      parentId: deploymentId,
      pullRequest: 7,
      lastPushAt: new Date(Date.now() - 20 * 60_000),
    });
    await db.insert(domains).values({
      domain: previewDomain,
      deploymentId: previewId,
      organizationId,
      isDefault: true,
      status: "verified",
    });

    const viewer = await addUserWithToken(db);
    await t
      .client(OrganizationService)
      .addMember({ organizationId, email: viewer.email, role: Role.VIEWER });
    viewerToken = viewer.token;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await t?.close();
  });

  it("shows the project's webhook URL per forge, and its secret once", async () => {
    const page = await signIn(t.adminToken);
    await page.goto(`${t.baseUrl}/projects/${projectId}`);
    const card = page.getByTestId("webhook");
    await card.getByTestId("webhook-state").waitFor();
    assert.equal(await card.getByTestId("webhook-state").getAttribute("data-configured"), "false");
    // No PUBLIC_URL: the API gives paths, shown on the dashboard's origin.
    const urls = card.getByTestId("webhook-url");
    assert.equal(await urls.count(), 4);
    const shown = await Promise.all(FORGES.map((_, i) => urls.nth(i).inputValue()));
    assert.deepEqual(
      shown,
      FORGES.map((f) => `${t.baseUrl}/api/v1/webhooks/${f}/${projectId}`),
    );
    const github = shown[0] ?? "";

    await card.getByTestId("rotate-webhook-secret").click();
    await card.getByTestId("webhook-secret").waitFor();
    const first = await card.getByTestId("webhook-secret").inputValue();
    assert.ok(first.length >= 32, `a secret worth the name: ${first}`);
    await card.locator('[data-testid=webhook-state][data-configured="true"]').waitFor();
    assert.equal(await ping(github, first), 200, "the secret shown is the project's");
    await screenshot(page, "gitloop-webhook");

    // Rotating asks first; the old secret stops being accepted.
    await card.getByTestId("rotate-webhook-secret").click();
    const dialog = page.getByRole("dialog", { name: "Rotate the webhook secret?" });
    await dialog.getByRole("button", { name: "Rotate secret" }).click();
    await page.waitForFunction(
      (old) =>
        (document.querySelector('[data-testid="webhook-secret"]') as HTMLInputElement | null)
          ?.value !== old,
      first,
    );
    const second = await card.getByTestId("webhook-secret").inputValue();
    assert.notEqual(second, first);
    assert.equal(await ping(github, first), 401);
    assert.equal(await ping(github, second), 200);

    await page.reload();
    await card.locator('[data-testid=webhook-state][data-configured="true"]').waitFor();
    assert.equal(await card.getByTestId("webhook-url").count(), 4);
    assert.equal(await page.getByTestId("webhook-secret").count(), 0);
    assert.ok(!(await page.content()).includes(second), "the secret is not on the page again");
  });

  it("lists each build's commit: short sha, subject, author, when, and what triggered it", async () => {
    const page = await signIn(t.adminToken);
    await page.goto(`${t.baseUrl}/deployments/${deploymentId}/builds`);
    const row = page.locator(`tr[data-build="${buildId}"]`);
    await row.waitFor();
    assert.equal(await row.getByTestId("commit-subject").textContent(), "Add passkey login");
    assert.equal(await row.getByTestId("commit-author").textContent(), "Ada Lovelace");
    assert.equal(await row.getByTestId("build-trigger").textContent(), "push");
    const text = (await row.textContent()) ?? "";
    assert.match(text, new RegExp(commitSha.slice(0, 7)));
    assert.match(text, /3h ago/);
    assert.doesNotMatch(text, /WebAuthn|ada@example\.com/, "the subject line and the name only");
    await screenshot(page, "gitloop-builds");
  });

  it("turns previews on for some branches, and the setting stays", async () => {
    const page = await signIn(t.adminToken);
    await page.goto(`${t.baseUrl}/deployments/${deploymentId}/previews`);
    const enabled = page.getByTestId("previews-enabled");
    await enabled.waitFor();
    assert.equal(await enabled.isChecked(), false);
    await enabled.check();
    await page.getByTestId("preview-branches").fill("feature/*, fix/**");
    await page.getByTestId("save-previews").click();
    await page.getByText("Previews on").waitFor();
    const { deployment } = await deploymentsApi().getDeployment({ id: deploymentId });
    assert.equal(deployment?.previewsEnabled, true);
    assert.equal(deployment?.previewBranches, "feature/*, fix/**");

    await page.reload();
    await page.getByTestId("previews-enabled").waitFor();
    assert.equal(await page.getByTestId("previews-enabled").isChecked(), true);
    assert.equal(await page.getByTestId("preview-branches").inputValue(), "feature/*, fix/**");
  });

  it("lists the previews, and sets variables only previews get", async () => {
    const page = await signIn(t.adminToken);
    await page.goto(`${t.baseUrl}/deployments/${deploymentId}/previews`);
    const row = page.locator(`tr[data-preview="${previewId}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    assert.match(text, /feature\/login/);
    assert.match(text, /#7/);
    assert.match(text, /Running/);
    assert.match(text, /20m ago/);
    assert.equal(
      await row.getByRole("link", { name: previewDomain }).getAttribute("href"),
      (await deploymentsApi().getDeployment({ id: previewId })).deployment?.url,
    );

    const env = page.getByTestId("preview-env");
    await env.getByText("No environment variables").waitFor();
    await env.getByLabel("Variable name").fill("API_URL");
    await env.getByLabel("Variable value").fill("https://staging.example");
    await env.getByRole("button", { name: "Save" }).click();
    await env.locator('tr[data-key="API_URL"]').waitFor();
    const previewVars = await deploymentsApi().listEnvVars({ deploymentId, preview: true });
    assert.deepEqual(
      previewVars.envVars.map((v) => [v.key, v.value]),
      [["API_URL", "https://staging.example"]],
    );
    const own = await deploymentsApi().listEnvVars({ deploymentId });
    assert.deepEqual(own.envVars, [], "the deployment's own variables are untouched");
    await screenshot(page, "gitloop-previews");
  });

  it("shows a preview's page as a preview of its deployment, and not among the deployments", async () => {
    const page = await signIn(t.adminToken);
    await page.goto(`${t.baseUrl}/deployments/${deploymentId}/previews`);
    await page
      .locator(`tr[data-preview="${previewId}"]`)
      .getByRole("link", { name: "feature/login" })
      .click();
    await page.waitForURL(`${t.baseUrl}/deployments/${previewId}`);
    const line = page.getByTestId("preview-of");
    await line.getByRole("link", { name: "shop" }).waitFor();
    assert.equal(
      await line.getByRole("link", { name: "shop" }).getAttribute("href"),
      `/deployments/${deploymentId}`,
    );
    assert.equal(await line.getByTestId("preview-pull-request").textContent(), "pull request #7");
    await page.getByRole("tab", { name: "Overview" }).waitFor();
    assert.equal(await page.getByRole("tab", { name: "Previews" }).count(), 0);
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByTestId("env").waitFor();
    assert.equal(await page.getByTestId("deploy-hook").count(), 0, "a preview has no hook");
    await screenshot(page, "gitloop-preview-page");

    await page.goto(`${t.baseUrl}/deployments`);
    await page.getByRole("link", { name: "shop", exact: true }).waitFor();
    assert.equal(await page.getByText("feature-login--shop").count(), 0);
  });

  it("removes a preview after a confirmation", async () => {
    const page = await signIn(t.adminToken);
    await page.goto(`${t.baseUrl}/deployments/${deploymentId}/previews`);
    const row = page.locator(`tr[data-preview="${previewId}"]`);
    await row.getByTestId("remove-preview").click();
    const dialog = page.getByRole("dialog", { name: "Remove the preview of feature/login?" });
    await dialog.getByRole("button", { name: "Remove preview" }).click();
    await page.getByText("No previews").waitFor();
    assert.deepEqual((await deploymentsApi().listPreviews({ deploymentId })).previews, []);
    await assert.rejects(deploymentsApi().getDeployment({ id: previewId }), /not found/i);
  });

  it("creates a deploy hook, shows its URL once, and a POST to it answers 202", async () => {
    const page = await signIn(t.adminToken);
    await page.goto(`${t.baseUrl}/deployments/${deploymentId}/settings`);
    const card = page.getByTestId("deploy-hook");
    await card.getByText("No deploy hook.").waitFor();
    await card.getByTestId("create-deploy-hook").click();
    await card.getByTestId("deploy-hook-url").waitFor();
    const url = await card.getByTestId("deploy-hook-url").inputValue();
    assert.match(url, new RegExp(`^${t.baseUrl}/api/v1/hooks/obh_[A-Za-z0-9_-]{40,}$`));
    await card.getByText("it will not be shown again").waitFor();
    await screenshot(page, "gitloop-deploy-hook");

    const response = await fetch(url, { method: "POST" });
    assert.equal(response.status, 202, await response.clone().text());
    assert.equal(
      ((await response.json()) as { deployment_id: string }).deployment_id,
      deploymentId,
    );

    await page.reload();
    const status = card.getByTestId("deploy-hook-status");
    await status.getByText("Last used").waitFor();
    const token = url.slice(url.lastIndexOf("/") + 1);
    assert.match((await status.textContent()) ?? "", new RegExp(`${token.slice(0, 10)}…`));
    assert.doesNotMatch((await status.textContent()) ?? "", /never/);
    assert.equal(await card.getByTestId("deploy-hook-url").count(), 0);
    assert.ok(!(await page.content()).includes(token), "the URL is not on the page again");
  });

  it("a viewer sees the webhook URLs and the hook's state, with no way to change them", async () => {
    const page = await signIn(viewerToken);
    await page.goto(`${t.baseUrl}/projects/${projectId}`);
    await page.getByTestId("webhook-state").waitFor();
    assert.equal(await page.getByTestId("webhook-url").count(), 4);
    assert.equal(await page.getByTestId("rotate-webhook-secret").count(), 0);
    await page.goto(`${t.baseUrl}/deployments/${deploymentId}/settings`);
    await page.getByTestId("deploy-hook-status").waitFor();
    assert.equal(await page.getByTestId("rotate-deploy-hook").count(), 0);
    assert.equal(await page.getByTestId("delete-deploy-hook").count(), 0);
    await page.getByRole("tab", { name: "Previews" }).click();
    await page.getByTestId("previews-enabled").waitFor();
    assert.equal(await page.getByTestId("previews-enabled").isDisabled(), true);
  });

  it("stayed on loopback, with no CSP violation and no uncaught error", () => {
    for (const record of records) {
      assert.deepEqual(record.offLoopback, []);
      assert.deepEqual(record.cspViolations, []);
      assert.deepEqual(record.pageErrors, []);
    }
  });
});

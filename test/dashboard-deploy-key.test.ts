/**
 * The project page's deploy key in the dashboard, in Chromium against a real API: an owner opens
 * the project from the projects list, sees the key the API gives (and its fingerprint), and
 * rotates it through the confirmation dialog; a viewer sees the key and no way to rotate it.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { buildDashboard, DEFAULT_DASHBOARD_ROOT } from "../src/api/dashboard.js";
import {
  OrganizationService,
  Role,
} from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { addUserWithToken, startTestPlatform, type TestPlatform } from "./helpers/api.js";
import {
  chromiumMissing,
  launchBrowser,
  type PageRecord,
  screenshot,
  signInWithToken,
} from "./helpers/browser.js";

describe("dashboard: a project's deploy key", { skip: chromiumMissing() ?? false }, () => {
  let t: TestPlatform;
  let browser: Browser;
  let organizationId = "";
  let projectId = "";
  let viewerToken = "";
  const records: PageRecord[] = [];

  const signIn = (token: string): Promise<Page> =>
    signInWithToken(browser, { baseUrl: t.baseUrl, token, organizationId, records });
  const keyOnPage = (page: Page) => page.getByTestId("deploy-key").inputValue();
  const keyOfApi = async () =>
    (await t.client(ProjectService).getDeployKey({ projectId })).deployKey;

  before(async () => {
    if (!existsSync(`${DEFAULT_DASHBOARD_ROOT}/index.html`)) await buildDashboard();
    t = await startTestPlatform();
    const { organization } = await t
      .client(OrganizationService)
      .createOrganization({ name: "Keys Inc" });
    assert.ok(organization);
    organizationId = organization.id;
    const { project } = await t
      .client(ProjectService)
      .createProject({ organizationId, name: "Storefront" });
    assert.ok(project);
    projectId = project.id;
    const viewer = await addUserWithToken(t.platform.ctx.db);
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

  it("an owner opens the project, sees its key, and rotates it", async () => {
    const page = await signIn(t.adminToken);
    await page.goto(`${t.baseUrl}/projects`);
    await page.getByRole("link", { name: "Storefront" }).click();
    await page.waitForURL(`${t.baseUrl}/projects/${projectId}`);
    await page.getByRole("heading", { name: "Storefront" }).waitFor();

    const key = await keyOfApi();
    assert.ok(key);
    await page.getByTestId("deploy-key").waitFor();
    assert.equal(await keyOnPage(page), key.publicKey);
    assert.match(key.publicKey, /^ssh-ed25519 \S+ obiente-project-storefront-/);
    assert.equal(await page.getByTestId("deploy-key-fingerprint").textContent(), key.fingerprint);
    await screenshot(page, "project-deploy-key");

    await page.getByTestId("rotate-key").click();
    const dialog = page.getByRole("dialog", { name: "Rotate the deploy key?" });
    await dialog.getByRole("button", { name: "Rotate key" }).click();
    await page.waitForFunction(
      (old) =>
        (document.querySelector('[data-testid="deploy-key"]') as HTMLTextAreaElement | null)
          ?.value !== old,
      key.publicKey,
    );
    const rotated = await keyOfApi();
    assert.ok(rotated);
    assert.notEqual(rotated.publicKey, key.publicKey);
    assert.equal(await keyOnPage(page), rotated.publicKey);
  });

  it("a viewer sees the key, with no way to rotate it", async () => {
    const page = await signIn(viewerToken);
    await page.goto(`${t.baseUrl}/projects/${projectId}`);
    await page.getByTestId("deploy-key").waitFor();
    assert.equal(await keyOnPage(page), (await keyOfApi())?.publicKey);
    assert.equal(await page.getByTestId("rotate-key").count(), 0);
  });

  it("stayed on loopback, with no CSP violation and no uncaught error", () => {
    for (const record of records) {
      assert.deepEqual(record.offLoopback, []);
      assert.deepEqual(record.cspViolations, []);
      assert.deepEqual(record.pageErrors, []);
    }
  });
});

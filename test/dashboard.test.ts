/**
 * The web dashboard end to end: Debian's Chromium (playwright-core) against the real platform
 * (every role, in this process) on the local Docker engine, with a real OIDC issuer
 * (oidc-provider). Signs in with a token and through OIDC, makes a project and a member, deploys
 * the fixture repository's echo app from its file:// URL, watches the build log and the status
 * reach running, reads the runtime logs and the live metrics charts (the server's 5 s stream),
 * finds the node it runs on, reveals an env var, redeploys, rolls back, stops and starts, watches
 * the list follow a change made elsewhere, deletes; drains and activates the node; reads platform
 * health; shows an error state when the API fails. A screenshot of every page goes to
 * test-artifacts/dashboard/. The browser reaches loopback only.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildDashboard, DEFAULT_DASHBOARD_ROOT } from "../src/api/dashboard.js";
import { DeploymentStatus } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import {
  chromiumMissing,
  launchBrowser,
  newGuardedContext,
  type PageRecord,
  screenshot,
} from "./helpers/browser.js";
import { freePort, requestByHost } from "./helpers/caddy.js";
import {
  commitToBranch,
  type DeployHarness,
  Leftovers,
  startDeployHarness,
  untilAnswers,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { startDnsServer, type TestDnsServer } from "./helpers/dns.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";
import { type OidcIssuer, startOidcIssuer } from "./helpers/oidc-issuer.js";

const STATUS = (page: Page) => page.getByTestId("deployment-status");
/** A section's link in the sidebar. */
const nav = (page: Page, name: string) =>
  page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name });

async function waitForStatusInPage(page: Page, tone: string, timeout = 180_000) {
  await page.locator(`[data-testid=deployment-status][data-status=${tone}]`).waitFor({ timeout });
}

/**
 * From now on, records every status the deployment page shows, in order (a MutationObserver:
 * none is missed, however short).
 */
async function recordStatuses(page: Page) {
  await STATUS(page).evaluate((el) => {
    const before: string[] = [];
    (window as unknown as { __statuses: () => string[] }).__statuses = () => [
      ...before,
      el.getAttribute("data-status") ?? "",
    ];
    new MutationObserver((records) => {
      for (const r of records) before.push(r.oldValue ?? "");
    }).observe(el, { attributes: true, attributeFilter: ["data-status"], attributeOldValue: true });
  });
}

/** The statuses shown since recordStatuses, repeats folded. */
async function statusesShown(page: Page): Promise<string[]> {
  const all = await page.evaluate(() =>
    (window as unknown as { __statuses: () => string[] }).__statuses(),
  );
  return all.filter((status, i) => status !== all[i - 1]);
}

/** Waits until `check` returns a value (not undefined), polling. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("web dashboard, end to end in Chromium", { timeout: 20 * 60_000 }, () => {
  // The steps are one story: once one fails, the next ones are skipped rather than timed out.
  let broken: string | undefined;
  const step = (
    name: string,
    fn: () => Promise<void> | void,
    options: { independent?: boolean } = {},
  ) =>
    it(name, async (t) => {
      if (broken && !options.independent) return t.skip(`an earlier step failed: ${broken}`);
      try {
        await fn();
      } catch (error) {
        broken = name;
        throw error;
      }
    });

  const leftovers = new Leftovers();
  let issuer: OidcIssuer;
  let h: DeployHarness;
  let repo: FixtureRepo;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let record: PageRecord;
  let baseUrl: string;
  let deploymentId = "";
  let projectName = "";
  /** The platform's default name of the deployment (its custom one is served once verified). */
  let defaultDomain = "";
  /** The DNS server the platform looks domain ownership records up on. */
  let dns: TestDnsServer;
  const records: PageRecord[] = [];
  const appName = `dash-${Date.now().toString(36)}`;

  before(async () => {
    const missing = chromiumMissing();
    if (missing) throw new Error(missing);
    if (!existsSync(`${DEFAULT_DASHBOARD_ROOT}/index.html`)) await buildDashboard();
    // The issuer must know the dashboard's callback, so the API's port is chosen first.
    const port = await freePort();
    dns = await startDnsServer();
    issuer = await startOidcIssuer({
      webRedirectUris: [`http://127.0.0.1:${port}/auth/callback`],
      accounts: { alice: { email: "alice@obiente.test", name: "Alice Example" } },
    });
    h = await startDeployHarness(
      {
        PORT: String(port),
        OIDC_ISSUER: issuer.issuer,
        OIDC_AUDIENCE: issuer.audience,
        OIDC_CLIENT_ID: issuer.webClientId,
        DNS_RESOLVERS: dns.address,
        DNS_TIMEOUT_MS: "2000",
      },
      leftovers,
    );
    baseUrl = h.t.baseUrl;
    repo = await makeFixtureRepo();
    browser = await launchBrowser();
    ({ context, page, record } = await newGuardedContext(browser));
    records.push(record);
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await h?.close().catch(() => undefined);
    await leftovers.cleanup();
    await issuer?.close().catch(() => undefined);
    await dns?.close();
    await repo?.cleanup();
  });

  step("sends a visitor to sign in, and signs in with an API token", async () => {
    await page.goto(`${baseUrl}/deployments`);
    await page.waitForURL(/\/login\?next=%2Fdeployments/);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // The OIDC issuer is configured: the single sign-on button shows.
    await page.getByTestId("sso").waitFor();
    await screenshot(page, "01-login");

    await page.getByLabel("API token").fill("obt_not-a-real-token");
    await page.getByRole("button", { name: "Sign in with token" }).click();
    await page
      .getByRole("alert")
      .filter({ hasText: /not accepted|token/i })
      .waitFor();

    await page.getByLabel("API token").fill(h.t.adminToken);
    await page.getByRole("button", { name: "Sign in with token" }).click();
    await page.waitForURL(`${baseUrl}/deployments`);
    await page.getByTestId("user-email").filter({ hasText: "admin@obiente.local" }).waitFor();
    // The harness's organization, through the switcher.
    await page.getByTestId("org-switcher").selectOption(h.organizationId);
    await page.getByText("No deployments yet").waitFor();
    await screenshot(page, "02-deployments-empty");
  });

  step("creates a project, adds a member and changes their role", async () => {
    await nav(page, "Projects").click();
    await page.getByText("No projects yet").waitFor();
    await page.getByTestId("new-project").click();
    projectName = `web-${Date.now().toString(36)}`;
    const dialog = page.getByRole("dialog", { name: "New project" });
    await dialog.getByLabel("Name").fill(projectName);
    await dialog.getByLabel("Description").fill("The dashboard's end-to-end project");
    await dialog.getByRole("button", { name: "Create project" }).click();
    await page.getByRole("link", { name: projectName }).waitFor();
    const { projects } = await h.projects.listProjects({ organizationId: h.organizationId });
    for (const p of projects) leftovers.projectIds.add(p.id);
    await screenshot(page, "03-projects");

    await nav(page, "Members").click();
    await page.getByTestId("members").waitFor();
    await page.getByLabel("Email").fill("dev@obiente.test");
    await page.getByLabel("Role", { exact: true }).selectOption({ label: "Viewer" });
    await page.getByRole("button", { name: "Add member" }).click();
    const row = page.locator('tr[data-member="dev@obiente.test"]');
    await row.waitFor();
    await row.getByRole("combobox").selectOption({ label: "Developer" });
    await page.getByText("dev@obiente.test is now developer").waitFor();
    const { members } = await h.t
      .client(OrganizationService)
      .listMembers({ organizationId: h.organizationId });
    assert.equal(members.find((m) => m.email === "dev@obiente.test")?.role, 3, "developer");
    await screenshot(page, "04-members");
  });

  step("deploys from a git repository and shows the live build log until it runs", async () => {
    await nav(page, "Deployments").click();
    await page.getByTestId("new-deployment").click();
    await page.getByTestId("new-deployment-form").waitFor();
    await page.getByTestId("project-select").selectOption({ label: projectName });
    await page.getByLabel("Git repository").fill(repo.url);
    await page.getByLabel("Branch").fill("echo");
    await page.getByLabel("Name", { exact: true }).fill(appName);
    await page.getByLabel("Variable name").first().fill("GREETING");
    await page.getByLabel("Variable value").first().fill("hello-dashboard");
    await page.getByLabel("Custom domain").fill(`${appName}.example.test`);
    await screenshot(page, "05-new-deployment");
    await page.getByTestId("deploy").click();

    await page.waitForURL(/\/deployments\/[0-9a-f-]{36}$/);
    deploymentId = new URL(page.url()).pathname.split("/")[2] ?? "";
    leftovers.deploymentIds.add(deploymentId);
    assert.match(deploymentId, /^[0-9a-f-]{36}$/);
    await page.getByRole("heading", { name: appName }).waitFor();

    // The build log, live, while it builds.
    await page.locator("[data-testid=build-log] .log-line").first().waitFor({ timeout: 120_000 });
    await screenshot(page, "06-deployment-building");
    await waitForStatusInPage(page, "running");
    assert.equal(await STATUS(page).getAttribute("data-status"), "running");
    const { deployment } = await h.deployments.getDeployment({ id: deploymentId });
    assert.equal(deployment?.status, DeploymentStatus.RUNNING);
    defaultDomain = deployment?.domains.find((d) => d.endsWith(".localhost")) ?? "";
    assert.ok(defaultDomain);
    const lines = await page.locator("[data-testid=build-log] .log-line").count();
    assert.ok(lines > 0, "the build log showed lines");
    await screenshot(page, "07-deployment-running");
  });

  step("follows the runtime logs", async () => {
    assert.ok(h.edgePort);
    // The custom domain is not served until verified (a later step): the default one is.
    const domain = defaultDomain;
    await untilAnswers(
      h.edgePort,
      domain,
      200,
      `${FIXTURE_CONTENT.echo} v1; GREETING=hello-dashboard`,
    );
    await page.getByRole("tab", { name: "Logs" }).click();
    const log = page.getByTestId("runtime-log");
    await log
      .getByText(/listening on/)
      .first()
      .waitFor({ timeout: 30_000 });
    // A request now shows up while the page follows.
    await requestByHost(h.edgePort, domain, "/from-the-dashboard-test");
    await log.getByText("GET /from-the-dashboard-test").waitFor({ timeout: 30_000 });
    // Log lines are text: markup a client put in a request path, logged by the app, shows as
    // characters and never becomes an element.
    const markup = "/<img/src=x/onerror=window.__logMarkup=1>";
    await requestByHost(h.edgePort, domain, markup);
    await log.getByText(`GET ${markup}`).waitFor({ timeout: 30_000 });
    assert.equal(await log.locator("img").count(), 0, "the log line became an element");
    await screenshot(page, "08-logs");
  });

  step("shows live metrics charts, where it runs and why, and its node", async () => {
    await page.getByRole("tab", { name: "Overview" }).click();
    const cpu = page.getByTestId("chart-cpu");
    await cpu.waitFor();
    // Live: the chart gains a point as each 5 s sample arrives on the stream.
    const points = async () => Number((await cpu.getAttribute("data-points")) ?? "0");
    const first = await eventually(
      async () => ((await points()) > 0 ? points() : undefined),
      30_000,
      "the first metrics samples",
    );
    await eventually(
      async () => ((await points()) > first ? true : undefined),
      30_000,
      "a new metrics sample on the chart",
    );
    // What the page draws, the API serves.
    const { live } = await h.deployments.getDeploymentMetrics({ deploymentId });
    assert.ok(live.length > 0, "GetDeploymentMetrics answers live samples");
    for (const testid of ["chart-cpu", "chart-memory", "chart-network"]) {
      await page.locator(`[data-testid=${testid}][data-state=data] canvas`).waitFor();
    }
    await page
      .getByTestId("chart-memory")
      .locator(".chart-latest")
      .filter({ hasText: /^Used [\d.]+ [KMG]?B/ })
      .waitFor();
    // Where it runs: the local node; and why: one engine, no scheduler decision.
    await page.getByTestId("locations").waitFor();
    await page.getByTestId("placement-none").filter({ hasText: "single Docker engine" }).waitFor();
    await screenshot(page, "09-deployment-metrics");

    // The last hour, per minute: a minute is written once it is over, so a deployment this
    // young may have none yet; either way the chart says so, not an error.
    await page.getByRole("button", { name: "1 hour", exact: true }).click();
    const state = await eventually(
      async () => {
        const value = await cpu.getAttribute("data-state");
        return value === "data" || value === "empty" ? value : undefined;
      },
      15_000,
      "the last hour's chart",
    );
    if (state === "empty") await cpu.getByText("No per-minute data in this range yet.").waitFor();
    await page.getByRole("button", { name: "Live", exact: true }).click();
    await page.locator("[data-testid=chart-cpu][data-state=data] canvas").waitFor();

    // The node, from the locations table: it counts the deployment.
    await page.getByTestId("locations").getByRole("link").first().click();
    await page.waitForURL(`${baseUrl}/nodes`);
    const card = page.locator("[data-testid=nodes] article").first();
    await card
      .locator(".meter-row", { hasText: "Deployments" })
      .getByText(/^1 \/ \d+$/)
      .waitFor({ timeout: 20_000 });
    await screenshot(page, "14-nodes");
    await page.goBack();
    await page.waitForURL(`${baseUrl}/deployments/${deploymentId}`);
    await page.getByRole("heading", { name: appName }).waitFor();
  });

  step("draws live charts from metrics answers (a metrics server, simulated)", async () => {
    // Whatever the server does, the charts' live path is checked against Connect answers made
    // here: a minute of live samples, then a stream that gives one new 5 s sample per connection.
    const start = Date.now() - 60_000;
    const sample = (at: number, i: number) => ({
      at: new Date(at).toISOString(),
      cpuPercent: 5 + (i % 7) * 3,
      memoryBytes: String((40 + (i % 5)) * 1024 * 1024),
      memoryLimitBytes: String(256 * 1024 * 1024),
      networkRxBytes: String(2_000 + i * 150),
      networkTxBytes: String(1_000 + i * 90),
      pids: 3,
    });
    const envelope = (flags: number, message: unknown) => {
      const json = Buffer.from(JSON.stringify(message));
      const head = Buffer.alloc(5);
      head.writeUInt8(flags, 0);
      head.writeUInt32BE(json.length, 1);
      return Buffer.concat([head, json]);
    };
    let streamed = 0;
    await page.route(
      "**/obiente.cloud.deployment.v1.DeploymentService/GetDeploymentMetrics",
      (route) =>
        route.fulfill({
          status: 200,
          contentType: "application/json",
          body: JSON.stringify({
            live: Array.from({ length: 12 }, (_, i) => sample(start + i * 5_000, i)),
            minutes: Array.from({ length: 30 }, (_, i) =>
              sample(Math.floor(Date.now() / 60_000 - 30 + i) * 60_000, i),
            ),
            usage: [
              {
                hour: new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString(),
                cpuSeconds: 42.5,
                memoryByteSeconds: 3.2e11,
                networkBytes: "1048576",
                diskIoBytes: "524288",
              },
            ],
          }),
        }),
    );
    await page.route(
      "**/obiente.cloud.deployment.v1.DeploymentService/StreamDeploymentMetrics",
      (route) => {
        streamed++;
        return route.fulfill({
          status: 200,
          contentType: "application/connect+json",
          body: Buffer.concat([
            envelope(0, { sample: sample(start + (11 + streamed) * 5_000, 11 + streamed) }),
            envelope(2, {}),
          ]),
        });
      },
    );
    try {
      // Opening the overview again makes a new metrics panel, which asks the routes above.
      await page.getByRole("tab", { name: "Logs" }).click();
      await page.getByRole("tab", { name: "Overview" }).click();
      const cpu = page.getByTestId("chart-cpu");
      await page.locator("[data-testid=chart-cpu][data-state=data] canvas").waitFor();
      const points = async () => Number((await cpu.getAttribute("data-points")) ?? "0");
      const first = await points();
      assert.ok(first >= 12, `the live samples are drawn (${first} points)`);
      await eventually(
        async () => ((await points()) > first ? true : undefined),
        20_000,
        "a streamed sample on the chart",
      );
      await page.locator("[data-testid=chart-memory][data-state=data]").waitFor();
      await page.locator("[data-testid=chart-network][data-state=data]").waitFor();
      await page.getByText("core·h").waitFor();
      await screenshot(page, "09b-deployment-metrics-live-simulated");
      // The last hour: one point a minute.
      await page.getByRole("button", { name: "1 hour", exact: true }).click();
      await page.locator("[data-testid=chart-cpu][data-state=data][data-points='30']").waitFor();
      await page.locator("[data-testid=chart-network][data-state=data]").waitFor();
      await screenshot(page, "09c-deployment-metrics-hour-simulated");
    } finally {
      await page.unroute("**/obiente.cloud.deployment.v1.DeploymentService/GetDeploymentMetrics");
      await page.unroute(
        "**/obiente.cloud.deployment.v1.DeploymentService/StreamDeploymentMetrics",
      );
    }
  });

  step("hides env var values until they are revealed", async () => {
    await page.getByRole("tab", { name: "Settings" }).click();
    const row = page.locator('[data-testid=env-vars] tr[data-key="GREETING"]');
    await row.waitFor();
    assert.equal(await row.getByText("hello-dashboard").count(), 0, "the value is hidden");
    await screenshot(page, "10-settings");
    await row.getByTestId("reveal").click();
    await row.getByText("hello-dashboard").waitFor();
    await page
      .getByTestId("domains")
      .getByText(`${appName}.example.test`, { exact: true })
      .waitFor();
  });

  step("shows the custom domain pending with its DNS record, and verifies it", async () => {
    assert.ok(h.edgePort);
    const domain = `${appName}.example.test`;
    const item = page.locator(`[data-testid=domains] li[data-domain="${domain}"]`);
    await item.locator("[data-testid=domain-status][data-status=pending]").waitFor();
    const instructions = item.getByTestId("domain-instructions");
    await instructions.waitFor();
    const name = (await instructions.getByTestId("record-name").textContent()) ?? "";
    const value = (await instructions.getByTestId("record-value").textContent()) ?? "";
    assert.equal(name, `_obiente-challenge.${domain}`);
    assert.match(value, /^obiente-verification=[\w-]{24}$/);
    assert.equal((await requestByHost(h.edgePort, domain)).status, 404, "served while pending");
    await screenshot(page, "10b-domain-pending");

    // Verifying before the record exists says what is missing, and changes nothing.
    await instructions.getByTestId("verify-domain").click();
    await instructions
      .getByRole("alert")
      .filter({ hasText: /no TXT record at/ })
      .waitFor();
    await item.locator("[data-testid=domain-status][data-status=pending]").waitFor();

    await dns.setTxtRecords({ [name]: [value] });
    await instructions.getByTestId("verify-domain").click();
    await item.locator("[data-testid=domain-status][data-status=verified]").waitFor();
    assert.equal(await item.getByTestId("domain-instructions").count(), 0);
    await untilAnswers(h.edgePort, domain, 200, `${FIXTURE_CONTENT.echo} v1;`, 30_000);
    await screenshot(page, "10c-domain-verified");
  });

  step("redeploys a new commit, then rolls back to the first build", async () => {
    assert.ok(h.edgePort);
    const domain = `${appName}.example.test`;
    const { builds: before } = await h.deployments.listBuilds({ deploymentId });
    assert.equal(before.length, 1);
    const firstBuild = before[0]?.id ?? "";
    await commitToBranch(repo, "echo", { "message.txt": "v2\n" }, "v2");

    await recordStatuses(page);
    await page.getByTestId("redeploy").click();
    await page.getByRole("dialog").getByRole("button", { name: "Redeploy" }).click();
    await page.getByRole("tab", { name: "Overview", selected: true }).waitFor();
    await waitForStatus(h.deployments, deploymentId, DeploymentStatus.RUNNING, 180_000);
    await waitForStatusInPage(page, "running");
    // The page followed the redeploy live: it showed the build, then running again.
    const shown = await statusesShown(page);
    assert.ok(shown.includes("building"), `the page showed the build: ${shown.join(" → ")}`);
    assert.equal(shown.at(-1), "running", shown.join(" → "));
    await untilAnswers(h.edgePort, domain, 200, `${FIXTURE_CONTENT.echo} v2;`, 30_000);

    await page.getByRole("tab", { name: "Builds" }).click();
    const rows = page.locator("[data-testid=builds] tr[data-build]");
    await eventually(
      async () => ((await rows.count()) === 2 ? true : undefined),
      30_000,
      "two builds",
    );
    await page.locator(`tr[data-build="${firstBuild}"]`).getByTestId("rollback").waitFor();
    await screenshot(page, "11-builds");
    await page.locator(`tr[data-build="${firstBuild}"]`).getByTestId("rollback").click();
    await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
    await page.getByRole("tab", { name: "Overview", selected: true }).waitFor();
    await eventually(
      async () => {
        const { deployment } = await h.deployments.getDeployment({ id: deploymentId });
        return deployment?.currentBuildId === firstBuild &&
          deployment.status === DeploymentStatus.RUNNING
          ? true
          : undefined;
      },
      120_000,
      "the rollback to the first build",
    );
    await untilAnswers(h.edgePort, domain, 200, `${FIXTURE_CONTENT.echo} v1;`, 30_000);
    await waitForStatusInPage(page, "running");
    await page.getByRole("tab", { name: "Builds" }).click();
    await page.locator(`tr[data-build="${firstBuild}"] [data-testid=current-build]`).waitFor();
  });

  step("stops and starts the deployment", async () => {
    await page.getByTestId("stop").click();
    await waitForStatusInPage(page, "stopped", 60_000);
    await page.getByTestId("start").click();
    await waitForStatusInPage(page, "running", 120_000);
  });

  step("lists the deployment with its live status", async () => {
    await nav(page, "Deployments").click();
    const row = page.locator(`[data-testid=deployments-table] tr[data-id="${deploymentId}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute("data-status"), "running");
    await screenshot(page, "12-deployments");
    // Live: a change made elsewhere (here, the API) shows without a reload.
    await h.deployments.stopDeployment({ id: deploymentId });
    await page
      .locator(`[data-testid=deployments-table] tr[data-id="${deploymentId}"][data-status=stopped]`)
      .waitFor({ timeout: 30_000 });
    await h.deployments.startDeployment({ id: deploymentId });
    await page
      .locator(`[data-testid=deployments-table] tr[data-id="${deploymentId}"][data-status=running]`)
      .waitFor({ timeout: 60_000 });
    // The same list on a phone.
    const phone = await newGuardedContext(browser, { viewport: { width: 390, height: 844 } });
    records.push(phone.record);
    try {
      await phone.page.goto(`${baseUrl}/login`);
      await phone.page.getByLabel("API token").fill(h.t.adminToken);
      await phone.page.getByRole("button", { name: "Sign in with token" }).click();
      await phone.page.waitForURL(`${baseUrl}/deployments`);
      // The sidebar is behind the menu button on a phone.
      await phone.page.getByRole("button", { name: "Menu" }).click();
      await phone.page.getByTestId("org-switcher").selectOption(h.organizationId);
      await phone.page.locator(`tr[data-id="${deploymentId}"]`).waitFor();
      await screenshot(phone.page, "13-deployments-phone");
    } finally {
      await phone.context.close();
    }
  });

  step("deletes the deployment", async () => {
    await page
      .locator(`tr[data-id="${deploymentId}"]`)
      .getByRole("link", { name: appName })
      .click();
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByTestId("delete").click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("textbox").fill(appName);
    await dialog.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(`${baseUrl}/deployments`);
    await eventually(
      async () => {
        const { deployments } = await h.deployments.listDeployments({
          organizationId: h.organizationId,
        });
        return deployments.length === 0 ? true : undefined;
      },
      60_000,
      "the deployment to go",
    );
    await page.getByText("No deployments yet").waitFor({ timeout: 30_000 });
  });

  step(
    "shows platform health",
    async () => {
      await nav(page, "Health").click();
      await page.getByTestId("health-status").waitFor();
      await page.locator('[data-testid=health-checks] tr[data-check="database"]').waitFor();
      await page.locator('[data-testid=health-checks] tr[data-check="services"]').waitFor();
      await page.locator('[data-testid=health-checks] tr[data-check="docker"]').waitFor();
      await page.locator('[data-testid=health-checks] tr[data-check="metrics"]').waitFor();
      await page.getByText("RPC latency p95").waitFor();
      await page.getByText("Error rate", { exact: true }).waitFor();
      // The metrics system's own report (/metrics/observability).
      await page.getByTestId("observability").getByText("collection", { exact: true }).waitFor();
      // A few round trips on the chart.
      await page
        .locator("[data-testid=chart-latency][data-state=data]")
        .waitFor({ timeout: 20_000 });
      await screenshot(page, "15-health");
    },
    { independent: true },
  );
  step(
    "shows an error state, not a blank page, when the API fails",
    async () => {
      await page.route(
        "**/obiente.cloud.deployment.v1.DeploymentService/ListDeployments",
        (route) =>
          route.fulfill({
            status: 503,
            contentType: "application/json",
            body: JSON.stringify({ code: "unavailable", message: "the database is not answering" }),
          }),
      );
      await nav(page, "Deployments").click();
      await page.getByText("Could not load deployments").waitFor();
      await page.getByText("The database is not answering").waitFor();
      await screenshot(page, "16-error-state");
      await page.unroute("**/obiente.cloud.deployment.v1.DeploymentService/ListDeployments");
      await page.getByRole("button", { name: "Try again" }).click();
      await page
        .getByTestId("deployments-table")
        .or(page.getByText("No deployments yet"))
        .waitFor();
    },
    { independent: true },
  );
  step(
    "signs a new visitor in through OIDC (authorization code + PKCE)",
    async () => {
      const visitor = await newGuardedContext(browser);
      records.push(visitor.record);
      const p = visitor.page;
      try {
        await p.goto(`${baseUrl}/`);
        await p.waitForURL(/\/login/);
        await p.getByTestId("sso").click();
        // The issuer's development login form: any login and password.
        await p.waitForURL(new RegExp(`^${issuer.issuer}/interaction/`));
        await p.locator("input[name=login]").fill("alice");
        await p.locator("input[name=password]").fill("any-password");
        await screenshot(p, "17-oidc-issuer-login");
        await p.locator("button[type=submit]").click();
        await p.waitForURL(`${baseUrl}/deployments`, { timeout: 30_000 });
        await p.getByTestId("user-email").filter({ hasText: "alice@obiente.test" }).waitFor();
        // A first OIDC sign-in gets a personal organization.
        await p.getByText("No deployments yet").waitFor();
        const stored = await p.evaluate(() => sessionStorage.getItem("obiente.session"));
        assert.match(stored ?? "", /"method":"oidc"/);
        await screenshot(p, "18-oidc-signed-in");
        await nav(p, "Members").click();
        await p.locator('tr[data-member="alice@obiente.test"]').waitFor();
        // Signing out ends the session: the app asks to sign in again.
        await p.getByTestId("sign-out").click();
        await p.waitForURL(/\/login/);
        assert.equal(await p.evaluate(() => sessionStorage.getItem("obiente.session")), null);
      } finally {
        await visitor.context.close();
      }
    },
    { independent: true },
  );
  step(
    "makes and revokes an API token on the account page",
    async () => {
      await page.getByTestId("user-email").click();
      await page.waitForURL(`${baseUrl}/account`);
      await page.getByLabel("Token name").fill("dashboard test");
      await page.getByRole("button", { name: "Create token" }).click();
      const secret = page.locator(".secret-value");
      await secret.waitFor();
      assert.match((await secret.textContent()) ?? "", /^obt_/);
      const row = page.locator("tr", { hasText: "dashboard test" });
      await row.waitFor();
      await screenshot(page, "20-account");
      await row.getByRole("button", { name: "Revoke" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
      await row.waitFor({ state: "detached" });
    },
    { independent: true },
  );

  step(
    "moves around with the keyboard",
    async () => {
      await page.locator("main").click({ position: { x: 5, y: 5 } });
      await page.keyboard.press("g");
      await page.keyboard.press("p");
      await page.waitForURL(`${baseUrl}/projects`);
      await page.keyboard.press("g");
      await page.keyboard.press("d");
      await page.waitForURL(`${baseUrl}/deployments`);
      await page.keyboard.press("/");
      assert.equal(
        await page.evaluate(() => document.activeElement?.getAttribute("type")),
        "search",
      );
      await page.keyboard.press("Escape");
      await page.keyboard.press("?");
      await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
      await page.keyboard.press("Escape");
      await page.getByRole("dialog").waitFor({ state: "detached" });
      await page.keyboard.press("c");
      await page.waitForURL(`${baseUrl}/deployments/new`);
    },
    { independent: true },
  );

  step(
    "shows node health, and drains and activates the node",
    async () => {
      await nav(page, "Nodes").click();
      const card = page.locator("[data-testid=nodes] article").first();
      await card.waitFor();
      for (const meter of ["CPU", "Memory", "Disk", "Deployments"]) {
        await card.getByText(meter, { exact: true }).waitFor();
      }
      await card.getByText("compute=true").waitFor();
      try {
        await card.getByTestId("drain").click();
        await page.getByRole("dialog").getByRole("button", { name: "Drain" }).click();
        await page.getByRole("dialog").waitFor({ state: "detached", timeout: 10_000 });
        await page.locator("[data-testid=nodes] article[data-availability=drain]").waitFor();
        await screenshot(page, "19-node-draining");
        await page.locator("[data-testid=nodes] article").first().getByTestId("activate").click();
        await page.getByRole("dialog").getByRole("button", { name: "Activate" }).click();
        await page.getByRole("dialog").waitFor({ state: "detached", timeout: 10_000 });
        await page.locator("[data-testid=nodes] article[data-availability=active]").waitFor();
      } catch (error) {
        // Say what the server answered, as the dialog shows it.
        const shown = await page
          .locator("dialog .form-error")
          .textContent()
          .catch(() => null);
        await screenshot(page, "19-node-action-failed");
        await page.keyboard.press("Escape");
        throw new Error(
          `drain/activate did not complete${shown ? `: the dialog says "${shown}"` : ""}`,
          { cause: error },
        );
      }
    },
    { independent: true },
  );
  it("stayed on loopback, with no CSP violation and no uncaught error", () => {
    for (const r of records) {
      // The issuer's own login page (oidc-provider's development form) asks for a web font,
      // which the guard blocks: only the dashboard's pages are held to loopback here.
      const offLoopback = r.offLoopback.filter(({ from }) => !from.startsWith(`${issuer.issuer}/`));
      assert.deepEqual(offLoopback, [], "requests off loopback");
      assert.deepEqual(r.cspViolations, [], "CSP violations");
      assert.deepEqual(r.pageErrors, [], "uncaught errors");
      // Answers the steps ask for: a made-up token (401), the API failing on purpose (503), and
      // verifying a domain before its DNS record exists (FailedPrecondition, 400).
      const expected = (line: string) =>
        /^401 POST \S+\.AuthService\/WhoAmI$/.test(line) ||
        /^503 POST \S+\.DeploymentService\/ListDeployments$/.test(line) ||
        /^400 POST \S+\.DeploymentService\/VerifyDomain$/.test(line);
      assert.deepEqual(
        r.failedResponses.filter((line) => !expected(line)),
        [],
        "failed responses",
      );
      const unexpected = r.consoleErrors.filter((m) => !/^Failed to load resource/.test(m));
      assert.deepEqual(unexpected, [], "console errors");
    }
  });
});

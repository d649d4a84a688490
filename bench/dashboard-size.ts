/**
 * The dashboard's weight and speed: the size of the built files (raw, gzip, Brotli; what the
 * first load of a page needs, and what loads later), then the time to the first meaningful
 * paint of the deployments page in Debian's Chromium on loopback, from the browser's own
 * performance API:
 *
 *   - FCP: first-contentful-paint (the first text or image painted: the frame or a skeleton);
 *   - FMP: the app's "obiente:deployments-rendered" mark, set when the deployments table (or its
 *     empty state) is on the page with the API's answer: the first meaningful paint;
 *   - LCP: largest-contentful-paint, as Chromium reports it.
 *
 * Against the API alone (PGlite, no controller), with an organization of 25 deployments (which
 * stay queued). Cold loads use a fresh browser context each time (empty cache); warm loads
 * reload in the same context (assets from the cache, index.html revalidated).
 *
 *   node --import tsx bench/dashboard-size.ts [N]     (N samples of each, default 10)
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { Browser, Page } from "playwright-core";
import { buildDashboard, DEFAULT_DASHBOARD_ROOT } from "../src/api/dashboard.js";
import { DeploymentService } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { startTestPlatform, type TestPlatform } from "../test/helpers/api.js";
import { launchBrowser, newGuardedContext } from "../test/helpers/browser.js";
import { ms, printFooter, printHeader, summarize, table, withCleanup } from "./support.js";

const N = Number(process.argv[2] ?? 10);
const DEPLOYMENTS = 25;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

interface FileSize {
  name: string;
  raw: number;
  gzip: number;
  brotli: number;
  initial: boolean;
}

async function sizes(root: string): Promise<FileSize[]> {
  const html = await readFile(join(root, "index.html"), "utf8");
  const out: FileSize[] = [];
  const files = ["index.html", ...(await readdir(join(root, "assets"))).map((f) => `assets/${f}`)];
  for (const name of files) {
    const body = await readFile(join(root, name));
    out.push({
      name,
      raw: body.length,
      gzip: gzipSync(body, { level: 9 }).length,
      brotli: brotliCompressSync(body, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
      }).length,
      // What index.html asks for: the first load of any page.
      initial: name === "index.html" || html.includes(`/${name}`),
    });
  }
  return out;
}

interface Paint {
  fcp: number;
  fmp: number;
  lcp: number;
  responseEnd: number;
}

/** Loads /deployments and reads the paint timings, in ms since navigation start. */
async function measure(page: Page, url: string, reload: boolean): Promise<Paint> {
  if (reload) await page.reload({ waitUntil: "commit" });
  else await page.goto(url, { waitUntil: "commit" });
  await page.waitForFunction(
    () => performance.getEntriesByName("obiente:deployments-rendered").length > 0,
    undefined,
    { timeout: 30_000, polling: 16 },
  );
  // LCP is final once the page stops painting new content; give it a frame.
  await page.waitForTimeout(100);
  return page.evaluate(
    () =>
      new Promise<Paint>((resolve) => {
        const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
        const fcp =
          performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? Number.NaN;
        const fmp =
          performance.getEntriesByName("obiente:deployments-rendered")[0]?.startTime ?? Number.NaN;
        new PerformanceObserver((list) => {
          const entries = list.getEntries();
          resolve({
            fcp,
            fmp,
            lcp: entries[entries.length - 1]?.startTime ?? Number.NaN,
            responseEnd: nav.responseEnd,
          });
        }).observe({ type: "largest-contentful-paint", buffered: true });
        setTimeout(
          () => resolve({ fcp, fmp, lcp: Number.NaN, responseEnd: nav.responseEnd }),
          1_000,
        );
      }),
  );
}

async function main() {
  await printHeader("Dashboard: bundle size and first meaningful paint of the deployments page");
  let t: TestPlatform | undefined;
  let browser: Browser | undefined;
  await withCleanup(
    async () => {
      if (process.argv.includes("--build")) await buildDashboard();
      const files = await sizes(DEFAULT_DASHBOARD_ROOT).catch(async () => {
        await buildDashboard();
        return sizes(DEFAULT_DASHBOARD_ROOT);
      });
      const sum = (list: FileSize[], key: "raw" | "gzip" | "brotli") =>
        list.reduce((total, f) => total + f[key], 0);
      const initial = files.filter((f) => f.initial);
      const lazy = files.filter((f) => !f.initial);
      console.log("## Bundle (web/dist)");
      console.log(
        table([
          ["file", "first load", "raw", "gzip", "brotli"],
          ...files.map((f) => [
            f.name,
            f.initial ? "yes" : "later",
            kb(f.raw),
            kb(f.gzip),
            kb(f.brotli),
          ]),
          [
            "first load, total",
            "",
            kb(sum(initial, "raw")),
            kb(sum(initial, "gzip")),
            kb(sum(initial, "brotli")),
          ],
          [
            "later (charts), total",
            "",
            kb(sum(lazy, "raw")),
            kb(sum(lazy, "gzip")),
            kb(sum(lazy, "brotli")),
          ],
          [
            "everything",
            "",
            kb(sum(files, "raw")),
            kb(sum(files, "gzip")),
            kb(sum(files, "brotli")),
          ],
        ]),
      );
      console.log("");

      t = await startTestPlatform();
      const { organization } = await t
        .client(OrganizationService)
        .createOrganization({ name: "Bench dashboard" });
      if (!organization) throw new Error("no organization");
      const { project } = await t
        .client(ProjectService)
        .createProject({ organizationId: organization.id, name: "shop" });
      if (!project) throw new Error("no project");
      for (let i = 0; i < DEPLOYMENTS; i++) {
        await t.client(DeploymentService).createDeployment({
          projectId: project.id,
          name: `app-${i}`,
          gitRepo: `https://git.example.test/acme/app-${i}.git`,
          branch: "main",
        });
      }
      browser = await launchBrowser();
      const url = `${t.baseUrl}/deployments`;
      const session = JSON.stringify({ token: t.adminToken, method: "api_token" });
      const seed = (arg: { organizationId: string; session: string }) => {
        sessionStorage.setItem("obiente.session", arg.session);
        localStorage.setItem("obiente.organization", arg.organizationId);
      };

      const cold: Paint[] = [];
      const warm: Paint[] = [];
      // One untimed load first: Chromium's own start-up is not the dashboard's.
      for (let i = 0; i <= N; i++) {
        const { context, page } = await newGuardedContext(browser);
        await context.addInitScript(seed, { organizationId: organization.id, session });
        const first = await measure(page, url, false);
        if (i > 0) cold.push(first);
        if (i > 0) warm.push(await measure(page, url, true));
        await context.close();
      }
      const row = (label: string, list: Paint[], key: keyof Paint) => {
        const s = summarize(list.map((p) => p[key]));
        return [label, ms(s.median), ms(s.p90), ms(s.min), ms(s.max)];
      };
      console.log(
        `## Deployments page, ${DEPLOYMENTS} deployments, ${N} loads each (ms after navigation start)`,
      );
      console.log(
        table([
          ["", "median", "p90", "min", "max"],
          row("cold: HTML received", cold, "responseEnd"),
          row("cold: first contentful paint", cold, "fcp"),
          row("cold: first meaningful paint", cold, "fmp"),
          row("cold: largest contentful paint", cold, "lcp"),
          row("warm: HTML received", warm, "responseEnd"),
          row("warm: first contentful paint", warm, "fcp"),
          row("warm: first meaningful paint", warm, "fmp"),
          row("warm: largest contentful paint", warm, "lcp"),
        ]),
      );
    },
    async () => {
      await browser?.close().catch(() => undefined);
      await t?.close();
    },
  );
  printFooter();
}

await main();

/**
 * Debian's Chromium, driven by playwright-core, for the dashboard's tests and benchmark. The
 * browser reaches loopback only: host names other than localhost do not resolve, and every
 * request to another address is aborted and recorded (a test asserts there were none). Pages
 * also record CSP violations, uncaught errors and console errors.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
  "--disable-quic",
  "--disable-default-apps",
  "--disable-extensions",
  "--metrics-recording-only",
  "--no-pings",
  // Nothing but loopback: any other name fails to resolve.
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
];

const repoRoot = new URL("../../", import.meta.url).pathname;
export const ARTIFACTS_DIR = join(repoRoot, "test-artifacts", "dashboard");

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `Chromium is not installed at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`;
}

export async function launchBrowser(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

export const isLoopbackUrl = (url: string): boolean => {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === "data:" || u.protocol === "blob:" || u.protocol === "about:") return true;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return (
    host === "localhost" || host.endsWith(".localhost") || /^127\./.test(host) || host === "::1"
  );
};

/** What a page did that a test should look at. */
export interface PageRecord {
  /** Requests to anything but loopback (aborted), and the page that made each. */
  offLoopback: Array<{ url: string; from: string }>;
  cspViolations: string[];
  pageErrors: string[];
  consoleErrors: string[];
  /** Responses with a status of 400 or more: "<status> <method> <url>". */
  failedResponses: string[];
}

/** A fresh context (its own storage), guarded and recorded. */
export async function newGuardedContext(
  browser: Browser,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<{ context: BrowserContext; page: Page; record: PageRecord }> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    locale: "en-US",
    timezoneId: "UTC",
    serviceWorkers: "block",
  });
  const record: PageRecord = {
    offLoopback: [],
    cspViolations: [],
    pageErrors: [],
    consoleErrors: [],
    failedResponses: [],
  };
  await context.route(
    (url) => !isLoopbackUrl(url.href),
    (route) => {
      const request = route.request();
      let from = "";
      try {
        from = request.frame().url();
      } catch {
        // A service worker's request has no frame (and workers are blocked anyway).
      }
      record.offLoopback.push({ url: request.url(), from });
      return route.abort("blockedbyclient");
    },
  );
  await context.exposeBinding("__reportCspViolation", (_source, text: string) => {
    record.cspViolations.push(text);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      const report = (window as unknown as { __reportCspViolation?: (t: string) => void })
        .__reportCspViolation;
      report?.(
        `${event.violatedDirective} blocked ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}`,
      );
    });
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => record.pageErrors.push(error.message));
  page.on("response", (response) => {
    if (response.status() >= 400) {
      record.failedResponses.push(
        `${response.status()} ${response.request().method()} ${response.url()}`,
      );
    }
  });
  page.on("console", (message) => {
    if (message.type() === "error") record.consoleErrors.push(message.text());
  });
  return { context, page, record };
}

/** A full-page screenshot under test-artifacts/dashboard/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await mkdir(dirname(path), { recursive: true });
  // Notices of earlier steps would cover the page. (Not with the screenshot's `style` option:
  // that injects an inline <style>, which the dashboard's CSP rightly blocks.)
  await page.evaluate(() => {
    document.querySelectorAll(".toast").forEach((toast) => {
      toast.remove();
    });
  });
  await page.screenshot({ path, fullPage: true, animations: "disabled", caret: "hide" });
  return path;
}

/**
 * A fresh guarded context signed in with an API token, on the deployments page of
 * `organizationId`. Its record is pushed to `records`.
 */
export async function signInWithToken(
  browser: Browser,
  options: { baseUrl: string; token: string; organizationId: string; records: PageRecord[] },
): Promise<Page> {
  const { page, record } = await newGuardedContext(browser);
  options.records.push(record);
  await page.goto(`${options.baseUrl}/login`);
  await page.getByLabel("API token").fill(options.token);
  await page.getByRole("button", { name: "Sign in with token" }).click();
  await page.waitForURL(`${options.baseUrl}/deployments`);
  await page.getByTestId("org-switcher").selectOption(options.organizationId);
  return page;
}

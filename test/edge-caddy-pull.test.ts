/**
 * Caddy pulling its configuration from the API (CADDY_MODE=pull), as each edge node of the stack
 * does: a real Caddy started by the stack image's own entrypoint script
 * (deploy/images/caddy/obiente-caddy), a platform with every role deploying the fixture app. Caddy
 * serves the app's route and the API's own domain (sent to the API by name, Caddy resolving it),
 * keeps pulling (a deployment made after it started is served), and the endpoint refuses a
 * request without the provider token.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CADDY_PROVIDER_PATH } from "../src/app/caddy-provider.js";
import { DeploymentStatus } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { eventually, freePort, requestByHost, stopProcess } from "./helpers/caddy.js";
import {
  type DeployHarness,
  Leftovers,
  startDeployHarness,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";
import { REPO_ROOT } from "./helpers/image.js";

const API_DOMAIN = "cloud.localhost";

describe("Caddy pulling its configuration from the API", () => {
  const leftovers = new Leftovers();
  const token = randomBytes(24).toString("hex");
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  let caddy: ChildProcess | undefined;
  let dir = "";
  let output = "";
  let httpPort = 0;

  before(async () => {
    let apiPort: number;
    let adminPort: number;
    [repo, httpPort, apiPort, adminPort, dir] = await Promise.all([
      makeFixtureRepo(),
      freePort(),
      freePort(),
      freePort(),
      mkdtemp(join(tmpdir(), "obiente-caddy-pull-")),
    ]);
    h = await startDeployHarness(
      {
        EDGE: "caddy",
        CADDY_MODE: "pull",
        CADDY_PROVIDER_TOKEN: token,
        CADDY_ADMIN_URL: `http://127.0.0.1:${adminPort}`,
        CADDY_HTTP_PORT: String(httpPort),
        CADDY_API_DOMAIN: API_DOMAIN,
        // The name Caddy resolves to find the API replicas; here one, on loopback.
        CADDY_API_UPSTREAM: `127.0.0.1:${apiPort}`,
        PORT: String(apiPort),
      },
      leftovers,
    );
    const tokenFile = join(dir, "token");
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    caddy = spawn("sh", [join(REPO_ROOT, "deploy/images/caddy/obiente-caddy")], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        XDG_DATA_HOME: join(dir, "data"),
        XDG_CONFIG_HOME: join(dir, "config"),
        CADDY_CONFIG_URL: `http://127.0.0.1:${apiPort}${CADDY_PROVIDER_PATH}`,
        CADDY_PROVIDER_TOKEN_FILE: tokenFile,
        CADDY_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
        CADDY_LOAD_INTERVAL: "500ms",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-100_000);
    };
    caddy.stdout?.on("data", append);
    caddy.stderr?.on("data", append);
  });

  after(async () => {
    if (caddy) await stopProcess(caddy);
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const through = (host: string, path = "/") =>
    eventually(
      async () => {
        const response = await requestByHost(httpPort, host, path).catch(() => undefined);
        return response?.status === 200 ? response : undefined;
      },
      20_000,
      `${host}${path} through Caddy`,
      100,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nCaddy:\n${output.slice(-3000)}`);
    });

  test("serves the API on its domain, then a deployment made afterwards", async () => {
    assert.ok(h && repo);
    const health = await through(API_DOMAIN, "/health");
    assert.match(health.body, /"status"/);
    const unknown = await requestByHost(httpPort, "nobody.localhost");
    assert.equal(unknown.status, 404);

    const projectId = await h.project(`Caddy pull ${Date.now()}`);
    const { id, domain } = await h.deploy({
      projectId,
      name: "dockerfile",
      gitRepo: repo.url,
      branch: "dockerfile",
    });
    await waitForStatus(h.deployments, id, DeploymentStatus.RUNNING);
    const page = await through(domain);
    assert.ok(page.body.includes(FIXTURE_CONTENT.dockerfile), page.body);
    // Caddy kept pulling: it never loaded anything but from the API.
    assert.match(output, /successfully applied dynamically-loaded config/);
  });

  test("the endpoint answers the provider token only", async () => {
    assert.ok(h);
    const url = `${h.t.baseUrl}${CADDY_PROVIDER_PATH}`;
    assert.equal((await fetch(url)).status, 401);
    assert.equal(
      (await fetch(url, { headers: { authorization: `Bearer ${token}x` } })).status,
      401,
    );
    const ok = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, "x-obiente-load-interval": "7s" },
    });
    assert.equal(ok.status, 200);
    const config = (await ok.json()) as {
      admin: { listen: string; config: { load_delay: string; load: { url: string } } };
    };
    assert.equal(config.admin.config.load_delay, "7s");
    assert.equal(config.admin.config.load.url, url);
  });
});

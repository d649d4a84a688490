/**
 * The three fixture apps deployed through the API with Caddy as the edge (a real Caddy, pushed
 * whole configurations through its admin API): first over plain HTTP by Host header, then, with
 * ACME_CA pointing at a real Pebble, over HTTPS with certificates Caddy obtained from Pebble.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DeploymentStatus } from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import {
  eventually,
  freePort,
  httpsGet,
  type RunningCaddy,
  requestByHost,
  startCaddy,
} from "./helpers/caddy.js";
import {
  type DeployHarness,
  Leftovers,
  startDeployHarness,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { FIXTURE_CONTENT, type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";
import { type RunningPebble, startPebble } from "./helpers/pebble.js";

const APPS = ["dockerfile", "node", "static"] as const;

describe("deploying through Caddy", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let caddy: RunningCaddy | undefined;
  let pebble: RunningPebble | undefined;
  let httpPort = 0;
  let httpsPort = 0;
  let h: DeployHarness | undefined;

  before(async () => {
    [repo, caddy, pebble, httpPort, httpsPort] = await Promise.all([
      makeFixtureRepo(),
      startCaddy(),
      startPebble(),
      freePort(),
      freePort(),
    ]);
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await caddy?.close();
    await pebble?.close();
    await repo?.cleanup();
  });

  const caddyLog = () => caddy?.log().slice(-3000) ?? "";

  /** A platform whose edge is the test's Caddy; the previous one is closed first. */
  const platform = async (env: Record<string, string>) => {
    await h?.close();
    h = undefined;
    assert.ok(caddy);
    h = await startDeployHarness(
      {
        EDGE: "caddy",
        CADDY_ADMIN_URL: caddy.adminUrl,
        CADDY_HTTP_PORT: String(httpPort),
        CADDY_HTTPS_PORT: String(httpsPort),
        ...env,
      },
      leftovers,
    );
    return h;
  };

  /** Deploys the three apps in a new project and waits until each runs. */
  const deployAll = async (harness: DeployHarness) => {
    const projectId = await harness.project(`Caddy ${Date.now()}`);
    const out: Array<{ app: (typeof APPS)[number]; id: string; domain: string }> = [];
    for (const app of APPS) {
      const d = await harness.deploy({
        projectId,
        name: app,
        gitRepo: repo?.url ?? "",
        branch: app,
      });
      out.push({ app, ...d });
    }
    await Promise.all(
      out.map((d) => waitForStatus(harness.deployments, d.id, DeploymentStatus.RUNNING)),
    );
    return out;
  };

  it("serves the three apps over HTTP by Host header", async () => {
    const harness = await platform({});
    const apps = await deployAll(harness);
    for (const { app, id, domain } of apps) {
      assert.equal(domain, `${app}.localhost`);
      const { deployment } = await harness.deployments.getDeployment({ id });
      assert.equal(deployment?.url, `http://${domain}:${httpPort}`);
      const response = await eventually(
        async () => {
          const r = await requestByHost(httpPort, domain);
          return r.status === 200 ? r : undefined;
        },
        10_000,
        `${domain} through Caddy`,
        50,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\nCaddy:\n${caddyLog()}`);
      });
      assert.ok(response.body.includes(FIXTURE_CONTENT[app]), response.body);
    }
    const unknown = await requestByHost(httpPort, "nobody.localhost");
    assert.equal(unknown.status, 404);
  });

  it("serves the three apps over HTTPS with certificates issued by Pebble", async () => {
    assert.ok(pebble);
    const harness = await platform({
      PLATFORM_DOMAIN: "apps.obiente.test",
      ACME_CA: pebble.directoryUrl,
      ACME_CA_ROOT: pebble.certificatePath,
      ACME_EMAIL: "ops@obiente.test",
    });
    const apps = await deployAll(harness);
    const ca = [await pebble.issuingRoot(), await pebble.issuingIntermediate()];
    for (const { app, id, domain } of apps) {
      assert.equal(domain, `${app}.apps.obiente.test`);
      const { deployment } = await harness.deployments.getDeployment({ id });
      assert.equal(deployment?.url, `https://${domain}:${httpsPort}`);
      // Caddy asks Pebble for the certificate in the background: wait until it serves one.
      const response = await eventually(
        async () => {
          const r = await httpsGet(httpsPort, domain, ca);
          return r.status === 200 ? r : undefined;
        },
        60_000,
        `a certificate for ${domain}`,
        250,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\nCaddy:\n${caddyLog()}\nPebble:\n${pebble?.log()}`);
      });
      assert.ok(response.body.includes(FIXTURE_CONTENT[app]), response.body);
      assert.match(String(response.certificate.issuer.CN), /Pebble Intermediate CA/);
      assert.ok(
        response.certificate.subjectaltname?.includes(`DNS:${domain}`),
        `the certificate names ${domain}: ${response.certificate.subjectaltname}`,
      );
      // Plain HTTP for a TLS host is sent to HTTPS. (Caddy leaves its configured https_port out
      // of the redirect, assuming clients reach it as 443: true in production, not here.)
      const plain = await requestByHost(httpPort, domain);
      assert.ok([301, 302, 307, 308].includes(plain.status), `redirect, got ${plain.status}`);
      assert.match(
        plain.headers.location ?? "",
        new RegExp(`^https://${domain.replaceAll(".", "\\.")}(:\\d+)?/$`),
      );
    }
  });
});

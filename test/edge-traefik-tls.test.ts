/**
 * Traefik as the edge, as the stack runs it: a deployment goes through the whole platform (API,
 * controller, builder, a real container), then what Traefik would be told is read back the ways
 * Traefik reads it: the HTTP provider's JSON (validated against Traefik's published schema) and the
 * Docker labels on the container. Both must put the route on the HTTPS entry point with the
 * certificate resolver of the stack's static configuration, agree with each other, and the API
 * must show an https:// URL. With the built-in edge (no TLS) the same route is plain HTTP on `web`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { TRAEFIK_PROVIDER_PATH } from "../src/app/traefik-provider.js";
import { routeName } from "../src/edge/index.js";
import {
  DeploymentService,
  DeploymentStatus,
} from "../src/gen/obiente/cloud/deployment/v1/deployment_pb.js";
import { OrganizationService } from "../src/gen/obiente/cloud/organization/v1/organization_pb.js";
import { ProjectService } from "../src/gen/obiente/cloud/project/v1/project_pb.js";
import { deploymentRouting } from "../src/store/schema.js";
import { startTestPlatform } from "./helpers/api.js";
import {
  containersOf,
  type DeployHarness,
  Leftovers,
  startDeployHarness,
  storeRowsOf,
  waitForStatus,
} from "./helpers/deploy-harness.js";
import { type FixtureRepo, makeFixtureRepo } from "./helpers/git-fixtures.js";

const PROVIDER_TOKEN = "traefik-provider-token-for-the-test";
const schema = JSON.parse(
  readFileSync(
    new URL("./fixtures/schemas/traefik-v3-file-provider.json", import.meta.url),
    "utf8",
  ),
) as object;
const stackFile = readFileSync(new URL("../deploy/stack.traefik.yml", import.meta.url), "utf8");

interface Router {
  rule: string;
  service: string;
  entryPoints: string[];
  middlewares?: string[];
  tls?: { certResolver?: string };
}
interface DynamicConfig {
  http: {
    routers: Record<string, Router>;
    services: Record<string, { loadBalancer: { servers: { url: string }[] } }>;
    middlewares?: Record<string, { headers?: { customRequestHeaders?: Record<string, string> } }>;
  };
}

type Validator = ((data: unknown) => boolean) & { errors?: unknown };

async function schemaValidator(): Promise<Validator> {
  const name = "ajv";
  const module = (await import(name)) as { default: { default?: unknown } };
  const Ajv = (module.default.default ?? module.default) as new (
    options: object,
  ) => { compile(schema: unknown): Validator };
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

async function providerConfig(baseUrl: string): Promise<DynamicConfig> {
  const response = await fetch(`${baseUrl}${TRAEFIK_PROVIDER_PATH}`, {
    headers: { authorization: `Bearer ${PROVIDER_TOKEN}` },
  });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as DynamicConfig;
}

/** The labels of the deployment's one container. */
async function labelsOf(deploymentId: string): Promise<Record<string, string>> {
  const containers = await containersOf(deploymentId);
  assert.equal(containers.length, 1, "one replica");
  return (containers[0] as { Labels: Record<string, string> }).Labels;
}

/**
 * What the labels say of the deployment's router, in the provider's shape; `middlewares` checked
 * separately (the labels' middleware is a copy named after the deployment).
 */
function routerFromLabels(labels: Record<string, string>, deploymentId: string) {
  const prefix = `traefik.http.routers.deployment-${deploymentId}`;
  const resolver = labels[`${prefix}.tls.certresolver`];
  return {
    rule: labels[`${prefix}.rule`],
    entryPoints: labels[`${prefix}.entrypoints`]?.split(","),
    tls:
      labels[`${prefix}.tls`] === "true"
        ? resolver === undefined
          ? {}
          : { certResolver: resolver }
        : undefined,
  };
}

/** The request headers a middleware removes ("" values), by the labels or by the provider. */
function removedByLabels(labels: Record<string, string>, deploymentId: string): string[] {
  const prefix = `traefik.http.routers.deployment-${deploymentId}`;
  const removed: string[] = [];
  for (const middleware of labels[`${prefix}.middlewares`]?.split(",") ?? []) {
    const key = `traefik.http.middlewares.${middleware}.headers.customrequestheaders.`;
    for (const [name, value] of Object.entries(labels)) {
      if (name.startsWith(key) && value === "") removed.push(name.slice(key.length));
    }
  }
  return removed.sort();
}
function removedByProvider(config: DynamicConfig, router: Router): string[] {
  const removed: string[] = [];
  for (const middleware of router.middlewares ?? []) {
    const headers = config.http.middlewares?.[middleware]?.headers?.customRequestHeaders ?? {};
    for (const [name, value] of Object.entries(headers)) if (value === "") removed.push(name);
  }
  return removed.sort();
}

describe("Traefik routes and TLS, from one decision", () => {
  const leftovers = new Leftovers();
  let repo: FixtureRepo | undefined;
  let h: DeployHarness | undefined;
  let validate: Validator;

  before(async () => {
    [repo, validate] = await Promise.all([makeFixtureRepo(), schemaValidator()]);
  });

  after(async () => {
    await h?.close();
    await leftovers.cleanup();
    await repo?.cleanup();
  });

  /** A platform with every role and `env`; the previous one is closed first. */
  const platform = async (env: Record<string, string>) => {
    await h?.close();
    h = undefined;
    h = await startDeployHarness(env, leftovers);
    return h;
  };

  const deployDockerfileApp = async (harness: DeployHarness, project: string) => {
    const projectId = await harness.project(project);
    const deployed = await harness.deploy({
      projectId,
      name: "dockerfile",
      gitRepo: repo?.url ?? "",
      branch: "dockerfile",
    });
    await waitForStatus(harness.deployments, deployed.id, DeploymentStatus.RUNNING);
    return deployed;
  };

  it("EDGE=traefik: the provider and the labels route over HTTPS with the stack's resolver", async () => {
    const harness = await platform({
      EDGE: "traefik",
      TRAEFIK_PROVIDER_TOKEN: PROVIDER_TOKEN,
    });
    const { id, domain } = await deployDockerfileApp(harness, `Traefik ${Date.now()}`);

    const config = await providerConfig(harness.t.baseUrl);
    assert.equal(validate(config), true, JSON.stringify(validate.errors));
    const router = config.http.routers[routeName({ domain, pathPrefix: "/" })];
    assert.ok(router, `a router for ${domain}: ${JSON.stringify(config)}`);
    assert.deepEqual(router.entryPoints, ["websecure"]);
    assert.deepEqual(router.tls, { certResolver: "letsencrypt" });
    assert.equal(router.rule, `Host(\`${domain}\`)`);
    const service = config.http.services[router.service];
    assert.equal(service?.loadBalancer.servers.length, 1);

    // The stack's static configuration defines that entry point and that resolver.
    assert.match(stackFile, /--entryPoints\.websecure\.address=:443/);
    assert.match(stackFile, /--certificatesResolvers\.letsencrypt\.acme\./);
    assert.match(stackFile, /TRAEFIK_CERT_RESOLVER: letsencrypt/);

    const labels = await labelsOf(id);
    assert.deepEqual(routerFromLabels(labels, id), {
      rule: router.rule,
      entryPoints: router.entryPoints,
      tls: router.tls,
    });
    // The client's claims about itself are removed the same way by both.
    const removed = removedByProvider(config, router);
    assert.ok(removed.includes("Forwarded"), `Forwarded removed: ${removed.join(", ")}`);
    assert.deepEqual(removedByLabels(labels, id), removed);

    const { deployment } = await harness.deployments.getDeployment({ id });
    assert.equal(deployment?.url, `https://${domain}`);

    // The routing row says TLS too (Caddy reads it); a row written under an earlier
    // configuration takes this one's when the controller starts.
    const tlsOfRows = async () => (await storeRowsOf(harness.t, id)).routes.map((r) => r.tls);
    assert.deepEqual(await tlsOfRows(), [true]);
    await harness.t.platform.ctx.db
      .update(deploymentRouting)
      .set({ tls: false })
      .where(eq(deploymentRouting.deploymentId, id));
    assert.equal(await harness.t.platform.deploying?.deployer.alignRouteTls(), 1);
    assert.deepEqual(await tlsOfRows(), [true]);
  });

  it("EDGE=traefik with the API alone (ROLES=api, as in the stack) shows https:// URLs", async () => {
    const t = await startTestPlatform({ env: { EDGE: "traefik" } });
    try {
      const { organization } = await t
        .client(OrganizationService)
        .createOrganization({ name: `Traefik API ${Date.now()}` });
      assert.ok(organization);
      const { project } = await t
        .client(ProjectService)
        .createProject({ organizationId: organization.id, name: "api alone" });
      assert.ok(project);
      const { deployment } = await t.client(DeploymentService).createDeployment({
        projectId: project.id,
        name: "site",
        gitRepo: "https://git.example.test/site.git",
        branch: "main",
      });
      assert.ok(deployment);
      assert.equal(deployment.url, `https://${deployment.domains[0]}`);
    } finally {
      await t.close();
    }
  });

  it("EDGE=builtin (no TLS): labels on `web` without TLS, an http:// URL", async () => {
    const harness = await platform({});
    const { id, domain } = await deployDockerfileApp(harness, `Builtin ${Date.now()}`);
    const labels = await labelsOf(id);
    assert.deepEqual(routerFromLabels(labels, id), {
      rule: `Host(\`${domain}\`)`,
      entryPoints: ["web"],
      tls: undefined,
    });
    const { deployment } = await harness.deployments.getDeployment({ id });
    assert.equal(deployment?.url, `http://${domain}:${harness.edgePort}`);
  });
});
